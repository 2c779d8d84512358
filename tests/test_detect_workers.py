"""`score` and `calibrate` run on the audit's engines: `--workers` is honoured (same output for any
worker count and batch size, in input order) and the progress sink (hidden by `-q`) sees every document."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from synthscope.detect.corpus import calibration_languages, labelled_features, score_paths
from synthscope.detect.profile import load_profile
from synthscope.pipeline import AuditConfig
from tests.conftest import SAMPLE_DATA, write_jsonl

CORPUS = SAMPLE_DATA / "web_corpus.parquet"


class CountingProgress:
    """A progress sink that records what it was told."""

    def __init__(self) -> None:
        self.started = self.finished = 0
        self.documents = 0
        self.bytes = 0

    def start(self, total_bytes: int, files: int) -> None:
        self.started += 1

    def advance(self, raw_bytes: int, documents: int) -> None:
        self.bytes += raw_bytes
        self.documents += documents

    def finish(self) -> None:
        self.finished += 1


def test_score_is_the_same_for_any_worker_count_and_batch_size_and_in_input_order(cli, tmp_path: Path) -> None:
    one = tmp_path / "one.parquet"
    two = tmp_path / "two.parquet"
    assert cli("score", CORPUS, "--by", "domain", "-o", one, "-q", "--workers", "1").exit_code == 0
    # 100-row batches, 200-row parts: six parts mapped by two worker processes
    result = cli("score", CORPUS, "--by", "domain", "-o", two, "-q", "--workers", "2", "--batch-size", "100")
    assert result.exit_code == 0, result.output
    a, b = pl.read_parquet(one), pl.read_parquet(two)
    assert a.height == pl.read_parquet(CORPUS).height
    assert a.equals(b)
    # rows come in input order
    assert a["id"].to_list() == pl.read_parquet(CORPUS)["id"].cast(pl.String).to_list()


def test_score_reports_progress_for_every_document(tmp_path: Path) -> None:
    progress = CountingProgress()
    config = AuditConfig(by="domain", workers=2, batch_size=300)
    rows = score_paths([str(CORPUS)], config, load_profile(None), tmp_path / "s.parquet", progress=progress)
    assert rows == progress.documents == pl.read_parquet(CORPUS).height
    assert progress.bytes == pytest.approx(CORPUS.stat().st_size, abs=8)  # parts split the bytes (rounded)
    assert (progress.started, progress.finished) == (1, 1)


def test_score_of_a_corpus_without_documents_is_an_input_error(cli, tmp_path: Path) -> None:
    empty = write_jsonl(pl.DataFrame({"text": ["", "  "]}), tmp_path / "empty.jsonl")
    result = cli("score", empty, "-o", tmp_path / "s.parquet", "-q", "--workers", "2")
    assert result.exit_code == 2
    assert "no document to analyse" in result.output
    assert not (tmp_path / "s.parquet").exists()


def test_calibrate_reads_the_same_features_for_any_worker_count(dev_frame: pl.DataFrame, tmp_path: Path) -> None:
    frame = dev_frame.filter(pl.col("domain").is_in(["xsum", "writing", "pubmed"]))
    frame = frame.group_by("domain", "label", maintain_order=True).head(60).select("id", "text", pl.col("domain").alias("genre"), "label")
    path = tmp_path / "labelled.parquet"  # Parquet: parts of two batches, so several workers share the file
    frame.write_parquet(path)
    one = labelled_features([str(path)], 1, AuditConfig(by="genre", workers=1))
    progress = CountingProgress()
    two = labelled_features([str(path)], 1, AuditConfig(by="genre", workers=2, batch_size=25), progress=progress)
    assert progress.documents == frame.height == len(one.label)
    assert one.features.equals(two.features)
    assert list(one.group) == list(two.group) == frame["genre"].to_list()  # input order
    np.testing.assert_array_equal(one.n_words, two.n_words)
    np.testing.assert_array_equal(one.topics, two.topics)
    assert one.grams is not None and two.grams is not None
    np.testing.assert_array_equal(one.grams.grams, two.grams.grams)
    assert (one.grams.rates != two.grams.rates).nnz == 0
    languages = calibration_languages([str(path)], AuditConfig(by="genre", workers=2, batch_size=25))
    assert languages == calibration_languages([str(path)], AuditConfig(by="genre", workers=1)) == ["en"]
