"""Read corpora for the detect commands (calibrate, score) through the audit's one reader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from synthscope.analyzer import DOC_ID, SOURCE
from synthscope.detect.analyzer import score_batch
from synthscope.detect.scoring import scorer_of
from synthscope.detect.skeleton import skeleton_tokens
from synthscope.detect.skeleton_model import GramMatrix
from synthscope.detect.topics import topic_vectors
from synthscope.detect.calibrate import CrossValidation, LabelledFeatures, fit_profile
from synthscope.detect.features import frequency_language
from synthscope.detect.profile import DEFAULT_LANGUAGES, CalibrationProfile
from synthscope.language import LANGUAGE, UNDETERMINED
from synthscope.detect.scorer import sigmoid
from synthscope.errors import InputError, UsageError
from synthscope.io.accounting import Accounting
from synthscope.io.discover import discover_inputs
from synthscope.io.writable import atomic_target, check_output_file
from synthscope.pipeline import AuditConfig, check_workdir, iter_prepared, resolve_plan
from synthscope.text import N_TOKENS


def prepared_batches(paths: list[str], config: AuditConfig) -> Iterator[pl.DataFrame]:
    """Prepared batches of the corpus at `paths`, read exactly as `audit` reads it."""
    check_workdir(config.workdir)
    inputs, _ = discover_inputs(paths, config.text_column)
    plan = resolve_plan(inputs, config)
    yield from iter_prepared(inputs, plan, plan.resolved(config), Accounting(), {})


def labelled_features(paths: list[str], label: int, config: AuditConfig, language: str | None = "en", skeleton: bool = True) -> LabelledFeatures:
    """Features of every document at `paths` (style features with word frequencies from `language`'s
    wordfreq table, skeleton n-gram rates unless `skeleton` is False, topic vectors), with the given
    label and their source as group."""
    from synthscope.detect.features import compute_features

    parts, words, groups, grams, topics = [], [], [], [], []
    for batch in prepared_batches(paths, config):
        parts.append(compute_features(batch, language))
        words.append(batch[N_TOKENS].to_numpy().astype(np.float64))
        groups.append(batch[SOURCE].to_numpy().astype(str))
        if skeleton:
            grams.append(GramMatrix.of(skeleton_tokens(batch)))
        topics.append(topic_vectors(batch))
    if not parts:
        raise InputError(f"no documents to calibrate on in {', '.join(paths)}")
    n = sum(len(w) for w in words)
    return LabelledFeatures(pl.concat(parts), np.concatenate(words), np.full(n, label), np.concatenate(groups),
                            GramMatrix.stack(grams) if skeleton else None, np.concatenate(topics))


def _stacked(a: LabelledFeatures, b: LabelledFeatures) -> LabelledFeatures:
    """Two labelled tables as one (skeleton rates under the union of their n-grams)."""
    grams = None if a.grams is None or b.grams is None else GramMatrix.stack([a.grams, b.grams])
    topics = None if a.topics is None or b.topics is None else np.concatenate([a.topics, b.topics])
    return LabelledFeatures(pl.concat([a.features, b.features]), np.concatenate([a.n_words, b.n_words]),
                            np.concatenate([a.label, b.label]), np.concatenate([a.group, b.group]), grams, topics)


MIN_LANGUAGE_SHARE = 0.1


def calibration_languages(paths: list[str], config: AuditConfig) -> list[str]:
    """The languages of labelled text: `--language` when given, else every language identified for at
    least MIN_LANGUAGE_SHARE of the documents (undetermined ones aside), most frequent first; English
    when nothing could be identified."""
    if config.languages:
        return [c for c in config.languages if c != UNDETERMINED] or list(DEFAULT_LANGUAGES)
    counts: dict[str, int] = {}
    for batch in prepared_batches(paths, config):
        for code, n in batch[LANGUAGE].value_counts().iter_rows():
            counts[code] = counts.get(code, 0) + int(n)
    total = sum(counts.values())
    found = sorted((c for c, n in counts.items() if c != UNDETERMINED and n >= MIN_LANGUAGE_SHARE * total), key=lambda c: (-counts[c], c))
    return found or list(DEFAULT_LANGUAGES)


def calibrate_paths(human: list[str], synthetic: list[str], config: AuditConfig, l2: float = 10.0,
                    skeleton: bool = True) -> tuple[CalibrationProfile, CrossValidation]:
    """Fit a profile from labelled human and synthetic corpora (sources become calibration groups; with
    `skeleton`, English text gets the skeleton n-gram model too)."""
    if not human or not synthetic:
        raise UsageError("calibrate needs both --human and --synthetic paths")
    languages = calibration_languages([*human, *synthetic], config)
    language = frequency_language(languages)
    skeleton = skeleton and languages == ["en"]
    h = labelled_features(human, 0, config, language, skeleton)
    s = labelled_features(synthetic, 1, config, language, skeleton)
    if min(len(h.label), len(s.label)) < MIN_DOCUMENTS_PER_CLASS:
        raise InputError(
            f"calibration needs at least {MIN_DOCUMENTS_PER_CLASS} human and {MIN_DOCUMENTS_PER_CLASS} synthetic documents "
            f"(got {len(h.label):,} human, {len(s.label):,} synthetic)"
        )
    profile, cv = fit_profile(_stacked(h, s), l2=l2, metadata={"human_paths": list(human), "synthetic_paths": list(synthetic)}, languages=languages)
    problem = separation_problem(profile, cv)
    if problem:
        raise InputError(f"this calibration cannot tell human from synthetic text: {problem}; no profile written")
    return profile, cv


MIN_DOCUMENTS_PER_CLASS = 20
MIN_HELD_OUT_AUC = 0.6


def held_out_auc(profile: CalibrationProfile) -> float:
    """Probability that a synthetic calibration document scores above a human one (ties count half),
    from the profile's out-of-fold score histograms."""
    human = np.asarray(profile.human_hist, dtype=np.float64)
    synth = np.asarray(profile.synthetic_hist, dtype=np.float64)
    below = np.concatenate(([0.0], np.cumsum(human)[:-1]))
    return float((synth * (below + 0.5 * human)).sum() / (synth.sum() * human.sum()))


def separation_problem(profile: CalibrationProfile, cv: CrossValidation) -> str | None:
    """Why a fitted profile is unusable (scores that do not separate the classes, or held-out
    estimates no better than always answering 0.5), or None when it is usable."""
    auc = held_out_auc(profile)
    if auc < MIN_HELD_OUT_AUC:
        return f"held-out AUC {auc:.2f}, below {MIN_HELD_OUT_AUC} (0.5 is chance; are the human and synthetic sets really different?)"
    constant = float(np.mean([abs(0.5 - r["truth"]) for r in cv.rows])) if cv.rows else float("nan")
    if not cv.mae() < constant:
        return f"cross-validated error {cv.mae():.3f} is no better than always answering 0.5 ({constant:.3f})"
    return None


def score_paths(paths: list[str], config: AuditConfig, profile: CalibrationProfile, output: str | Path, explain: bool = False) -> int:
    """Write per-document id, source, score and features to a Parquet file, batch by batch; with
    `explain`, also each document's `spans`: what the span features matched (detect.spans)."""
    scorer = scorer_of(profile, frequency_language(profile.languages))
    output = Path(output)
    check_output_file(output, "the scores")
    with atomic_target(output) as partial:
        rows = _write_scores(prepared_batches(paths, config), scorer, partial, explain)
    return rows


def _write_scores(batches: Iterator[pl.DataFrame], scorer: Any, path: Path, explain: bool = False) -> int:
    from synthscope.detect.spans import document_spans

    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for batch in batches:
            scores = score_batch(batch, scorer)
            extra = {} if scores.skeleton_logits is None else {"skeleton_logit": scores.skeleton_logits}
            spans = [document_spans(batch, scorer.style.features).to_frame("spans")] if explain else []
            frame = pl.concat(
                [batch.select(pl.col(DOC_ID).alias("id"), pl.col(SOURCE).alias("source"), pl.col(LANGUAGE).alias("language")),
                 pl.DataFrame({"score": sigmoid(scores.logits), **extra}), scores.features, *spans], how="horizontal"
            ).to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(str(path), frame.schema)
            writer.write_table(frame)
            rows += frame.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise InputError("no documents to score")
    return rows


def held_out_lines(profile: CalibrationProfile, cv: CrossValidation) -> list[str]:
    """What `synthscope calibrate` prints about a fitted profile's held-out quantification error."""
    groups = profile.training.get("groups", [])
    out = []
    for kind, what in (("group", "held-out groups" if len(groups) > 1 else "held-out folds"), ("half", "held-out halves of every group")):
        rows = [r for r in cv.rows if r.get("kind", "group") == kind]
        if not rows:
            continue
        human = [r["estimate"] for r in rows if r["truth"] == 0]
        worst = f", purely human sources read up to {max(human):.3f} (mean {np.mean(human):.3f})" if human else ""
        out.append(f"held-out synthetic-fraction error on {what} (fractions 0-1): mean absolute error {cv.mae(kind):.3f}{worst}")
    for band in profile.cv_errors_by_similarity:
        lo, hi = np.interp([0.05, 0.95], np.linspace(0, 1, len(band["errors"])), band["errors"])
        out.append(f"  sources with topic similarity >= {band['similarity']:.3f} to their nearest group: 90% of held-out errors in [{lo:+.3f}, {hi:+.3f}]")
    out.append(f"held-out error on pure human / pure synthetic: {profile.shift_sd['human']:.3f} / {profile.shift_sd['synthetic']:.3f}; "
               f"decision threshold {profile.threshold:.3f}; skeleton n-grams {'yes' if profile.skeleton else 'no'}; "
               f"topic matching {'yes' if profile.topic_centroids else 'no'}")
    return out
