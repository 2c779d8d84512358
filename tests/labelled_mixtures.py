"""Corpora of labelled human and machine documents at known per-source shares, with planted duplicates.

Used by the filter tests and by `benchmarks/filter_tradeoff.py`: each source draws its documents without
replacement from labelled pools, then exact copies and near copies (one word replaced) of its own
documents are appended. The truth stays in the frame: `label` (human / machine), `planted` (null, exact
or near) and `copy_of` (the id of the document a planted copy copies).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

NEAR_COPY_MIN_WORDS = 120  # a one-word edit of a text this long keeps Jaccard of 5-shingles >= 0.92


def near_copy(text: str, rng: np.random.Generator) -> str:
    """`text` with one word replaced by a word it does not contain."""
    words = text.split(" ")
    i = int(rng.integers(1, len(words) - 1))
    words[i] = "zyxwvutsrq"
    return " ".join(words)


def build_mixture(
    human: pl.DataFrame,
    machine: pl.DataFrame,
    sources: Sequence[tuple[str, int, float]],
    *,
    exact_copies: int = 2,
    near_copies: int = 2,
    seed: int = 1,
) -> pl.DataFrame:
    """Sources (name, documents, machine share) drawn from the `human` and `machine` pools (columns id,
    text and any others, kept), each followed by planted copies; rows shuffled. Returns id, source, text,
    label, planted, copy_of plus the pools' other columns."""
    rng = np.random.default_rng(seed)
    h_order = rng.permutation(human.height)
    m_order = rng.permutation(machine.height)
    h_used = m_used = 0
    frames = []
    for name, documents, share in sources:
        n_machine = int(round(documents * share))
        n_human = documents - n_machine
        if h_used + n_human > human.height or m_used + n_machine > machine.height:
            raise ValueError(f"not enough labelled documents for source {name}")
        picked = pl.concat([
            human[h_order[h_used:h_used + n_human]].with_columns(pl.lit("human").alias("label")),
            machine[m_order[m_used:m_used + n_machine]].with_columns(pl.lit("machine").alias("label")),
        ], how="diagonal_relaxed")
        h_used += n_human
        m_used += n_machine
        picked = picked.with_columns(pl.lit(name).alias("source"), pl.lit(None, dtype=pl.String).alias("planted"), pl.lit(None, dtype=pl.String).alias("copy_of"))
        words = pl.col("text").str.split(" ").list.len()
        long = picked.filter(words >= NEAR_COPY_MIN_WORDS)
        if long.height < near_copies:  # short texts only: the longest ones (their copies are less similar)
            long = picked.sort(words, descending=True).head(max(near_copies, 1))
        exact = picked[rng.choice(picked.height, exact_copies, replace=False)]
        near = long[rng.choice(long.height, near_copies, replace=False)]
        copies = [
            exact.with_columns(pl.col("id").alias("copy_of"), (pl.col("id") + "-exact").alias("id"), pl.lit("exact").alias("planted")),
            near.with_columns(
                pl.col("id").alias("copy_of"), (pl.col("id") + "-near").alias("id"), pl.lit("near").alias("planted"),
                pl.Series("text", [near_copy(t, rng) for t in near["text"]]),
            ),
        ]
        frames.append(pl.concat([picked, *copies], how="diagonal_relaxed"))
    corpus = pl.concat(frames, how="diagonal_relaxed")
    corpus = corpus[rng.permutation(corpus.height)]
    first = ["id", "source", "text", "label", "planted", "copy_of"]
    return corpus.select(first + [c for c in corpus.columns if c not in first])


def truth_by_source(decisions: pl.DataFrame, corpus: pl.DataFrame) -> pl.DataFrame:
    """Per source, from decisions.parquet joined with the corpus truth: documents, the true machine share
    before and of the kept documents, and the true share of human documents lost to synthetic filtering
    or source drops (planted copies excluded: removing a copy loses no text)."""
    joined = decisions.join(corpus.select("id", "label", "planted"), on="id", how="left")
    machine = pl.col("label") == "machine"
    original_human = (pl.col("label") == "human") & pl.col("planted").is_null()
    lost = pl.col("reason").is_in(["synthetic", "source_dropped"])
    return joined.group_by("source").agg(
        pl.len().alias("documents"),
        machine.mean().alias("machine_before"),
        pl.col("kept").sum().alias("kept"),
        (machine & pl.col("kept")).sum().alias("machine_kept"),
        original_human.sum().alias("human"),
        (original_human & lost).sum().alias("human_lost"),
    ).with_columns(
        (pl.col("machine_kept") / pl.col("kept")).alias("machine_share_kept"),
        (pl.col("human_lost") / pl.col("human")).alias("human_loss"),
    ).sort("source")
