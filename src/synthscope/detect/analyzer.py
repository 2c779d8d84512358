"""The detect analyzer: per-document scores, per-source synthetic-fraction estimates.

State per source: the histogram of logit scores (fixed bins from the profile format) and the sums of
the standardised features, so it is tiny, exact to merge, and independent of corpus size. `finalize`
fits the mixture per source (estimator.py) and explains the score by the features whose mean
contribution (weight x shift from the calibration human mean) is largest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from synthscope.analyzer import SOURCE, AnalyzerResult, FinalizeContext
from synthscope.detect.estimator import METHOD, MIN_DOCUMENTS, FractionEstimates, adjusted_counts, calibration_draws, estimate_fractions
from synthscope.detect.features import FEATURES, compute_features, frequency_language, plain_description
from synthscope.detect.profile import LOGIT_EDGES, N_BINS, CalibrationProfile, score_bins
from synthscope.detect.reference import (
    POOLED_REFERENCE, SOURCE_REFERENCE, Histogram, SyntheticReference, estimate_with_references, reference_densities,
)
from synthscope.errors import InputError
from synthscope.language import LANGUAGE, UNDETERMINED
from synthscope.detect.scorer import LinearModel
from synthscope.text import N_TOKENS

TOP_FEATURES = 3
REPLICATES = 400  # calibration bootstrap replicates of estimate_fractions (its default)
_DESCRIPTIONS = {f.name: f.description for f in FEATURES}


def model_of(profile: CalibrationProfile) -> LinearModel:
    """The scorer stored in a profile."""
    return LinearModel(
        list(profile.features), np.asarray(profile.mean), np.asarray(profile.scale), np.asarray(profile.weights),
        float(profile.bias), float(profile.clip), float(profile.shrink_words),
    )


def score_batch(batch: pl.DataFrame, model: LinearModel, language: str | None = "en") -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """(raw features, standardised features, logit scores) of a prepared batch; word frequencies from
    `language`'s table (a profile's `frequency_language`)."""
    features = compute_features(batch, language)
    z = model.standardise(features, batch[N_TOKENS].to_numpy().astype(np.float64))
    return features, z, model.logits(z)


@dataclass
class SourceEstimates:
    """Synthetic-fraction estimates of many sources (rows aligned with the sources asked for)."""

    estimates: FractionEstimates  # arrays: estimate, ci_low, ci_high, documents, low_confidence
    records: list[dict[str, Any]]  # the report's `synthetic_fraction` objects
    human: np.ndarray  # (S, K) human score density of each source's point estimate
    synthetic: np.ndarray  # (S, K) synthetic score density of each source's point estimate
    default_records: list[dict[str, Any]] | None = None  # calibration-profile estimates beside a human reference


@dataclass
class SourceScores:
    """One source's mergeable detect state."""

    counts: np.ndarray  # documents per logit bin (documents in a language the profile supports)
    z_sum: np.ndarray  # sum of standardised features
    unsupported: int = 0  # documents left out: identified as a language the profile was not calibrated on

    def __add__(self, other: SourceScores) -> SourceScores:
        return SourceScores(self.counts + other.counts, self.z_sum + other.z_sum, self.unsupported + other.unsupported)


UNSUPPORTED_LANGUAGE = "unsupported_language"
_LAST_SCORES: list[tuple[pl.DataFrame, LinearModel, tuple[np.ndarray | None, np.ndarray, np.ndarray]]] = []


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


class DetectAnalyzer:
    """Estimate each source's synthetic fraction from calibrated style scores."""

    name = "detect"

    def __init__(self, profile: CalibrationProfile, confidence: float = 0.9, seed: int = 1, profile_name: str = "default") -> None:
        self.profile = profile
        self.model = model_of(profile)
        self.frequency_language = frequency_language(profile.languages)
        self.confidence = confidence
        self.seed = seed
        self.profile_name = profile_name
        self.human_reference: dict[str, SourceScores] | None = None

    def use_human_reference(self, state: dict[str, SourceScores]) -> None:
        """Estimate against this human-written corpus's scores (the merged state of its map) from now on:
        a source found in it against its own documents there, any other against the whole reference."""
        if not state or sum(float(s.counts.sum()) for s in state.values()) == 0:
            raise InputError("the human reference has no documents")
        self.human_reference = state

    def empty(self) -> dict[str, SourceScores]:
        return {}

    def map(self, batch: pl.DataFrame) -> dict[str, SourceScores]:
        supported, z, logits = self.scores_for(batch)
        return self.state_of(batch[SOURCE], z, logits, supported)

    def scores_for(self, batch: pl.DataFrame) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """`score_supported` of `batch`, computed once: the analyzers mapping the same batch after this one
        (the examples) reuse the scores of the last batch scored (kept with a reference to that batch
        and this analyzer's model, so a reused id cannot fool the check)."""
        if _LAST_SCORES and _LAST_SCORES[0][0] is batch and _LAST_SCORES[0][1] is self.model:
            return _LAST_SCORES[0][2]
        scores = self.score_supported(batch)
        _LAST_SCORES[:] = [(batch, self.model, scores)]
        return scores

    def score_supported(self, batch: pl.DataFrame) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """(supported-row mask or None for all rows, standardised features, logits) of the rows in a
        language the profile covers: documents in other languages are never scored."""
        supported = supported_rows(batch, self.profile)
        scored = batch if supported is None else batch.filter(pl.Series(supported))
        if scored.height == 0:
            return supported, np.zeros((0, len(self.model.features))), np.zeros(0)
        _, z, logits = score_batch(scored, self.model, self.frequency_language)
        return supported, z, logits

    def state_of(self, source: pl.Series, z: np.ndarray, logits: np.ndarray, supported: np.ndarray | None = None) -> dict[str, SourceScores]:
        """The state of documents already scored: their sources, standardised features and logits (of the
        `supported` rows only, when a mask is given: the others are counted as unsupported)."""
        sources, codes = np.unique(source.to_numpy().astype(str), return_inverse=True)
        unsupported = np.zeros(len(sources), dtype=np.int64)
        if supported is not None:
            np.add.at(unsupported, codes[~supported], 1)
            codes = codes[supported]
        bins = score_bins(logits)
        counts = np.zeros((len(sources), N_BINS))
        np.add.at(counts, (codes, bins), 1.0)
        z_sum = np.zeros((len(sources), len(self.model.features)))
        np.add.at(z_sum, codes, z)
        return {str(s): SourceScores(counts[i], z_sum[i], int(unsupported[i])) for i, s in enumerate(sources)}

    def merge(self, a: dict[str, SourceScores], b: dict[str, SourceScores]) -> dict[str, SourceScores]:
        out = dict(a)
        for source, state in b.items():
            out[source] = out[source] + state if source in out else state
        return out

    def finalize(self, state: dict[str, SourceScores], ctx: FinalizeContext) -> AnalyzerResult:
        sources = sorted(state)
        counts = np.stack([state[s].counts for s in sources]) if sources else np.zeros((0, N_BINS))
        z_sum = np.stack([state[s].z_sum for s in sources]) if sources else np.zeros((0, len(self.model.features)))
        estimated = self.estimate_sources(sources, counts)
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
        return AnalyzerResult(per_source=per_source, summary=self.summary(counts, int(unsupported.sum())))

    def estimate_sources(self, sources: list[str], counts: np.ndarray) -> SourceEstimates:
        """The synthetic fraction of every source from its (S, K) score histogram, as the report gives it
        (against the human reference when there is one, else the calibration profile), with the human
        and synthetic score densities of each point estimate."""
        counts = np.asarray(counts, dtype=np.float64).reshape(len(sources), N_BINS)
        estimates = estimate_fractions(counts, self.profile, confidence=self.confidence, replicates=REPLICATES, seed=self.seed)
        if self.human_reference is None or not sources:
            draws = calibration_draws(self.profile, self.seed, REPLICATES)
            shape = counts.shape
            return SourceEstimates(estimates, estimates.records(), np.broadcast_to(draws.human, shape), np.broadcast_to(draws.synthetic, shape))
        references, matched = self._references(sources)
        synthetic = self._synthetic_reference()
        against, n_ref = estimate_with_references(counts, references, synthetic, confidence=self.confidence, seed=self.seed)
        human, synth, _ = reference_densities(references, synthetic)
        records = []
        for i in range(len(sources)):
            record = against.record(i)
            record["method"] = SOURCE_REFERENCE if matched[i] else POOLED_REFERENCE
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

    def _synthetic_reference(self) -> SyntheticReference:
        return SyntheticReference.of(
            [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in self.profile.synthetic_group_hists.values()] or
            Histogram(LOGIT_EDGES, np.asarray(self.profile.synthetic_hist, dtype=float)),
            LOGIT_EDGES,
            [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in self.profile.human_group_hists.values()] or
            Histogram(LOGIT_EDGES, np.asarray(self.profile.human_hist, dtype=float)),
            float(self.profile.shift_sd.get("synthetic", 0.0)),
        )

    def top_features(self, n_docs: np.ndarray, z_sum: np.ndarray) -> list[list[dict[str, Any]]]:
        """Per source (rows of `z_sum`, the sums of standardised features over `n_docs` documents): the
        features pushing the mean score up most, relative to calibration human text."""
        n = np.maximum(np.asarray(n_docs, dtype=np.float64), 1.0)[:, None]
        mean_z = z_sum / n
        contribution = self.contributions(mean_z)
        order = np.argsort(-contribution, axis=1, kind="stable")[:, :TOP_FEATURES]
        top = np.take_along_axis(contribution, order, axis=1)
        means = self.model.mean[order] + self.model.scale[order] * np.take_along_axis(mean_z, order, axis=1)
        names = self.model.features
        return [
            [
                {
                    "feature": names[j],
                    "contribution": round(float(c), 3),
                    "mean": round(float(m), 5),
                    "description": _DESCRIPTIONS.get(names[j], ""),
                    "plain": plain_description(names[j], (c > 0) == (self.model.weights[j] > 0)),
                }
                for j, c, m in zip(order_row.tolist(), top_row.tolist(), mean_row.tolist())
                if c > 0.005
            ]
            for order_row, top_row, mean_row in zip(order, top, means)
        ]

    def contributions(self, z: np.ndarray) -> np.ndarray:
        """Per row of standardised features (a document's, or a source's mean): each feature's push on the
        logit score relative to calibration human text, weight x (z - the human mean of z)."""
        human_mean_z = np.asarray(self.profile.human_mean_z or np.zeros(len(self.model.features)))
        return self.model.weights * (np.asarray(z, dtype=np.float64) - human_mean_z)

    def summary(self, counts: np.ndarray, unsupported: int = 0) -> dict[str, Any]:
        total = counts.sum(axis=0) if len(counts) else np.zeros(N_BINS)
        if total.sum() == 0 and not unsupported:
            return {}
        reason = null_reason(float(total.sum()), float(unsupported))
        overall = language_record(
            estimate_fractions(total[None, :], self.profile, confidence=self.confidence, seed=self.seed).record(0),
            float(total.sum()), unsupported, reason,
        )
        return {
            "synthetic_fraction": overall,
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
            "method": METHOD,
            "decision_threshold": self.profile.threshold,
            "min_documents": MIN_DOCUMENTS,
            "languages": list(self.profile.languages),
            "unsupported_language": "documents identified as another language are left out and counted; a source with fewer "
            "supported than unsupported documents gets a null estimate with reason 'unsupported_language'",
            "profile_training": self.profile.training,
        }

