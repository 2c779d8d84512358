"""The bottom-k sample: order-, batch- and merge-tree independent, and the smallest hashes."""

from __future__ import annotations

import gzip
import itertools
import json
import random
from pathlib import Path

import polars as pl
import pytest
import xxhash
from polars.testing import assert_frame_equal

from synthscope.diversity.sample import HASH, empty_sample, merge_samples, sample_batch
from synthscope.text import prepare

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DOCS, TOKENS = 40, 3_000


@pytest.fixture(scope="module")
def prepared() -> pl.DataFrame:
    rows = []
    with gzip.open(DATA / "detect_dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        for i, line in enumerate(itertools.islice(fh, 1500)):
            row = json.loads(line)
            rows.append({"doc_id": row["id"], "source": row["domain"], "text": row["text"], "file": "dev", "_row": i})
    return prepare(pl.DataFrame(rows))


def sample_in_batches(frame: pl.DataFrame, order: list[int], size: int, seed: int = 1) -> pl.DataFrame:
    shuffled = frame[order]
    states = [sample_batch(shuffled[a : a + size], seed, DOCS, TOKENS) for a in range(0, shuffled.height, size)]
    state = empty_sample()
    for s in states:
        state = merge_samples(state, s, DOCS, TOKENS)
    return state


def test_same_sample_for_any_order_and_batch_size(prepared: pl.DataFrame) -> None:
    whole = sample_batch(prepared, 1, DOCS, TOKENS)
    rng = random.Random(0)
    for size in (1_500, 97, 400):
        order = list(range(prepared.height))
        rng.shuffle(order)
        assert_frame_equal(sample_in_batches(prepared, order, size), whole)


def test_merge_is_associative_and_commutative(prepared: pl.DataFrame) -> None:
    a, b, c = (sample_batch(prepared[i::3], 1, DOCS, TOKENS) for i in range(3))
    left = merge_samples(merge_samples(a, b, DOCS, TOKENS), c, DOCS, TOKENS)
    right = merge_samples(a, merge_samples(b, c, DOCS, TOKENS), DOCS, TOKENS)
    swapped = merge_samples(c, merge_samples(b, a, DOCS, TOKENS), DOCS, TOKENS)
    assert_frame_equal(left, right)
    assert_frame_equal(left, swapped)
    assert_frame_equal(merge_samples(empty_sample(), a, DOCS, TOKENS), a)


def test_sample_is_the_smallest_hashes_covering_both_budgets(prepared: pl.DataFrame) -> None:
    sample = sample_batch(prepared, 5, DOCS, TOKENS)
    for (source,), group in sample.group_by("source"):
        docs = prepared.filter(pl.col("source") == source)
        hashes = sorted((xxhash.xxh64_intdigest(d.encode(), 5), n) for d, n in zip(docs["doc_id"], docs["n_tokens"], strict=True))
        kept = group.height
        assert group[HASH].to_list() == [h for h, _ in hashes[:kept]]
        before_last = sum(n for _, n in hashes[: kept - 1])
        assert kept - 1 < DOCS or before_last < TOKENS  # the last kept row was still needed
        if kept < len(hashes):
            assert kept >= DOCS and before_last + hashes[kept - 1][1] >= TOKENS  # and nothing more is


def test_seed_changes_the_sample(prepared: pl.DataFrame) -> None:
    one, two = sample_batch(prepared, 1, DOCS, TOKENS), sample_batch(prepared, 2, DOCS, TOKENS)
    assert set(one["doc_id"]) != set(two["doc_id"])


def test_analyzer_merge_reduces_only_shared_sources_and_keeps_the_sample(prepared: pl.DataFrame) -> None:
    """The analyzer's merge (only sources both states hold are truncated again; stale string buffers
    copied away once they outnumber the live rows) keeps the same sample as truncating everything."""
    from synthscope.diversity.analyzer import DiversityAnalyzer
    from synthscope.diversity.sample import SORT_KEY

    analyzer = DiversityAnalyzer(seed=1, budget_tokens=400, sample_docs=4)
    tail = prepared.with_columns((pl.lit("s") + (pl.int_range(pl.len()) % 300).cast(pl.String)).alias("source"))
    whole = sample_batch(tail, 1, 4, 400)  # a long tail: 300 sources of 5 documents, budgets some exceed
    order = list(range(tail.height))
    random.Random(3).shuffle(order)
    shuffled = tail[order]
    state, stale_seen, compacted = analyzer.empty(), 0, False
    for a in range(0, shuffled.height, 53):
        before = state.stale
        state = analyzer.merge(state, analyzer.map(shuffled[a : a + 53]))
        stale_seen = max(stale_seen, state.stale)
        compacted |= before > 0 and state.stale == 0
        assert state.stale <= state.sample.height
    assert stale_seen > 0 and compacted
    assert_frame_equal(state.sample.sort(SORT_KEY), whole)
