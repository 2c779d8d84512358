"""Clustering of real texts: exact and near copies found, rates per source, merge-order independence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthscope.analyzer import FinalizeContext
from synthscope.dedup.analyzer import DedupAnalyzer, DedupOptions
from synthscope.dedup.components import connected_components
from synthscope.text import prepare


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))))
def test_components_match_a_plain_search(case: tuple[int, list[tuple[int, int]]]) -> None:
    n, edges = case
    labels = connected_components(n, np.array([e[0] for e in edges], dtype=np.int64), np.array([e[1] for e in edges], dtype=np.int64))
    neighbours: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    for start in range(n):
        seen, todo = {start}, [start]
        while todo:
            for nxt in neighbours[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        assert labels[start] == min(seen)


def edit(text: str, rng: np.random.Generator, edits: int) -> str:
    words = text.split(" ")
    for _ in range(edits):
        words[int(rng.integers(len(words)))] = "zzz"
    return " ".join(words)


@pytest.fixture
def planted(dev_frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    """300 real documents in sources A/B/C plus planted copies; returns the frame and {copy id: kind}."""
    rng = np.random.default_rng(5)
    base = dev_frame.filter(pl.col("label") == "human").sample(300, seed=11)
    rows = [{"doc_id": f"d{i}", "source": "ABC"[i % 3], "text": t} for i, t in enumerate(base["text"])]
    kinds: dict[str, str] = {}
    plan = [("A", 0, "exact"), ("A", 3, "exact"), ("B", 6, "exact"), ("B", 1, "near"), ("C", 2, "near"), ("A", 9, "near"), ("C", 12, "far")]
    for k, (source, origin, kind) in enumerate(plan):
        text = rows[origin]["text"]
        if kind == "near":
            text = " ".join(str(text).split(" ")[:-2])  # drop two words: Jaccard > 0.9
        elif kind == "far":
            text = edit(str(text), rng, 25)  # heavy edits: Jaccard well below 0.8
        rows.append({"doc_id": f"copy{k}", "source": source, "text": text})
        kinds[f"copy{k}"] = kind
    frame = pl.DataFrame(rows).with_columns(pl.lit("corpus.jsonl").alias("file"), pl.int_range(pl.len()).cast(pl.Int64).alias("_row"))
    return prepare(frame), kinds


def run(analyzer: DedupAnalyzer, batches: list[pl.DataFrame], tmp_path: Path):  # noqa: ANN201
    state = analyzer.empty()
    for batch in batches:
        state = analyzer.merge(state, analyzer.map(batch))
    return analyzer.cluster(state)[0], analyzer.finalize(state, FinalizeContext(workdir=tmp_path))


def test_planted_copies_are_found(planted: tuple[pl.DataFrame, dict[str, str]], tmp_path: Path) -> None:
    frame, kinds = planted
    docs, result = run(DedupAnalyzer(tmp_path), [frame.slice(0, 150), frame.slice(150)], tmp_path)
    by_id = {r["doc_id"]: r for r in docs.iter_rows(named=True)}
    for copy_id, kind in kinds.items():
        row = by_id[copy_id]
        assert row["kept"] is (kind == "far"), copy_id
        assert row["exact_duplicate"] is (kind == "exact"), copy_id
    origins = {"copy0": "d0", "copy1": "d3", "copy2": "d6", "copy3": "d1", "copy4": "d2", "copy5": "d9"}
    for copy_id, origin in origins.items():
        assert by_id[copy_id]["cluster_id"] == by_id[origin]["cluster_id"] == by_id[origin]["idx"]
    a, b, c = (result.per_source[s] for s in "ABC")
    n_a = int((docs["source"] == "A").sum())
    assert a["exact_duplicates"] == 2 and a["near_duplicates"] == 3
    assert a["exact_duplicate_fraction"] == pytest.approx(2 / n_a)
    # copy0 and copy1 copy A's own d0 and d3 (d3 is source A: 3 % 3 == 0), copy5 copies d9 (A)
    assert a["near_duplicate_within_source_fraction"] == pytest.approx(3 / n_a)
    # B copies d6 (A) exactly and d1 (B) nearly; C copies d2 (C): within C
    assert b["exact_duplicate_cross_source_fraction"] * int((docs["source"] == "B").sum()) == pytest.approx(1)
    assert b["near_duplicate_within_source_fraction"] * int((docs["source"] == "B").sum()) == pytest.approx(1)
    assert c["near_duplicates"] == 1
    assert result.summary["near_duplicates"] == 6
    top = a["largest_clusters"][0]
    assert top["size"] == 2 and top["preview"] and top["sources"]


def test_result_does_not_depend_on_batching_or_merge_order(planted: tuple[pl.DataFrame, dict[str, str]], tmp_path: Path) -> None:
    frame, _ = planted
    one, _ = run(DedupAnalyzer(tmp_path / "a"), [frame], tmp_path)
    analyzer = DedupAnalyzer(tmp_path / "b")
    states = [analyzer.map(frame.slice(lo, 50)) for lo in range(0, frame.height, 50)]
    merged = analyzer.empty()
    for state in reversed(states):
        merged = analyzer.merge(state, merged)
    many = analyzer.cluster(merged)[0]
    columns = ["doc_id", "cluster_id", "kept", "is_duplicate", "exact_duplicate"]
    assert one.select(columns).equals(many.select(columns))


def test_keep_longest_keeps_the_longer_document(planted: tuple[pl.DataFrame, dict[str, str]], tmp_path: Path) -> None:
    frame, _ = planted
    docs, _ = run(DedupAnalyzer(tmp_path, DedupOptions(keep="longest")), [frame], tmp_path)
    by_id = {r["doc_id"]: r for r in docs.iter_rows(named=True)}
    # copy3 is d1 minus two words: the original is longer and kept; ids stay the smallest index
    assert by_id["d1"]["kept"] and not by_id["copy3"]["kept"]
    assert by_id["copy3"]["cluster_id"] == by_id["d1"]["idx"]


def test_verification_rejects_weak_candidates(planted: tuple[pl.DataFrame, dict[str, str]], tmp_path: Path) -> None:
    frame, _ = planted
    loose = DedupAnalyzer(tmp_path / "l", DedupOptions(threshold=0.3, num_perm=64))
    docs, result = run(loose, [frame], tmp_path)
    assert result.summary["candidate_pairs"] >= result.summary["verified_pairs"] > 0
    assert bool(docs.filter(pl.col("doc_id") == "copy6")["kept"][0]) is False  # heavy edits still pass J >= 0.3


@pytest.mark.parametrize("keep", ["first", "longest"])
def test_hash_partitioned_finalize_gives_the_same_result(planted: tuple[pl.DataFrame, dict[str, str]], tmp_path: Path, keep: str) -> None:
    """A tiny group-by budget (many hash partitions of exact hashes and band keys) changes nothing."""
    frame, _ = planted
    batches = [frame.slice(lo, 40) for lo in range(0, frame.height, 40)]
    whole, whole_result = run(DedupAnalyzer(tmp_path / "w", DedupOptions(keep=keep)), batches, tmp_path)
    split, split_result = run(DedupAnalyzer(tmp_path / "s", DedupOptions(keep=keep, partition_rows=7)), batches, tmp_path)
    assert whole.equals(split)
    assert int((~whole["kept"]).sum()) == 6  # the planted copies are found either way
    assert whole_result.per_source == split_result.per_source
    assert whole_result.summary == split_result.summary


def test_document_table_has_one_row_per_document_in_input_order(planted: tuple[pl.DataFrame, dict[str, str]], tmp_path: Path) -> None:
    frame, _ = planted
    docs, _ = run(DedupAnalyzer(tmp_path), [frame.slice(0, 100), frame.slice(100)], tmp_path)
    assert docs["doc_id"].to_list() == frame["doc_id"].to_list()
    assert docs["idx"].to_list() == list(range(frame.height))
    singles = docs.filter(~pl.col("is_duplicate"))
    assert singles["kept"].all() and (singles["cluster_id"] == singles["idx"]).all() and (singles["cluster_size"] == 1).all()
    sizes = docs.filter(pl.col("is_duplicate")).group_by("cluster_id").agg(pl.len().alias("n"), pl.col("cluster_size").first(), pl.col("kept").sum())
    assert (sizes["n"] == sizes["cluster_size"]).all() and (sizes["kept"] == 1).all()
