"""Read corpora for the detect commands (calibrate, score) through the audit's one reader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from synthscope.analyzer import DOC_ID, SOURCE
from synthscope.detect.analyzer import model_of, score_batch
from synthscope.detect.calibrate import CrossValidation, LabelledFeatures, fit_profile
from synthscope.detect.profile import CalibrationProfile
from synthscope.detect.scorer import sigmoid
from synthscope.errors import InputError, UsageError
from synthscope.io.accounting import Accounting
from synthscope.io.discover import discover_inputs
from synthscope.pipeline import AuditConfig, iter_prepared, resolve_plan
from synthscope.text import N_TOKENS


def prepared_batches(paths: list[str], config: AuditConfig) -> Iterator[pl.DataFrame]:
    """Prepared batches of the corpus at `paths`, read exactly as `audit` reads it."""
    inputs, _ = discover_inputs(paths, config.text_column)
    plan = resolve_plan(inputs, config)
    yield from iter_prepared(inputs, plan, plan.resolved(config), Accounting(), {})


def labelled_features(paths: list[str], label: int, config: AuditConfig) -> LabelledFeatures:
    """Features of every document at `paths`, with the given label and their source as group."""
    from synthscope.detect.features import compute_features

    parts, words, groups = [], [], []
    for batch in prepared_batches(paths, config):
        parts.append(compute_features(batch))
        words.append(batch[N_TOKENS].to_numpy().astype(np.float64))
        groups.append(batch[SOURCE].to_numpy().astype(str))
    if not parts:
        raise InputError(f"no documents to calibrate on in {', '.join(paths)}")
    n = sum(len(w) for w in words)
    return LabelledFeatures(pl.concat(parts), np.concatenate(words), np.full(n, label), np.concatenate(groups))


def calibrate_paths(human: list[str], synthetic: list[str], config: AuditConfig, l2: float = 10.0) -> tuple[CalibrationProfile, CrossValidation]:
    """Fit a profile from labelled human and synthetic corpora (sources become calibration groups)."""
    if not human or not synthetic:
        raise UsageError("calibrate needs both --human and --synthetic paths")
    h = labelled_features(human, 0, config)
    s = labelled_features(synthetic, 1, config)
    data = LabelledFeatures(pl.concat([h.features, s.features]), np.concatenate([h.n_words, s.n_words]),
                            np.concatenate([h.label, s.label]), np.concatenate([h.group, s.group]))
    return fit_profile(data, l2=l2, metadata={"human_paths": list(human), "synthetic_paths": list(synthetic)})


def score_paths(paths: list[str], config: AuditConfig, profile: CalibrationProfile, output: str | Path) -> int:
    """Write per-document id, source, score and features to a Parquet file, batch by batch."""
    model = model_of(profile)
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for batch in prepared_batches(paths, config):
            features, _, logits = score_batch(batch, model)
            frame = pl.concat(
                [batch.select(pl.col(DOC_ID).alias("id"), pl.col(SOURCE).alias("source")),
                 pl.DataFrame({"score": sigmoid(logits)}), features], how="horizontal"
            ).to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(str(output), frame.schema)
            writer.write_table(frame)
            rows += frame.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise InputError(f"no documents to score in {', '.join(paths)}")
    return rows
