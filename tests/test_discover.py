"""Input discovery: files, folders (recursed), globs, formats and their errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from synthscope.errors import InputError
from synthscope.io.discover import detect_format, discover_inputs
from tests.conftest import write_jsonl, write_parquet


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.parquet", ("parquet", None)),
        ("a.jsonl", ("jsonl", None)),
        ("a.ndjson.gz", ("jsonl", "gz")),
        ("a.json.zst", ("jsonl", "zst")),
        ("shard-0001.parquet.zst", ("parquet", "zst")),
        ("a.csv", None),
        ("a.gz", None),
    ],
)
def test_detect_format(name: str, expected: tuple[str, str | None] | None) -> None:
    assert detect_format(Path(name)) == expected


def test_folder_is_recursed_sorted_and_unknown_files_listed(tmp_path: Path, small_corpus: pl.DataFrame) -> None:
    write_jsonl(small_corpus.head(5), tmp_path / "b" / "two.jsonl.gz")
    write_parquet(small_corpus.head(5), tmp_path / "a" / "one.parquet")
    (tmp_path / "a" / "notes.txt").write_text("not data")
    write_jsonl(small_corpus.head(5), tmp_path / ".hidden" / "skip.jsonl")
    inputs, ignored = discover_inputs([str(tmp_path)])
    assert [f.path.name for f in inputs] == ["one.parquet", "two.jsonl.gz"]
    assert [(f.format, f.compression) for f in inputs] == [("parquet", None), ("jsonl", "gz")]
    assert any(p.endswith("notes.txt") for p in ignored)
    assert any(p.endswith("skip.jsonl") for p in ignored)


def test_glob_and_duplicates_listed_once(tmp_path: Path, small_corpus: pl.DataFrame) -> None:
    for i in range(3):
        write_jsonl(small_corpus.head(2), tmp_path / f"part-{i}.jsonl")
    inputs, _ = discover_inputs([str(tmp_path / "part-*.jsonl"), str(tmp_path / "part-1.jsonl")])
    assert [f.path.name for f in inputs] == ["part-0.jsonl", "part-1.jsonl", "part-2.jsonl"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: str(d / "missing.jsonl"), "no such file or folder"),
        (lambda d: str(d / "*.parquet"), "no files match"),
        (lambda d: (d / "x.csv").write_text("a,b") and str(d / "x.csv"), "unknown format"),
        (lambda d: str(d), "no readable input files"),
    ],
)
def test_discovery_errors_name_the_path(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        discover_inputs([make(tmp_path)])


def test_single_json_documents_are_passed_over_in_folders_and_rejected_by_name(tmp_path: Path, small_corpus: pl.DataFrame) -> None:
    write_jsonl(small_corpus.head(3), tmp_path / "data.json")  # JSON Lines with a .json name: data
    (tmp_path / "MANIFEST.json").write_text('{\n  "sources": [\n    {"source": "a"}\n  ]\n}\n')
    (tmp_path / "list.json").write_text('[{"text": "a"}, {"text": "b"}]\n')
    inputs, ignored = discover_inputs([str(tmp_path)])
    assert [f.path.name for f in inputs] == ["data.json"]
    assert sorted(Path(p).name for p in ignored) == ["MANIFEST.json", "list.json"]
    with pytest.raises(InputError, match="MANIFEST.json: one JSON document, not JSON Lines"):
        discover_inputs([str(tmp_path / "MANIFEST.json")])
