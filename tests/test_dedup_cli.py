"""`synthscope dedup` and the dedup fields of `synthscope audit`, on the sample corpus and real texts."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from synthscope.dedup import shingles
from tests.conftest import SAMPLE_DATA, write_jsonl, write_parquet

DEDUP_FIELDS = (
    "exact_duplicate_fraction",
    "exact_duplicate_within_source_fraction",
    "exact_duplicate_cross_source_fraction",
    "near_duplicate_fraction",
    "near_duplicate_within_source_fraction",
    "near_duplicate_cross_source_fraction",
    "largest_clusters",
)


def jaccard(x: set[bytes], y: set[bytes]) -> float:
    return len(x & y) / len(x | y)


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet")


def test_dedup_finds_the_planted_duplicates_of_the_sample_data(cli: Any, sample: pl.DataFrame, manifest: dict[str, Any], tmp_path: Path) -> None:
    result = cli("dedup", SAMPLE_DATA / "web_corpus.parquet", "--by", "domain", "--id-column", "id", "-o", tmp_path, "-q")
    assert result.exit_code == 0, result.stderr
    clusters = pl.read_parquet(tmp_path / "clusters.parquet")
    assert clusters.columns[:5] == ["id", "source", "cluster_id", "is_duplicate", "kept"]
    assert clusters.height == sample.height
    joined = sample.join(clusters.select("id", "cluster_id", "kept"), on="id")
    cluster_of = dict(zip(joined["id"], joined["cluster_id"]))
    sets = {i: set(shingles(t)) for i, t in zip(sample["id"], sample["text"])}
    exact_copies = joined.filter(pl.col("url").str.contains("/copy/"))
    assert exact_copies.height == sum(s["exact_duplicates"] for s in manifest["sources"])
    for row in exact_copies.iter_rows(named=True):
        twins = sample.filter((pl.col("text") == row["text"]) & (pl.col("id") != row["id"]))["id"].to_list()
        assert twins and all(cluster_of[t] == row["cluster_id"] for t in twins)
    # near copies: judged against the brute-force Jaccard of their best partner (gray band 0.75-0.85 left out)
    near_copies = joined.filter(pl.col("url").str.contains("/mirror/"))
    assert near_copies.height == sum(s["near_duplicates"] for s in manifest["sources"])
    judged = 0
    for row in near_copies.iter_rows(named=True):
        best_id, best = max(((i, jaccard(sets[row["id"]], s)) for i, s in sets.items() if i != row["id"]), key=lambda p: p[1])
        if best >= 0.85:
            assert cluster_of[best_id] == row["cluster_id"], (row["url"], best)
            judged += 1
        elif best < 0.75:
            assert cluster_of[best_id] != row["cluster_id"], (row["url"], best)
    assert judged >= 10


def test_dedup_writes_the_corpus_without_duplicates_in_its_format(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path) -> None:
    corpus = pl.concat([small_corpus, small_corpus.head(5).with_columns(pl.col("id") + "-copy")])
    write_jsonl(corpus, tmp_path / "in" / "a.jsonl.gz")
    write_parquet(corpus.with_columns(pl.col("id") + "-pq"), tmp_path / "in" / "b.parquet")
    out = tmp_path / "out"
    result = cli("dedup", tmp_path / "in", "--id-column", "id", "-o", out, "--write-deduplicated", "-q")
    assert result.exit_code == 0, result.stderr
    clusters = pl.read_parquet(out / "clusters.parquet")
    assert int((~clusters["kept"]).sum()) == corpus.height + 5  # all of b.parquet and the 5 copies in a
    with gzip.open(out / "deduplicated" / "a.jsonl.gz", "rt") as handle:
        kept = [json.loads(line) for line in handle]
    assert [r["id"] for r in kept] == small_corpus["id"].to_list()
    assert kept[0] == small_corpus.row(0, named=True)  # every column kept as it was
    assert pl.read_parquet(out / "deduplicated" / "b.parquet").height == 0
    assert "duplicates" in result.stdout


def test_dedup_keep_longest(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path) -> None:
    first = small_corpus.row(0, named=True)
    longer = {**first, "id": "longer", "text": first["text"] + " And one more closing sentence."}
    corpus = pl.concat([small_corpus, pl.DataFrame([longer], schema=small_corpus.schema)])
    path = write_parquet(corpus, tmp_path / "c.parquet")
    for keep, kept_id in (("first", first["id"]), ("longest", "longer")):
        result = cli("dedup", path, "--id-column", "id", "-o", tmp_path / keep, "--keep", keep, "-q")
        assert result.exit_code == 0, result.stderr
        clusters = pl.read_parquet(tmp_path / keep / "clusters.parquet").filter(pl.col("id").is_in([first["id"], "longer"]))
        assert clusters.filter(pl.col("kept"))["id"].to_list() == [kept_id]
        assert clusters["cluster_id"].n_unique() == 1


def test_audit_reports_dedup_fields_and_options(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path) -> None:
    corpus = pl.concat([small_corpus, small_corpus.head(3).with_columns(pl.lit("mirror").alias("source"))])
    path = write_parquet(corpus, tmp_path / "c.parquet")
    result = cli("audit", path, "--json", "-q", "--num-perm", "64", "--ngram", "3", "--minhash-threshold", "0.7", "--seed", "9")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["analyzers"]["dedup"]["num_perm"] == 64 and report["analyzers"]["dedup"]["ngram"] == 3
    assert report["analyzers"]["dedup"]["seed"] == 9
    mirror = next(s for s in report["sources"] if s["source"] == "mirror")
    assert all(f in mirror for f in DEDUP_FIELDS)
    assert mirror["exact_duplicate_fraction"] == 1.0 and mirror["exact_duplicate_cross_source_fraction"] == 1.0
    assert mirror["largest_clusters"][0]["sources"] == sorted([mirror["source"], small_corpus["source"][0]])


@pytest.mark.parametrize("bad", [["--num-perm", "1"], ["--minhash-threshold", "1.5"], ["--ngram", "0"]])
def test_bad_dedup_options_exit_2(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path, bad: list[str]) -> None:
    path = write_parquet(small_corpus, tmp_path / "c.parquet")
    result = cli("dedup", path, "-o", tmp_path / "o", *bad)
    assert result.exit_code == 2
