"""The detect analyzer: per-document scores, per-source synthetic-fraction estimates.

State per source: the histogram of logit scores (fixed bins from the profile format), the sums of the
standardised features (and of the skeleton logit), and, for a profile with topic centroids, the sum of
its documents' topic vectors (DIM float32), so it is small, exact to merge, and independent of corpus
size. `finalize` fits the mixture per source (estimator.py; against the calibration groups the source
resembles when the profile has topic centroids) and explains the score by the features whose mean
contribution (weight x shift from the calibration human mean) is largest.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from synthscope.analyzer import SOURCE, AnalyzerResult, FinalizeContext
from synthscope.detect.estimator import (
    MATCHED_METHODS, METHOD, MIN_DOCUMENTS, FractionEstimates, adjusted_counts, estimate_fractions, group_densities, matched_weights,
    shift_densities, source_densities,
)
from synthscope.detect.features import FEATURES, frequency_language, plain_description
from synthscope.detect.profile import LOGIT_EDGES, N_BINS, CalibrationProfile, score_bins
from synthscope.detect.reference import (
    POOLED_REFERENCE, SOURCE_REFERENCE, Histogram, SyntheticReference, estimate_with_references, reference_densities,
)
from synthscope.errors import InputError
from synthscope.language import LANGUAGE, UNDETERMINED
from synthscope.text import batch_cache, filter_prepared
from synthscope.detect.scorer import LinearModel
from synthscope.detect.scoring import BatchScores, Scorer, scorer_of, style_model_of
from synthscope.detect.states import SourceScores, SourceTable, merge_tables
from synthscope.detect.topics import DIM, topic_vectors

TOP_FEATURES = 3
REPLICATES = 400  # calibration bootstrap replicates of estimate_fractions (its default)
_DESCRIPTIONS = {f.name: f.description for f in FEATURES}


SKELETON_FEATURE = "skeleton_ngrams"
MATCH_REPORTED = 0.01  # calibration groups of at least this weight are named in a source's calibration_match


def model_of(profile: CalibrationProfile) -> LinearModel:
    """The style model stored in a profile."""
    return style_model_of(profile)


def score_batch(batch: pl.DataFrame, scorer: Scorer) -> BatchScores:
    """Features, standardised features and logit scores of a prepared batch."""
    return scorer.score(batch)


@dataclass
class SourceEstimates:
    """Synthetic-fraction estimates of many sources (rows aligned with the sources asked for)."""

    estimates: FractionEstimates  # arrays: estimate, ci_low, ci_high, documents, low_confidence
    records: list[dict[str, Any]]  # the report's `synthetic_fraction` objects
    human: np.ndarray  # (S, K) human score density of each source's point estimate
    synthetic: np.ndarray  # (S, K) synthetic score density of each source's point estimate
    default_records: list[dict[str, Any]] | None = None  # calibration-profile estimates beside a human reference


@dataclass
class ContributionTerms:
    """What explanations attribute the score logit to: names, weights (score-logit units), calibration
    human means, and how each term's standardised value maps back to its raw value (centre + spread x z)."""

    names: list[str]
    weights: np.ndarray
    human_mean: np.ndarray
    centre: np.ndarray
    spread: np.ndarray


UNSUPPORTED_LANGUAGE = "unsupported_language"
_LAST_SCORES: list[tuple[pl.DataFrame, Scorer, tuple[np.ndarray | None, BatchScores, pl.DataFrame]]] = batch_cache([])


def supported_rows(batch: pl.DataFrame, profile: CalibrationProfile) -> np.ndarray | None:
    """Boolean mask of the rows whose language the profile judges (its languages, or undetermined), or
    None when all are (or the batch carries no language column)."""
    if LANGUAGE not in batch.columns:
        return None
    codes = batch[LANGUAGE]
    mask = (codes.is_in(list(profile.languages)) | (codes == UNDETERMINED)).fill_null(True).to_numpy()
    return None if mask.all() else mask


def null_reason(used: float, unsupported: float) -> str | None:
    """Why a source gets no estimate: fewer of its documents are in languages the profile covers than not."""
    return UNSUPPORTED_LANGUAGE if unsupported > 0 and used < unsupported else None


def language_record(record: dict[str, Any], used: float, unsupported: int, reason: str | None) -> dict[str, Any]:
    """A `synthetic_fraction` record with the documents it used and left out; emptied, with the reason,
    when the source is mostly in languages the profile does not cover."""
    if reason is not None:
        record = {**record, "estimate": None, "ci_low": None, "ci_high": None, "low_confidence": True, "reason": reason}
    return {**record, "documents_used": int(round(float(used))), "documents_unsupported": int(unsupported)}


def _sum_by(codes: np.ndarray, rows: np.ndarray, groups: int) -> np.ndarray:
    """Sums of `rows` per group code (one sort and one reduceat, in the rows' dtype)."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if len(codes) else np.zeros(0, dtype=np.int64)
    out = np.zeros((groups, rows.shape[1]), dtype=rows.dtype)
    if len(codes):
        out[sorted_codes[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out


class DetectAnalyzer:
    """Estimate each source's synthetic fraction from calibrated style scores."""

    name = "detect"

    def __init__(self, profile: CalibrationProfile, confidence: float = 0.9, seed: int = 1, profile_name: str = "default") -> None:
        self.profile = profile
        self.frequency_language = frequency_language(profile.languages)
        self.scorer = scorer_of(profile, self.frequency_language)
        self.model = self.scorer.style
        self.matched = group_densities(profile) is not None
        self.confidence = confidence
        self.seed = seed
        self.profile_name = profile_name
        self.human_reference: Mapping[str, SourceScores] | None = None

    def use_human_reference(self, state: Mapping[str, SourceScores]) -> None:
        """Estimate against this human-written corpus's scores (the merged state of its map) from now on:
        a source found in it against its own documents there, any other against the whole reference."""
        if not state or sum(float(s.counts.sum()) for s in state.values()) == 0:
            raise InputError("the human reference has no documents")
        self.human_reference = state

    def empty(self) -> Mapping[str, SourceScores]:
        return {}

    def map(self, batch: pl.DataFrame) -> SourceTable:
        supported, scores, scored = self.scores_for(batch)
        return self.state_of(batch, scores, supported, scored)

    def scores_for(self, batch: pl.DataFrame) -> tuple[np.ndarray | None, BatchScores, pl.DataFrame]:
        """`score_supported` of `batch`, computed once: the analyzers mapping the same batch after this one
        (the examples) reuse the scores of the last batch scored (kept with a reference to that batch
        and this analyzer's scorer, so a reused id cannot fool the check)."""
        if _LAST_SCORES and _LAST_SCORES[0][0] is batch and _LAST_SCORES[0][1] is self.scorer:
            return _LAST_SCORES[0][2]
        scores = self.score_supported(batch)
        _LAST_SCORES[:] = [(batch, self.scorer, scores)]
        return scores

    def score_supported(self, batch: pl.DataFrame) -> tuple[np.ndarray | None, BatchScores, pl.DataFrame]:
        """(supported-row mask or None for all rows, the scores of those rows, those rows) of the rows in a
        language the profile covers: documents in other languages are never scored."""
        supported = supported_rows(batch, self.profile)
        scored = batch if supported is None else filter_prepared(batch, supported)
        if scored.height == 0:
            skeleton = None if self.scorer.skeleton is None else np.zeros(0)
            empty = BatchScores(pl.DataFrame(), np.zeros((0, len(self.model.features))), np.zeros(0), skeleton, np.zeros(0))
            return supported, empty, scored
        return supported, score_batch(scored, self.scorer), scored

    def state_of(self, batch: pl.DataFrame, scores: BatchScores, supported: np.ndarray | None = None,
                 scored: pl.DataFrame | None = None) -> SourceTable:
        """The state of a batch's documents already scored (`scores` of its `supported` rows, `scored`, when a
        mask is given: the others are counted as unsupported): per source, the histogram of their logits,
        the sums of their standardised features (and skeleton logits) and of their topic vectors."""
        sources, codes = np.unique(batch[SOURCE].to_numpy().astype(str), return_inverse=True)
        unsupported = np.zeros(len(sources), dtype=np.int64)
        if supported is not None:
            np.add.at(unsupported, codes[~supported], 1)
            codes = codes[supported]
        bins = score_bins(scores.logits)
        counts = np.zeros((len(sources), N_BINS))
        np.add.at(counts, (codes, bins), 1.0)
        z = self.explained(scores)
        z_sum = _sum_by(codes, z, len(sources))
        topic_sum = None
        if self.matched:
            rows = scored if scored is not None else batch
            topics = topic_vectors(rows) if rows.height else np.zeros((0, DIM), dtype=np.float32)
            topic_sum = _sum_by(codes, topics, len(sources))
        return SourceTable([str(s) for s in sources], counts, z_sum, unsupported, topic_sum)

    def merge(self, a: Mapping[str, SourceScores], b: Mapping[str, SourceScores]) -> SourceTable:
        return merge_tables(a, b)

    def finalize(self, state: Mapping[str, SourceScores], ctx: FinalizeContext) -> AnalyzerResult:
        sources = sorted(state)
        counts = np.stack([state[s].counts for s in sources]) if sources else np.zeros((0, N_BINS))
        width = len(self.model.features) + (self.scorer.skeleton is not None)
        z_sum = np.stack([state[s].z_sum for s in sources]) if sources else np.zeros((0, width))
        topic_sums = self.topic_sums(state, sources)
        estimated = self.estimate_sources(sources, counts, topic_sums)
        flagged, acc = adjusted_counts(counts, self.profile)
        tops = self.top_features(counts.sum(axis=1), z_sum)
        edges = LOGIT_EDGES.tolist()
        used = counts.sum(axis=1)
        unsupported = np.array([state[s].unsupported for s in sources], dtype=np.int64)
        reasons = [null_reason(float(used[i]), float(unsupported[i])) for i in range(len(sources))]
        per_source: dict[str, dict[str, Any]] = {
            source: {
                "synthetic_fraction": language_record(estimated.records[i], used[i], unsupported[i], reasons[i]),
                "flagged_fraction": None if reasons[i] else round(float(flagged[i]), 4),
                "synthetic_fraction_adjusted_count": None if reasons[i] else round(float(acc[i]), 4),
                "top_features": [] if reasons[i] else tops[i],
                # the report's score chart and the human reference of `--baseline-is-human`
                "score_histogram": {"bin_edges": edges, "counts": counts[i].tolist()},
            }
            for i, source in enumerate(sources)
        }
        if estimated.default_records is not None:
            for i, source in enumerate(sources):
                per_source[source]["synthetic_fraction_default"] = language_record(estimated.default_records[i], used[i], unsupported[i], reasons[i])
        if topic_sums is not None:
            for i, (source, match) in enumerate(zip(sources, self.calibration_matches(counts, topic_sums))):
                if reasons[i] is None:
                    per_source[source]["calibration_match"] = match
        return AnalyzerResult(per_source=per_source, summary=self.summary(counts, int(unsupported.sum())))

    def calibration_matches(self, counts: np.ndarray, topic_sums: np.ndarray) -> list[dict[str, Any]]:
        """Per source: its cosine to the nearest calibration group and the groups it is estimated against
        (weights of at least MATCH_REPORTED, rounded), the report's `calibration_match`."""
        groups = group_densities(self.profile)
        assert groups is not None
        weights, similarity = matched_weights(groups, topic_sums, counts.sum(axis=1))
        names = [str(n) for n in groups.names]
        order = np.argsort(-weights, axis=1, kind="stable")  # heaviest first (ties by group order)
        ranked = np.take_along_axis(weights, order, axis=1)
        shown = (ranked >= MATCH_REPORTED).sum(axis=1)  # those reported are a prefix of each row
        return [
            {"similarity": round(sim, 4), "groups": {names[j]: round(w, 3) for j, w in zip(o[:k], r[:k])}}
            for sim, o, r, k in zip(similarity.tolist(), order.tolist(), ranked.tolist(), shown.tolist())
        ]

    def topic_sums(self, state: Mapping[str, SourceScores], sources: list[str]) -> np.ndarray | None:
        """(S, DIM) topic-vector sums of the sources, or None when the profile does not match sources to groups."""
        if not self.matched or not sources:
            return None
        return np.stack([state[s].topic_sum if state[s].topic_sum is not None else np.zeros(DIM, dtype=np.float32) for s in sources])

    def estimate_sources(self, sources: list[str], counts: np.ndarray, topic_sums: np.ndarray | None = None) -> SourceEstimates:
        """The synthetic fraction of every source from its (S, K) score histogram (and (S, DIM) topic sums,
        which match each source to the calibration groups it resembles), as the report gives it (against
        the human reference when there is one, else the calibration profile), with the human and
        synthetic score densities of each point estimate."""
        counts = np.asarray(counts, dtype=np.float64).reshape(len(sources), N_BINS)
        estimates = estimate_fractions(counts, self.profile, confidence=self.confidence, replicates=REPLICATES, seed=self.seed,
                                       topic_sums=topic_sums)
        if self.human_reference is None or not sources:
            human, synth, _ = source_densities(self.profile, topic_sums, counts.sum(axis=1))
            if estimates.human_shift is not None and np.any(estimates.human_shift):  # the fitted human move of each estimate
                human = shift_densities(np.broadcast_to(human, counts.shape), LOGIT_EDGES, estimates.human_shift)
            shape = counts.shape
            return SourceEstimates(estimates, estimates.records(), np.broadcast_to(human, shape), np.broadcast_to(synth, shape))
        references, own = self._references(sources)
        synthetic, weights = self._synthetic_reference(counts, topic_sums)
        against, n_ref = estimate_with_references(counts, references, synthetic, confidence=self.confidence, seed=self.seed, weights=weights)
        human, synth, _ = reference_densities(references, synthetic, weights=weights, moves=against.shift)
        records = []
        for i in range(len(sources)):
            record = against.record(i)
            record["method"] = SOURCE_REFERENCE if own[i] else POOLED_REFERENCE
            record["reference_documents"] = int(round(n_ref[i]))
            records.append(record)
        return SourceEstimates(against, records, human, synth, default_records=estimates.records())

    def _references(self, sources: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each source's human reference histogram (its own, or the pooled reference) and whether it is its own."""
        assert self.human_reference is not None
        own = np.stack([self.human_reference[s].counts if s in self.human_reference else np.zeros(N_BINS) for s in sources])
        pooled = sum((s.counts for s in self.human_reference.values()), np.zeros(N_BINS))
        matched = own.sum(axis=1) > 0
        return np.where(matched[:, None], own, pooled[None, :]), matched

    def _synthetic_reference(self, counts: np.ndarray, topic_sums: np.ndarray | None) -> tuple[SyntheticReference, np.ndarray | None]:
        """The calibration's synthetic (and human) score histograms per group, and, when sources are matched
        to groups by topic, each source's weights over those groups (None: equal-weight pool)."""
        groups = group_densities(self.profile) if topic_sums is not None else None
        if groups is not None:
            reference = SyntheticReference.of(
                [Histogram(LOGIT_EDGES, h) for h in groups.synthetic_counts], LOGIT_EDGES,
                [Histogram(LOGIT_EDGES, h) for h in groups.human_counts], float(self.profile.shift_sd.get("synthetic", 0.0)),
            )
            return reference, matched_weights(groups, topic_sums, counts.sum(axis=1))[0]
        return SyntheticReference.of(
            [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in self.profile.synthetic_group_hists.values()] or
            Histogram(LOGIT_EDGES, np.asarray(self.profile.synthetic_hist, dtype=float)),
            LOGIT_EDGES,
            [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in self.profile.human_group_hists.values()] or
            Histogram(LOGIT_EDGES, np.asarray(self.profile.human_hist, dtype=float)),
            float(self.profile.shift_sd.get("synthetic", 0.0)),
        ), None

    def top_features(self, n_docs: np.ndarray, z_sum: np.ndarray) -> list[list[dict[str, Any]]]:
        """Per source (rows of `z_sum`, the sums of standardised features, then of the skeleton logit, over
        `n_docs` documents): the features pushing the mean score logit up most, relative to calibration
        human text, in score-logit units."""
        n = np.maximum(np.asarray(n_docs, dtype=np.float64), 1.0)[:, None]
        terms = self.contribution_terms()
        names, weights, centre, spread = terms.names, terms.weights, terms.centre, terms.spread
        mean_z = z_sum / n
        contribution = self.contributions(mean_z)
        order = np.argsort(-contribution, axis=1, kind="stable")[:, :TOP_FEATURES]
        top = np.take_along_axis(contribution, order, axis=1)
        means = centre[order] + spread[order] * np.take_along_axis(mean_z, order, axis=1)
        descriptions = {**_DESCRIPTIONS, SKELETON_FEATURE: self.skeleton_description()}
        plain = functools.lru_cache(maxsize=None)(lambda j, higher: self.plain(names[j], 1.0 if higher else -1.0, 1.0))
        return [
            [
                {
                    "feature": names[j],
                    "contribution": round(c, 3),
                    "mean": round(m, 5),
                    "description": descriptions.get(names[j], ""),
                    "plain": plain(j, (c > 0) == (weights[j] > 0)),
                }
                for j, c, m in zip(order_row, top_row, mean_row)
                if c > 0.005
            ]
            for order_row, top_row, mean_row in zip(order.tolist(), top.tolist(), means.tolist())  # whole arrays to Python at once
        ]

    def contribution_terms(self) -> ContributionTerms:
        """The terms of the score logit that explanations attribute it to: the style features, then the
        skeleton logit when the profile has a skeleton model (weights in score-logit units)."""
        names = list(self.model.features)
        human_mean = np.asarray(self.profile.human_mean_z or np.zeros(len(names)), dtype=np.float64)
        weights = np.asarray(self.model.weights, dtype=np.float64)
        centre, spread = np.asarray(self.model.mean, dtype=np.float64), np.asarray(self.model.scale, dtype=np.float64)
        combination = self.scorer.combination
        if self.scorer.skeleton is not None and combination is not None:
            names.append(SKELETON_FEATURE)
            human_mean = np.append(human_mean, combination.skeleton_human_mean)
            weights = np.append(weights * combination.style_factor, combination.skeleton_factor)
            centre, spread = np.append(centre, 0.0), np.append(spread, 1.0)
        return ContributionTerms(names, weights, human_mean, centre, spread)

    @staticmethod
    def explained(scores: BatchScores) -> np.ndarray:
        """Per document, the terms `contribution_terms` names: standardised features (and skeleton logit)."""
        return scores.z if scores.skeleton_logits is None else np.column_stack([scores.z, scores.skeleton_logits])

    def contributions(self, z: np.ndarray) -> np.ndarray:
        """Per row of `explained` terms (a document's, or a source's mean): each term's push on the score
        logit relative to calibration human text, weight x (value - the human mean)."""
        terms = self.contribution_terms()
        return terms.weights * (np.asarray(z, dtype=np.float64) - terms.human_mean)

    @staticmethod
    def plain(feature: str, contribution: float, weight: float) -> str:
        """In plain words, what a text shows when `feature` contributes `contribution` with this weight."""
        higher = (contribution > 0) == (weight > 0)
        if feature == SKELETON_FEATURE:
            return "sequences of function words and punctuation typical of " + ("machine" if higher else "human") + " text"
        return plain_description(feature, higher)

    def skeleton_description(self) -> str:
        """What the skeleton feature measures, with the profile's most machine-like n-grams as examples."""
        if self.scorer.skeleton is None:
            return ""
        examples = ", ".join(f"'{g}'" for g, _ in self.scorer.skeleton.describe_top(4))
        return ("skeleton n-gram score: sequences of function words and punctuation, other words as w/C/U/D "
                f"(Stamatatos 2017 text distortion), that calibration machine text uses more, e.g. {examples}; mean = the skeleton logit")

    def summary(self, counts: np.ndarray, unsupported: int = 0) -> dict[str, Any]:
        total = counts.sum(axis=0) if len(counts) else np.zeros(N_BINS)
        if total.sum() == 0 and not unsupported:
            return {}
        reason = null_reason(float(total.sum()), float(unsupported))
        # the corpus's synthetic_fraction is added by the report (report.metrics.corpus_synthetic_fraction)
        return {
            "flagged_fraction": None if reason or total.sum() == 0 else round(float(adjusted_counts(total[None, :], self.profile)[0][0]), 4),
            "documents": int(total.sum()),
            "documents_unsupported": unsupported,
            "profile_languages": list(self.profile.languages),
            "profile": self.profile_name,
            **({"human_reference": self.reference_summary()} if self.human_reference is not None else {}),
            "confidence": self.confidence,
            "threshold": self.profile.threshold,
            # calibration score histograms (logit bins): the synthetic reference of `--baseline-is-human`
            "profile_histograms": {
                "bin_edges": LOGIT_EDGES.tolist(),
                "human": list(self.profile.human_hist),
                "synthetic": list(self.profile.synthetic_hist),
                # per calibration group (domain): resampled and mixed by the --baseline-is-human bootstrap
                "human_groups": {g: list(h) for g, h in self.profile.human_group_hists.items()},
                "synthetic_groups": {g: list(h) for g, h in self.profile.synthetic_group_hists.items()},
                # held-out RMS error on purely synthetic text of an unseen domain: widens that interval
                "synthetic_shift_sd": float(self.profile.shift_sd.get("synthetic", 0.0)),
            },
        }

    def reference_summary(self) -> dict[str, Any]:
        """Documents and sources of the human reference."""
        ref = self.human_reference or {}
        return {"documents": int(sum(float(s.counts.sum()) for s in ref.values())), "sources": len(ref)}

    def options(self) -> dict[str, Any]:
        return {
            "calibration": self.profile_name,
            "confidence": self.confidence,
            "method": (MATCHED_METHODS[str(self.profile.matching.get("quantifier", "mle"))] if self.matched else METHOD),
            "decision_threshold": self.profile.threshold,
            "min_documents": MIN_DOCUMENTS,
            "languages": list(self.profile.languages),
            "unsupported_language": "documents identified as another language are left out and counted; a source with fewer "
            "supported than unsupported documents gets a null estimate with reason 'unsupported_language'",
            "profile_training": self.profile.training,
        }

