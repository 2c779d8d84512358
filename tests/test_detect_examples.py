"""Example documents per source: exact top-k under any merge order, identical for any batch size and worker count."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from synthscope.detect.examples import HEAD, ID, LOGIT, PENDING, PREVIEW_CHARS, SOURCE, TIE, Z, ExampleState, ExamplesAnalyzer, select_rows
from synthscope.analyzer import FinalizeContext
from synthscope.pipeline import AuditConfig, build_analyzers, run_audit
from synthscope.text import prepare
from tests.conftest import SAMPLE_DATA

PARQUET = SAMPLE_DATA / "web_corpus.parquet"


def _rows(n: int, seed: int) -> pl.DataFrame:
    """Candidate rows with many ties: few distinct logits, repeated previews, repeated ids."""
    rng = random.Random(seed)
    heads = [f"text {i} " * 3 for i in range(12)]
    data = [
        (rng.choice("abc"), float(rng.choice([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0])), rng.randrange(4), f"id-{rng.randrange(30)}", rng.choice(heads))
        for _ in range(n)
    ]
    return pl.DataFrame(
        {SOURCE: [d[0] for d in data], LOGIT: [d[1] for d in data], TIE: pl.Series([d[2] for d in data], dtype=pl.UInt64),
         ID: [d[3] for d in data], HEAD: [d[4] for d in data], Z: pl.Series([[float(i)] for i in range(n)], dtype=pl.Array(pl.Float64, 1))}
    ).with_columns(pl.col(TIE) + pl.col(HEAD).str.len_chars().cast(pl.UInt64))  # the tie is a function of the preview


def _brute_force(rows: pl.DataFrame, k: int) -> set[tuple[Any, ...]]:
    """Per source and side: the k best distinct previews, each by its best row, ranked in Python."""
    out: set[tuple[Any, ...]] = set()
    records = rows.drop(Z).rows()
    for source in {r[0] for r in records}:
        mine = [r for r in records if r[0] == source]
        for sign in (-1, 1):
            ranked = sorted(mine, key=lambda r: (sign * r[1], r[2], r[3], r[4]))
            seen: list[str] = []
            for r in ranked:
                if r[4][:PREVIEW_CHARS] not in seen:
                    seen.append(r[4][:PREVIEW_CHARS])
                    if len(seen) <= k:
                        out.add(r)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_merge_is_exact_in_any_order_and_grouping(seed: int) -> None:
    rows = _rows(120, seed)
    expected = _brute_force(rows, 2)
    parts = [rows.slice(i, 17) for i in range(0, rows.height, 17)]
    for order in (parts, parts[::-1], random.Random(seed).sample(parts, len(parts))):
        left = select_rows(order[0], 2)
        for part in order[1:]:
            left = select_rows(pl.concat([left, select_rows(part, 2)]), 2)
        assert set(left.drop(Z).rows()) == expected
    pairwise = [select_rows(pl.concat(pair), 2) for pair in itertools.zip_longest(parts[::2], parts[1::2], fillvalue=parts[0])]
    tree = select_rows(pl.concat(pairwise), 2)
    assert set(tree.drop(Z).rows()) == expected


def _examples(report: dict[str, Any]) -> dict[str, Any]:
    return {s["source"]: s.get("examples") for s in report["sources"]}


@pytest.mark.slow
def test_examples_identical_for_any_batch_size_and_worker_count() -> None:
    base = dict(by="domain", dedup=False, diversity=False)
    reference = _examples(run_audit([str(PARQUET)], AuditConfig(**base, workers=1, batch_size=5000)))
    assert all(reference.values())
    for workers, batch_size in ((2, 100), (1, 37), (2, 300)):
        report = run_audit([str(PARQUET)], AuditConfig(**base, workers=workers, batch_size=batch_size))
        assert report["timings"]["parts"] > 1 or workers == 1
        assert _examples(report) == reference, (workers, batch_size)
    # the same rows in another format and file name (ids come from the id column)
    gz = run_audit([str(SAMPLE_DATA / "web_corpus.jsonl.gz")], AuditConfig(**base, workers=1, batch_size=64))
    assert _examples(gz) == reference


@pytest.mark.slow
def test_copies_under_other_ids_rank_the_same_in_any_batching(tmp_path: Path) -> None:
    """Every text twice, under two ids, in batches that mix them differently: copies tie on the score
    to the last bit, and the id decides, whatever the batch."""
    copy = pl.read_parquet(PARQUET).with_columns(pl.format("copy-{}", pl.col("id")).alias("id")).sample(fraction=1.0, shuffle=True, seed=3)
    copy.write_parquet(tmp_path / "copy.parquet")
    paths = [str(PARQUET), str(tmp_path / "copy.parquet")]
    base = dict(by="domain", dedup=False, diversity=False)
    reference = _examples(run_audit(paths, AuditConfig(**base, workers=1, batch_size=5000)))
    assert all(e["id"].startswith("copy-") for x in reference.values() for side in x.values() for e in side)  # "copy-" < "doc-"
    for workers, batch_size in ((1, 29), (2, 150)):
        assert _examples(run_audit(paths, AuditConfig(**base, workers=workers, batch_size=batch_size))) == reference


def test_examples_of_the_sample_data() -> None:
    report = run_audit([str(PARQUET)], AuditConfig(by="domain", dedup=False, diversity=False, workers=1))
    texts = dict(pl.read_parquet(PARQUET).select("id", "text").iter_rows())
    for source in report["sources"]:
        examples = source["examples"]
        most, least = examples["most_synthetic"], examples["least_synthetic"]
        assert len(most) == 3 and len(least) == 3
        assert [e["score"] for e in most] == sorted((e["score"] for e in most), reverse=True)
        assert [e["score"] for e in least] == sorted(e["score"] for e in least)
        assert min(e["score"] for e in most) >= max(e["score"] for e in least)
        for example in most + least:
            text = texts[example["id"]]
            assert example["preview"] == text[:PREVIEW_CHARS]
            assert example["truncated"] == (len(text) > PREVIEW_CHARS)
            assert all(0 <= s["start"] < s["end"] <= len(example["preview"]) for s in example["spans"])
        assert any(e["spans"] for e in most)
        assert all(c["contribution"] > 0 and c["plain"] for e in most for c in e["contributions"])
        assert all(c["contribution"] < 0 for e in least for c in e["contributions"])
    # the sources' most machine-like documents score high where the source is mostly machine text
    by_name = {s["source"]: s for s in report["sources"]}
    assert by_name["aiwriter.io"]["examples"]["most_synthetic"][0]["score"] > 0.9


def test_small_sources_get_no_examples(tmp_path: Path) -> None:
    analyzer = next(a for a in build_analyzers(AuditConfig(dedup=False, diversity=False), tmp_path) if isinstance(a, ExamplesAnalyzer))
    assert analyzer.options()["min_documents"] == 30
    frame = pl.read_parquet(PARQUET).select(pl.col("id").alias("doc_id"), pl.col("text"), pl.lit("tiny").alias("source"))
    state = analyzer.merge(analyzer.empty(), analyzer.map(prepare(frame.head(29))))
    assert isinstance(state, ExampleState) and state.documents == {"tiny": 29} and state.rows.height <= 6
    assert analyzer.finalize(state, FinalizeContext(workdir=tmp_path)).per_source == {}
    state = analyzer.merge(state, analyzer.map(prepare(frame.slice(29, 1))))
    assert set(analyzer.finalize(state, FinalizeContext(workdir=tmp_path)).per_source) == {"tiny"}


@pytest.mark.parametrize("seed", range(3))
def test_shared_source_merge_keeps_the_exact_top_k(seed: int) -> None:
    """merge_shared_sources re-ranks only the sources both sides hold: same rows as re-ranking all."""
    from synthscope.source_rows import merge_shared_sources

    rows = _rows(300, seed)
    expected = _brute_force(rows, 2)
    state, stale = rows.clear(), 0
    for i in range(0, rows.height, 23):
        merged = merge_shared_sources(state, select_rows(rows.slice(i, 23), 2), lambda r: select_rows(r, 2), stale)
        state, stale = merged.rows, merged.stale
        assert stale <= state.height
    assert set(state.drop(Z).rows()) == expected


def test_the_audit_explains_only_the_sources_it_leads_with(tmp_path: Path) -> None:
    """34 sources of 30 documents and 122 of one: the overview leads with 30 of the large ones; they get
    exactly the examples a full finalize gives them, the other four none, and nothing stays pending."""
    frame = pl.read_parquet(PARQUET).with_row_index("i").with_columns(
        pl.when(pl.col("i") < 1020).then(pl.format("site{}", pl.col("i") // 30)).otherwise(pl.format("tiny{}", pl.col("i"))).alias("source")
    ).drop("i")
    frame.write_parquet(tmp_path / "many.parquet")
    config = AuditConfig(dedup=False, diversity=False, workers=1)
    report = run_audit([str(tmp_path / "many.parquet")], config)
    analyzer = next(a for a in build_analyzers(config, tmp_path) if isinstance(a, ExamplesAnalyzer))
    prepared = prepare(frame.select(pl.col("id").alias("doc_id"), "text", "source"))
    state = analyzer.merge(analyzer.empty(), analyzer.map(prepared))
    full = analyzer.finalize(state, FinalizeContext(workdir=tmp_path)).per_source
    assert len(full) == 34
    deferred = analyzer.finalize_deferred(state, FinalizeContext(workdir=tmp_path)).per_source
    assert deferred == {s: {"examples": PENDING} for s in full}
    shown = {n for reason in ("largest", "most_synthetic", "most_duplicated") for n in report["overview"][reason]}
    with_examples = {s["source"]: s["examples"] for s in report["sources"] if "examples" in s}
    assert set(with_examples) == shown & set(full) and len(with_examples) == 30
    assert with_examples == {s: full[s]["examples"] for s in with_examples}
    assert analyzer.explain(state, {"site3", "tiny1100"}) == {"site3": full["site3"]}
