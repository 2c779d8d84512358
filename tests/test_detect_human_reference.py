"""`audit --human-reference`: sources estimated against their own (or the pooled) human reference documents."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SHARED_DATA, write_jsonl

TRAIN = SHARED_DATA / "detect_train.jsonl.gz"


@pytest.fixture(scope="module")
def essays() -> pl.DataFrame:
    """OUTFOX student essays (a genre the shipped profile never saw): human and gpt-3.5 essays."""
    frame = pl.read_ndjson(TRAIN).filter(pl.col("dataset") == "outfox")
    return frame.filter((pl.col("label") == "human") | (pl.col("generator") == "gpt-3.5-turbo-0613")).sort("id")


def _report(cli, tmp_path: Path, *args: object) -> dict:
    result = cli("audit", *args, "-q", "--no-dedup", "--no-diversity", "-o", tmp_path / "rep", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{"):])


def test_sources_read_against_their_own_or_the_pooled_reference(essays: pl.DataFrame, cli, tmp_path: Path) -> None:
    human = essays.filter(pl.col("label") == "human")
    machine = essays.filter(pl.col("label") == "machine")
    older = human.head(150).with_columns(pl.lit("essays.example").alias("source"))  # the source's human past
    new_human = human.slice(150, 120)
    corpus = pl.concat([
        new_human.head(60).vstack(machine.head(60)).with_columns(pl.lit("essays.example").alias("source")),
        new_human.tail(60).with_columns(pl.lit("unseen.example").alias("source")),
    ]).select("id", "text", "source")
    reference = write_jsonl(older.select("id", "text", "source"), tmp_path / "ref" / "older.jsonl")
    target = write_jsonl(corpus, tmp_path / "new.jsonl")
    report = _report(cli, tmp_path, target, "--human-reference", reference)
    by = {s["source"]: s for s in report["sources"]}
    half, unseen = by["essays.example"]["synthetic_fraction"], by["unseen.example"]["synthetic_fraction"]
    assert half["method"] == "mle-human-reference-source" and half["reference_documents"] == 150
    assert unseen["method"] == "mle-human-reference-pooled" and unseen["reference_documents"] == 150
    assert half["ci_low"] <= 0.5 <= half["ci_high"], half
    assert unseen["estimate"] <= 0.1, unseen
    # the calibration profile's estimate is kept beside it
    assert by["essays.example"]["synthetic_fraction_default"]["method"] == "mle-matched"
    assert report["summary"]["detect"]["human_reference"] == {"documents": 150, "sources": 1}


def test_a_small_reference_widens_the_interval_and_is_low_confidence(essays: pl.DataFrame, cli, tmp_path: Path) -> None:
    human = essays.filter(pl.col("label") == "human")
    machine = essays.filter(pl.col("label") == "machine")
    # a quarter machine-written: the interval stays clear of 1, where it would be cut whatever the reference
    corpus = human.slice(200, 120).vstack(machine.head(40)).with_columns(pl.lit("s").alias("source")).select("id", "text", "source")
    target = write_jsonl(corpus, tmp_path / "new.jsonl")
    widths = {}
    for size in (12, 200):
        ref = write_jsonl(human.head(size).with_columns(pl.lit("s").alias("source")).select("id", "text", "source"), tmp_path / f"ref{size}.jsonl")
        sf = _report(cli, tmp_path, target, "--human-reference", ref)["sources"][0]["synthetic_fraction"]
        widths[size] = sf["ci_high"] - sf["ci_low"]
        assert sf["low_confidence"] is (size < 30)
    assert widths[12] > widths[200] + 0.05


def test_human_reference_errors(cli, tmp_path: Path, essays: pl.DataFrame) -> None:
    target = write_jsonl(essays.head(40).select("id", "text"), tmp_path / "new.jsonl")
    result = cli("audit", target, "--human-reference", tmp_path / "missing.jsonl", "-q", "-o", tmp_path / "r")
    assert result.exit_code == 2 and "missing.jsonl" in result.stderr
    result = cli("audit", target, "--human-reference", target, "--no-detect", "-q", "-o", tmp_path / "r")
    assert result.exit_code == 2 and "--human-reference" in result.stderr
