"""Corpus statistics analyzer: exact counts and percentiles, merge order does not matter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from synthscope.analyzer import FinalizeContext
from synthscope.stats import CorpusStats, weighted_percentile
from synthscope.text import prepare, tokenize


def _batch(frame: pl.DataFrame) -> pl.DataFrame:
    return prepare(frame.select(pl.col("id").alias("doc_id"), pl.col("domain").alias("source"), "text"))


def test_stats_match_direct_computation_and_merge_in_any_order(dev_frame: pl.DataFrame, tmp_path: Path) -> None:
    frame = dev_frame.sample(900, seed=3)
    analyzer = CorpusStats()
    parts = [analyzer.map(_batch(frame.slice(i, 200))) for i in range(0, frame.height, 200)]
    forward = analyzer.empty()
    for part in parts:
        forward = analyzer.merge(forward, part)
    backward = analyzer.empty()
    for part in reversed(parts):
        backward = analyzer.merge(part, backward)
    ctx = FinalizeContext(workdir=tmp_path)
    result = analyzer.finalize(forward, ctx).per_source
    assert result == analyzer.finalize(backward, ctx).per_source
    for domain, group in frame.group_by("domain"):
        lengths = np.array([len(tokenize(t)) for t in group["text"]])
        got = result[domain[0]]
        assert got["documents"] == group.height
        assert got["characters"] == int(group["text"].str.len_chars().sum())
        assert got["tokens"] == int(lengths.sum())
        assert got["tokens_per_document"]["p50"] == int(np.percentile(lengths, 50, method="inverted_cdf"))
        assert got["tokens_per_document"]["p95"] == int(np.percentile(lengths, 95, method="inverted_cdf"))


def test_merged_state_stays_bounded_by_the_distinct_lengths(dev_frame: pl.DataFrame, tmp_path: Path) -> None:
    """Merges append and sum again only once the table doubled: many parts of the same sources keep it
    near its distinct (source, length) pairs, with the counts of every part."""
    analyzer = CorpusStats()
    part = analyzer.map(_batch(dev_frame.head(3000)))
    state = analyzer.empty()
    for _ in range(60):
        state = analyzer.merge(state, part)
    assert state.rows.height <= 2 * max(part.rows.height, 4096) + part.rows.height
    once = analyzer.finalize(part, FinalizeContext(workdir=tmp_path)).per_source
    many = analyzer.finalize(state, FinalizeContext(workdir=tmp_path)).per_source
    assert {k: v["documents"] for k, v in many.items()} == {k: 60 * v["documents"] for k, v in once.items()}


def test_weighted_percentile_nearest_rank() -> None:
    values, counts = np.array([1, 5, 9]), np.array([1, 2, 1])
    assert [weighted_percentile(values, counts, p) for p in (0, 25, 50, 75, 100)] == [1, 1, 5, 5, 9]


def test_tokenizer_keeps_inner_apostrophes_and_unicode() -> None:
    assert tokenize("Don’t  STOP — naïve café's 3.5 x") == ["don't", "stop", "naïve", "café's", "3", "5", "x"]


def test_many_small_sources_equal_the_per_source_percentiles(dev_frame: pl.DataFrame, tmp_path: Path) -> None:
    """Finalize works on all sources at once; every source equals its own nearest-rank percentiles."""
    frame = dev_frame.head(3000).with_columns((pl.int_range(pl.len()) % 997).cast(pl.String).alias("domain"))
    analyzer = CorpusStats()
    result = analyzer.finalize(analyzer.map(_batch(frame)), FinalizeContext(workdir=tmp_path)).per_source
    assert len(result) == 997
    lengths_of = frame.with_columns(_batch(frame)["n_tokens"].alias("n")).group_by("domain").agg(pl.col("n"))
    for domain, lengths in lengths_of.iter_rows():
        values, counts = np.unique(np.asarray(lengths), return_counts=True)
        got = result[domain]["tokens_per_document"]
        assert got["mean"] == float(np.sum(lengths) / len(lengths))
        for p in (5, 25, 50, 75, 95):
            assert got[f"p{p}"] == weighted_percentile(values, counts, p), (domain, p)
