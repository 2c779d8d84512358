"""Read corpora for the detect commands (calibrate, score) through the audit's one reader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from synthscope.analyzer import DOC_ID, SOURCE
from synthscope.detect.analyzer import model_of, score_batch
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


def labelled_features(paths: list[str], label: int, config: AuditConfig, language: str | None = "en") -> LabelledFeatures:
    """Features of every document at `paths`, with the given label and their source as group; word
    frequencies from `language`'s wordfreq table."""
    from synthscope.detect.features import compute_features

    parts, words, groups = [], [], []
    for batch in prepared_batches(paths, config):
        parts.append(compute_features(batch, language))
        words.append(batch[N_TOKENS].to_numpy().astype(np.float64))
        groups.append(batch[SOURCE].to_numpy().astype(str))
    if not parts:
        raise InputError(f"no documents to calibrate on in {', '.join(paths)}")
    n = sum(len(w) for w in words)
    return LabelledFeatures(pl.concat(parts), np.concatenate(words), np.full(n, label), np.concatenate(groups))


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


def calibrate_paths(human: list[str], synthetic: list[str], config: AuditConfig, l2: float = 10.0) -> tuple[CalibrationProfile, CrossValidation]:
    """Fit a profile from labelled human and synthetic corpora (sources become calibration groups)."""
    if not human or not synthetic:
        raise UsageError("calibrate needs both --human and --synthetic paths")
    languages = calibration_languages([*human, *synthetic], config)
    language = frequency_language(languages)
    h = labelled_features(human, 0, config, language)
    s = labelled_features(synthetic, 1, config, language)
    if min(len(h.label), len(s.label)) < MIN_DOCUMENTS_PER_CLASS:
        raise InputError(
            f"calibration needs at least {MIN_DOCUMENTS_PER_CLASS} human and {MIN_DOCUMENTS_PER_CLASS} synthetic documents "
            f"(got {len(h.label):,} human, {len(s.label):,} synthetic)"
        )
    data = LabelledFeatures(pl.concat([h.features, s.features]), np.concatenate([h.n_words, s.n_words]),
                            np.concatenate([h.label, s.label]), np.concatenate([h.group, s.group]))
    profile, cv = fit_profile(data, l2=l2, metadata={"human_paths": list(human), "synthetic_paths": list(synthetic)}, languages=languages)
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


def score_paths(paths: list[str], config: AuditConfig, profile: CalibrationProfile, output: str | Path) -> int:
    """Write per-document id, source, score and features to a Parquet file, batch by batch."""
    model = model_of(profile)
    output = Path(output)
    check_output_file(output, "the scores")
    with atomic_target(output) as partial:
        rows = _write_scores(prepared_batches(paths, config), model, partial, frequency_language(profile.languages))
    return rows


def _write_scores(batches: Iterator[pl.DataFrame], model: Any, path: Path, language: str | None = "en") -> int:
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for batch in batches:
            features, _, logits = score_batch(batch, model, language)
            frame = pl.concat(
                [batch.select(pl.col(DOC_ID).alias("id"), pl.col(SOURCE).alias("source"), pl.col(LANGUAGE).alias("language")),
                 pl.DataFrame({"score": sigmoid(logits)}), features], how="horizontal"
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
