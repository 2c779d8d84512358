"""Streaming readers: every format and compression, bounded batches, and the accounting of bad rows."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from synthscope.errors import InputError
from synthscope.io.discover import discover_inputs
from synthscope.io.readers import ColumnSpec, read_batches
from tests.conftest import write_bytes, write_jsonl, write_parquet


def read_all(path: Path, spec: ColumnSpec = ColumnSpec(), batch_size: int = 7):  # type: ignore[no-untyped-def]
    (file,), _ = discover_inputs([str(path)])
    return list(read_batches(file, spec, batch_size))


@pytest.mark.parametrize(
    "name",
    ["c.parquet", "c.parquet.gz", "c.parquet.zst", "c.jsonl", "c.jsonl.gz", "c.jsonl.zst", "c.ndjson", "c.json.gz"],
)
def test_every_format_reads_all_rows_in_bounded_batches(tmp_path: Path, small_corpus: pl.DataFrame, name: str) -> None:
    path = tmp_path / name
    if ".parquet" in name:
        write_parquet(small_corpus, path, row_group_size=16)
    else:
        write_jsonl(small_corpus, path)
    batches = read_all(path, ColumnSpec(text="text", id="id", extra=("source",)), batch_size=7)
    assert all(b.frame.height <= 7 for b in batches)
    frame = pl.concat([b.frame for b in batches])
    assert frame["text"].to_list() == small_corpus["text"].to_list()
    assert frame["id"].to_list() == small_corpus["id"].to_list()
    assert sum(len(b.malformed) for b in batches) == 0
    # rows are numbered: JSON lines from 1, Parquet rows from 0
    first = 0 if ".parquet" in name else 1
    assert frame["_row"].to_list() == list(range(first, first + small_corpus.height))


def test_jsonl_bad_rows_are_counted_with_their_lines(tmp_path: Path, small_corpus: pl.DataFrame) -> None:
    texts = small_corpus["text"].to_list()
    lines = [
        json.dumps({"text": texts[0]}).encode(),
        b'{"text": 42}',  # text is not a string
        b"{broken json",
        b"",  # blank line: not a row
        b'{"text": null}',
        b'["a", "list"]',
        b'{"text": "caf\xe9 au lait"}',  # latin-1 byte: invalid UTF-8
        b'{"other": "no text key"}',
    ]
    path = write_bytes(b"\n".join(lines) + b"\n", tmp_path / "bad.jsonl")
    batches = read_all(path)
    frame = pl.concat([b.frame for b in batches])
    malformed = [m for b in batches for m in b.malformed]
    assert [line for line, _ in malformed] == [2, 3, 6]
    assert "not a string" in malformed[0][1] and "invalid JSON" in malformed[1][1]
    assert frame["_row"].to_list() == [1, 5, 7, 8]
    assert frame["text"].to_list() == [texts[0], None, "caf\ufffd au lait", None]
    assert sum(b.invalid_utf8 for b in batches) == 1
    assert sum(b.blank_lines for b in batches) == 1


def test_bad_lines_in_a_large_file_keep_their_numbers(tmp_path: Path, dev_frame: pl.DataFrame) -> None:
    rows = dev_frame.head(3000).select("id", "text")
    body = rows.write_ndjson().splitlines()
    for i in (10, 1234, 2999):
        body[i] = body[i][:-5]  # truncate the JSON object
    path = write_bytes(("\n".join(body) + "\n").encode(), tmp_path / "big.jsonl")
    batches = read_all(path, ColumnSpec(id="id"), batch_size=1000)
    assert [line for b in batches for line, _ in b.malformed] == [11, 1235, 3000]
    frame = pl.concat([b.frame for b in batches])
    assert frame.height == 2997
    expected = rows.with_row_index("line", 1).filter(~pl.col("line").is_in([11, 1235, 3000]))
    assert frame["id"].to_list() == expected["id"].to_list()


def test_empty_file_gives_no_rows(tmp_path: Path) -> None:
    for name in ("empty.jsonl", "empty.jsonl.gz"):
        path = write_bytes(b"", tmp_path / name)
        assert sum(b.rows_read for b in read_all(path)) == 0


def test_truncated_parquet_is_an_input_error(tmp_path: Path, small_corpus: pl.DataFrame) -> None:
    path = write_parquet(small_corpus, tmp_path / "t.parquet")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError, match=r"t\.parquet: not a readable Parquet file"):
        read_all(path)


def test_truncated_gzip_is_an_input_error(tmp_path: Path, small_corpus: pl.DataFrame) -> None:
    path = write_jsonl(small_corpus, tmp_path / "t.jsonl.gz")
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(InputError, match=r"t\.jsonl\.gz: truncated or corrupt gzip stream"):
        read_all(path)


def test_missing_parquet_column_names_the_columns(tmp_path: Path, small_corpus: pl.DataFrame) -> None:
    path = write_parquet(small_corpus, tmp_path / "p.parquet")
    with pytest.raises(InputError, match=r"no column 'body' \(columns: id, url, source, text, domain\)"):
        read_all(path, ColumnSpec(text="body"))


def test_parquet_text_of_wrong_type_is_an_error(tmp_path: Path) -> None:
    path = write_parquet(pl.DataFrame({"text": [1, 2, 3]}), tmp_path / "n.parquet")
    with pytest.raises(InputError, match="column 'text' has type int64, expected text"):
        read_all(path)


def test_parquet_binary_text_is_decoded_with_replacement(tmp_path: Path) -> None:
    frame = pl.DataFrame({"text": [b"fine", b"caf\xe9", None]}, schema={"text": pl.Binary})
    path = write_parquet(frame, tmp_path / "b.parquet")
    (batch,) = read_all(path)
    assert batch.frame["text"].to_list() == ["fine", "caf\ufffd", None]
    assert batch.invalid_utf8 == 1


def test_json_array_file_is_rejected(tmp_path: Path) -> None:
    from synthscope.io.readers import check_columns

    path = write_bytes(b'[{"text": "a"},\n{"text": "b"}]\n', tmp_path / "array.json")
    with pytest.raises(InputError, match="one JSON document, not JSON Lines"):
        discover_inputs([str(path)])
    compressed = write_bytes(b'[{"text": "a"},\n{"text": "b"}]\n', tmp_path / "array.json.gz")
    (file,), _ = discover_inputs([str(compressed)])
    with pytest.raises(InputError, match="a JSON array, not JSON Lines"):
        check_columns(file, ("text",))


def test_gzip_stream_read_in_blocks_matches_source(tmp_path: Path, dev_frame: pl.DataFrame) -> None:
    """A file larger than one read block is split on line boundaries without losing rows."""
    rows = dev_frame.select("id", "text")
    path = tmp_path / "all.jsonl.gz"
    path.write_bytes(gzip.compress(rows.write_ndjson().encode()))
    import synthscope.io.readers as readers

    old = readers.JSONL_BLOCK_BYTES
    readers.JSONL_BLOCK_BYTES = 100_000  # force many blocks
    try:
        frame = pl.concat([b.frame for b in read_all(path, ColumnSpec(id="id"), batch_size=500)])
    finally:
        readers.JSONL_BLOCK_BYTES = old
    assert frame["id"].to_list() == rows["id"].to_list()
    assert frame["_row"].to_list() == list(range(1, rows.height + 1))


def test_numeric_ids_and_nested_values_become_strings(tmp_path: Path) -> None:
    lines = [json.dumps({"text": f"doc {i}", "id": i, "meta": {"k": [i]}}) for i in range(100)]
    path = write_bytes(("\n".join(lines) + "\n").encode(), tmp_path / "ids.jsonl")
    frame = pl.concat([b.frame for b in read_all(path, ColumnSpec(id="id", extra=("meta",)), batch_size=64)])
    assert frame["id"].to_list() == [str(i) for i in range(100)]
    assert json.loads(frame["meta"][3]) == {"k": [3]}
