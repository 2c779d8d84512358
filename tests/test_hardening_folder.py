"""Issue 9: one folder holding every kind of bad input that does not stop an audit, audited at once.
The report accounts for every row, lists every file it passed over, and nothing in the folder changes."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from tests.test_hardening_io import jsonl, texts


def build_bad_folder(folder: Path) -> tuple[dict[str, int], set[str]]:
    """Write the bad inputs; returns {file name: rows it holds} and the names that must be passed over."""
    rows: dict[str, int] = {}

    def put(name: str, data: bytes, n_rows: int) -> None:
        (folder / name).write_bytes(data)
        rows[name] = n_rows

    good = [{"text": t} for t in texts(12)]
    put("good.jsonl", jsonl(good), 12)
    put("bom.jsonl", b"\xef\xbb\xbf" + jsonl(good[:3]), 3)
    put("blank-lines.jsonl", b"\n" + jsonl(good[:2]).replace(b"\n", b"\n\n"), 2)
    put("empty.jsonl", b"", 0)
    bad_bytes = jsonl(good[:4]) + b'{"text": "caf\xe9 with a latin-1 byte in a scraped page"}\n'
    put("bad-bytes.jsonl.gz", gzip.compress(bad_bytes), 5)
    malformed = jsonl(good[:3]) + b'{"text": \n[1, 2]\n{"text": 7}\nnull\n{"text": "ctrl\x01char"}\n{"text": "lone \\ud800"}\n'
    put("malformed.jsonl", malformed, 9)
    put("utf16.jsonl", jsonl(good[:4]).decode().encode("utf-16"), 0)  # rows counted when read
    frames = b"".join(zstandard.ZstdCompressor().compress(jsonl(good[i : i + 4])) for i in range(0, 12, 4))
    put("frames.jsonl.zst", frames, 12)
    put("[draft] <img src=x onerror=alert(1)>.jsonl", jsonl(good[:2]), 2)

    pl.DataFrame({"text": texts(5, "cat") * 2}, schema={"text": pl.Categorical}).write_parquet(folder / "categorical.parquet")
    rows["categorical.parquet"] = 10
    pq.write_table(pa.table({"text": pa.nulls(3), "x": pa.array([1, 2, 3])}), folder / "null-text.parquet")
    rows["null-text.parquet"] = 3
    raw = pa.array([t.encode() for t in texts(3, "pq")] + [b"bad \xff byte"], pa.large_binary())
    pq.write_table(pa.table({"text": raw.view(pa.large_string())}), folder / "bad-bytes.parquet")
    rows["bad-bytes.parquet"] = 4
    pl.DataFrame(good[:5]).write_parquet(folder / "parquet-named.jsonl")
    rows["parquet-named.jsonl"] = 0

    (folder / "report.json").write_text(json.dumps({"schema_version": "1.1", "sources": [{"source": "s" * 200}] * 8000}, indent=2))
    (folder / "config.json").write_text('{"name": "corpus", "version": 2}\n')
    (folder / "MANIFEST.json").write_text('{\n  "files": 14\n}\n')
    (folder / ".hidden.jsonl").write_bytes(jsonl(good[:1]))
    (folder / "notes.txt").write_text("not data")
    (folder / "dangling.jsonl").symlink_to(folder / "gone.jsonl")
    (folder / "loop.jsonl").symlink_to(folder / "loop.jsonl")
    ignored = {"report.json", "config.json", "MANIFEST.json", ".hidden.jsonl", "notes.txt", "dangling.jsonl", "loop.jsonl"}
    return rows, ignored


def snapshot(folder: Path) -> dict[str, Any]:
    """Every entry's name, kind and content (links by target), with modification times."""
    out: dict[str, Any] = {}
    for entry in sorted(folder.iterdir()):
        info = entry.lstat()
        if entry.is_symlink():
            out[entry.name] = ("link", os.readlink(entry), info.st_mtime_ns)
        else:
            out[entry.name] = ("file", entry.read_bytes(), info.st_mtime_ns)
    return out


def test_a_folder_of_every_bad_input_is_accounted_for_and_left_unchanged(cli: Any, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    rows, ignored = build_bad_folder(folder)
    before = snapshot(folder)
    out = tmp_path / "report"
    result = cli("audit", folder, "-o", out, "-q", "--no-diversity")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((out / "report.json").read_text())

    # every row read is accounted for, per file and in total
    t = report["totals"]
    assert t["rows_read"] == t["analysed"] + t["empty"] + t["malformed"] + t["skipped"]
    by_file = {Path(i["path"]).name: i for i in report["inputs"]}
    assert set(by_file) == set(rows)
    for name, record in by_file.items():
        counts = record["accounting"]
        assert counts["rows_read"] == counts["analysed"] + counts["empty"] + counts["malformed"] + counts["skipped"], name
        if name not in ("utf16.jsonl", "parquet-named.jsonl"):
            assert counts["rows_read"] == rows[name], name
    assert sum(i["rows"] for i in report["inputs"]) == t["rows_read"]
    assert by_file["malformed.jsonl"]["accounting"]["malformed"] == 5
    assert by_file["utf16.jsonl"]["accounting"]["analysed"] == by_file["parquet-named.jsonl"]["accounting"]["analysed"] == 0
    assert by_file["null-text.parquet"]["accounting"]["empty"] == 3
    assert t["invalid_utf8"] == 3  # the gzip line, the Parquet value, the lone surrogate; malformed rows are not counted
    assert t["blank_lines"] >= 3

    # passed over and listed, with the reason visible in warnings for files that gave no row
    assert {Path(p).name for p in report["ignored_files"]} == ignored
    warned = " ".join(report["warnings"])
    assert "utf16.jsonl: all" in warned and "UTF-16" in warned and "parquet-named.jsonl: all" in warned and "Parquet" in warned

    # renderings carry the hostile file name escaped, and the folder is exactly as it was
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    assert "<img" not in md and "[draft] &lt;img src=x onerror=alert(1)&gt;" in md.replace("\\[draft\\]", "[draft]")
    assert "<img" not in page
    assert snapshot(folder) == before
