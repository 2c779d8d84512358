"""Per-document scores kept for a second pass: the detect analyzer, plus every document's score on disk.

`filter` needs each document's score after the estimates are made (to drop the documents above a
source's threshold), so its map writes the scores of a batch to a spill file, as dedup writes its band
keys, and keeps only the file's name in its state; the per-source histograms are the detect analyzer's
own state, computed from the same scores (one scoring per document).

Spill layout under the work folder: `scores/part-<uid>.parquet` with file, _row, doc_id, source, logit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from synthscope.analyzer import DOC_ID, FILE, ROW, SOURCE, AnalyzerResult, FinalizeContext
from synthscope.dedup.spill import Part, write_table
from synthscope.detect.analyzer import DetectAnalyzer, SourceScores

LOGIT = "logit"
SCORES_DIR = "scores"


@dataclass(frozen=True)
class ScoredState:
    """The detect state (per-source histograms) and the spill parts holding every document's score."""

    scores: Mapping[str, SourceScores]
    parts: tuple[Part, ...] = ()


class ScoredDocuments:
    """The detect analyzer, keeping every document's score on disk for a second pass."""

    name = "detect"

    def __init__(self, detect: DetectAnalyzer, workdir: Path) -> None:
        self.detect = detect
        self.workdir = Path(workdir) / SCORES_DIR

    def empty(self) -> ScoredState:
        return ScoredState({}, ())

    def map(self, batch: pl.DataFrame) -> ScoredState:
        if batch.height == 0:
            return self.empty()
        supported, scores, scored = self.detect.score_supported(batch)
        logits = scores.logits
        if supported is not None:  # documents in a language the profile does not cover have no score
            all_logits = np.full(batch.height, np.nan)
            all_logits[supported] = logits
        else:
            all_logits = logits
        uid = uuid.uuid4().hex
        first = batch.select(pl.col(FILE).first(), pl.col(ROW).first()).row(0)
        part = Part(first_file=str(first[0]), first_row=int(first[1]), uid=uid, documents=batch.height)
        table = pa.table({
            FILE: batch[FILE].to_arrow(),
            ROW: batch[ROW].cast(pl.Int64).to_arrow(),
            DOC_ID: batch[DOC_ID].to_arrow(),
            SOURCE: batch[SOURCE].to_arrow(),
            LOGIT: pa.array(np.asarray(all_logits, dtype=np.float64)),
        })
        write_table(table, self.path(uid))
        return ScoredState(self.detect.state_of(batch, scores, supported, scored), (part,))

    def merge(self, a: ScoredState, b: ScoredState) -> ScoredState:
        return ScoredState(self.detect.merge(a.scores, b.scores), tuple(sorted(a.parts + b.parts)))

    def finalize(self, state: ScoredState, ctx: FinalizeContext) -> AnalyzerResult:
        return self.detect.finalize(state.scores, ctx)

    def options(self) -> dict[str, Any]:
        return self.detect.options()

    def path(self, uid: str) -> Path:
        return self.workdir / f"part-{uid}.parquet"

    def frames(self, state: ScoredState) -> Iterator[tuple[Part, pl.DataFrame]]:
        """(part, its documents: file, _row, doc_id, source, logit) in input order, one part at a time."""
        for part in sorted(state.parts):
            yield part, pl.read_parquet(self.path(part.uid))
