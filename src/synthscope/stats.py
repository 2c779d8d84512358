"""Corpus statistics analyzer: documents, characters, tokens and length percentiles per source.

The state is a small table of (source, n_tokens) -> documents, characters: exact, mergeable, and
bounded by the number of distinct document lengths rather than by the number of documents. A merge
appends; the table is summed again only once it has doubled since it last was, so merging the parts
of a long tail (a million (source, length) pairs) costs time in proportion to the rows, not to the
rows times the parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from synthscope.analyzer import SOURCE, TEXT, AnalyzerResult, FinalizeContext
from synthscope.text import N_TOKENS

PERCENTILES = (5, 25, 50, 75, 95)
_SCHEMA = {SOURCE: pl.String, N_TOKENS: pl.Int64, "documents": pl.Int64, "characters": pl.Int64}


def summed_counts(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per (source, length): the counts summed."""
    return rows.group_by(SOURCE, N_TOKENS).agg(pl.col("documents").sum(), pl.col("characters").sum())


@dataclass(frozen=True)
class LengthCounts:
    """(source, n_tokens) -> documents, characters; `rows` may repeat a key until it is summed again."""

    rows: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_SCHEMA))
    summed_rows: int = 0  # the height of `rows` when it was last summed (0: never)


class CorpusStats:
    """Documents, characters, tokens and token-length percentiles per source."""

    name = "stats"

    def empty(self) -> LengthCounts:
        return LengthCounts()

    def map(self, batch: pl.DataFrame) -> LengthCounts:
        rows = (
            batch.group_by(SOURCE, N_TOKENS)
            .agg(pl.len().cast(pl.Int64).alias("documents"), pl.col(TEXT).str.len_chars().sum().cast(pl.Int64).alias("characters"))
            .select(list(_SCHEMA))
        )
        return LengthCounts(rows, rows.height)

    def merge(self, a: LengthCounts, b: LengthCounts) -> LengthCounts:
        rows = pl.concat([a.rows, b.rows])
        summed = max(a.summed_rows, b.summed_rows)
        if rows.height > 2 * max(summed, 4096):  # amortised: each row is summed O(log rows) times
            rows = summed_counts(rows)
            summed = rows.height
        return LengthCounts(rows, summed)

    def finalize(self, state: LengthCounts, ctx: FinalizeContext) -> AnalyzerResult:
        """All sources at once: one group-by over (source, length) counts, percentiles by nearest rank."""
        docs = pl.col("documents")
        cumulative = docs.cum_sum()
        percentiles = [
            pl.col(N_TOKENS).filter(cumulative >= (pl.lit(p / 100) * docs.sum()).ceil().clip(lower_bound=1)).first().alias(f"p{p}")
            for p in PERCENTILES
        ]
        table = (
            summed_counts(state.rows).sort(SOURCE, N_TOKENS)
            .group_by(SOURCE, maintain_order=True)
            .agg(
                docs.sum().alias("documents"),
                pl.col("characters").sum(),
                (pl.col(N_TOKENS) * docs).sum().alias("tokens"),
                *percentiles,
            )
        )
        per_source: dict[str, dict[str, Any]] = {}
        for row in table.iter_rows(named=True):
            n = int(row["documents"])
            per_source[str(row[SOURCE])] = {
                "documents": n,
                "characters": int(row["characters"]),
                "tokens": int(row["tokens"]),
                "tokens_per_document": {"mean": float(row["tokens"] / n), **{f"p{p}": int(row[f"p{p}"]) for p in PERCENTILES}},
            }
        return AnalyzerResult(per_source=per_source)

    def options(self) -> dict[str, Any]:
        return {"percentiles": list(PERCENTILES)}


def weighted_percentile(values: np.ndarray, counts: np.ndarray, percentile: float) -> int:
    """The `percentile`-th percentile (nearest rank) of sorted `values` repeated `counts` times."""
    cumulative = np.cumsum(counts)
    rank = max(int(np.ceil(percentile / 100 * cumulative[-1])), 1)
    return int(values[np.searchsorted(cumulative, rank)])
