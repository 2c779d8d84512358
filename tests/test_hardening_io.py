"""Issue 9, reading: bad bytes, cut streams, odd encodings and stray files are counted or refused
with one line, never crash, never overwrite an input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from synthscope.errors import InputError
from synthscope.io.discover import discover_inputs
from synthscope.report.schema import load_report
from tests.conftest import write_bytes, write_jsonl

FAST = ("--no-detect", "--no-diversity")


def texts(n: int, prefix: str = "doc") -> list[str]:
    """`n` distinct short English texts."""
    return [f"{prefix} {i}: the river ran past the old mill where {i} swallows nested every spring." for i in range(n)]


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def audit(cli: Any, *args: Any) -> tuple[Any, dict[str, Any] | None]:
    """Run `audit ... --json`; returns (result, report or None)."""
    result = cli("audit", *args, "--json", "-q", *FAST)
    report = json.loads(result.stdout) if result.exit_code in (0, 1) else None
    return result, report


def one_line_error(result: Any, code: int, *fragments: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ------------------------------------------------------------------ 1. invalid UTF-8 is counted, still analysed


@pytest.mark.parametrize("name", ["bad.jsonl", "bad.jsonl.gz", "bad.jsonl.zst"])
def test_invalid_utf8_in_jsonl_is_decoded_counted_and_analysed(cli: Any, tmp_path: Path, name: str) -> None:
    body = jsonl([{"text": t} for t in texts(8)])
    lines = body.split(b"\n")
    lines[2] = b'{"text": "caf\xe9 au lait \xff and a stray byte, still a real sentence to analyse."}'
    lines[5] = b'{"text": "another \xc3 broken sequence", "note": "\xfe"}'
    path = write_bytes(b"\n".join(lines), tmp_path / name)
    result, report = audit(cli, path, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    totals = report["totals"]
    assert totals["rows_read"] == totals["analysed"] == 8
    assert totals["invalid_utf8"] == 2
    dedup = cli("dedup", path, "-o", tmp_path / "dd", "-q")
    assert dedup.exit_code == 0, dedup.stderr
    ids = pl.read_parquet(tmp_path / "dd" / "clusters.parquet")["id"]
    assert ids.len() == 8


def test_invalid_utf8_in_a_parquet_string_column_is_repaired(cli: Any, tmp_path: Path) -> None:
    raw = pa.array([t.encode() for t in texts(5)] + [b"caf\xe9 bad byte in a parquet string"], pa.large_binary())
    source = pa.array([b"a", b"b\xff", b"a", b"a", b"a", b"a"], pa.large_binary())
    table = pa.table({"text": raw.view(pa.large_string()), "source": source.view(pa.large_string())})  # unvalidated
    pq.write_table(table, tmp_path / "bad.parquet")
    result, report = audit(cli, tmp_path / "bad.parquet", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert report["totals"]["analysed"] == 6 and report["totals"]["invalid_utf8"] == 2
    assert "b\ufffd" in {s["source"] for s in report["sources"]}


def test_lone_surrogate_escape_is_replaced_and_counted(cli: Any, tmp_path: Path) -> None:
    body = jsonl([{"text": t} for t in texts(4)]) + b'{"text": "a lone \\ud800 surrogate escape in JSON"}\n'
    path = write_bytes(body, tmp_path / "s.jsonl")
    result, report = audit(cli, path, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert report["totals"]["analysed"] == 5 and report["totals"]["invalid_utf8"] == 1


def test_utf8_bom_is_not_a_malformed_first_line(cli: Any, tmp_path: Path) -> None:
    path = write_bytes(b"\xef\xbb\xbf" + jsonl([{"text": t} for t in texts(3)]), tmp_path / "bom.jsonl")
    result, report = audit(cli, path, "-o", tmp_path / "out")
    assert result.exit_code == 0 and report["totals"]["analysed"] == 3 and report["totals"]["malformed"] == 0


# ------------------------------------------------------------------ 2. a cut .zst is an input error


@pytest.mark.parametrize("cut", ["multi-frame mid-frame", "one frame at 50%"])
def test_truncated_zstd_exits_2(cli: Any, tmp_path: Path, cut: str) -> None:
    rows = [{"text": t} for t in texts(300)]
    compressor = zstandard.ZstdCompressor()
    if cut == "multi-frame mid-frame":
        frames = [compressor.compress(jsonl(rows[i : i + 100])) for i in range(0, 300, 100)]
        data = b"".join(frames)[: len(frames[0]) + len(frames[1]) // 2]
    else:
        whole = compressor.compress(jsonl(rows))
        data = whole[: len(whole) // 2]
    path = tmp_path / "cut.jsonl.zst"
    path.write_bytes(data)
    result, _ = audit(cli, path, "-o", tmp_path / "out")
    one_line_error(result, 2, "cut.jsonl.zst", "truncated or corrupt zstd stream")


def test_complete_multi_frame_zstd_reads_every_row(cli: Any, tmp_path: Path) -> None:
    rows = [{"text": t} for t in texts(300)]
    compressor = zstandard.ZstdCompressor()
    path = tmp_path / "frames.jsonl.zst"
    path.write_bytes(b"".join(compressor.compress(jsonl(rows[i : i + 100])) for i in range(0, 300, 100)))
    result, report = audit(cli, path, "-o", tmp_path / "out")
    assert result.exit_code == 0 and report["totals"]["analysed"] == 300


# ------------------------------------------------------------------ 3. dedup never writes over its input


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_dedup_refuses_to_overwrite_its_input(cli: Any, tmp_path: Path, fmt: str) -> None:
    rows = [{"text": t} for t in texts(20)] + [{"text": texts(1)[0]}]
    folder = tmp_path / "deduplicated"
    folder.mkdir()
    path = folder / f"corpus.{fmt}"
    if fmt == "jsonl":
        path.write_bytes(jsonl(rows))
    else:
        pl.DataFrame(rows).write_parquet(path)
    before = path.read_bytes()
    for target in (path, folder):  # the file itself, or the folder holding it
        result = cli("dedup", target, "-o", tmp_path, "--write-deduplicated", "-q")
        one_line_error(result, 2, "would overwrite the input")
        assert path.read_bytes() == before
    assert not (tmp_path / "clusters.parquet").exists()


def test_dedup_writes_a_copy_beside_a_separate_input(cli: Any, tmp_path: Path) -> None:
    rows = [{"text": t} for t in texts(20)] + [{"text": texts(1)[0]}]
    path = write_bytes(jsonl(rows), tmp_path / "in" / "corpus.jsonl")
    result = cli("dedup", path, "-o", tmp_path / "out", "--write-deduplicated", "-q")
    assert result.exit_code == 0, result.stderr
    copy = tmp_path / "out" / "deduplicated" / "corpus.jsonl"
    assert len(copy.read_bytes().splitlines()) == 20
    assert not list((tmp_path / "out" / "deduplicated").glob(".*partial"))


# ------------------------------------------------------------------ 9. dictionary / categorical text


def test_dictionary_and_categorical_text_columns_are_text(cli: Any, tmp_path: Path) -> None:
    values = texts(6) * 2
    pl.DataFrame({"text": values}, schema={"text": pl.Categorical}).write_parquet(tmp_path / "cat.parquet")
    pq.write_table(pa.table({"text": pa.array(values).dictionary_encode()}), tmp_path / "dict.parquet")
    for name in ("cat.parquet", "dict.parquet"):
        assert pa.types.is_dictionary(pq.read_schema(tmp_path / name).field("text").type)
        result, report = audit(cli, tmp_path / name, "-o", tmp_path / "out")
        assert result.exit_code == 0, result.stderr
        assert report["totals"]["analysed"] == 12


# ------------------------------------------------------------------ 10, 11. stray files in folders


def test_folder_passes_over_reports_configs_and_broken_links(tmp_path: Path) -> None:
    write_jsonl(pl.DataFrame({"text": texts(3)}), tmp_path / "data.jsonl")
    big_report = {"schema_version": "1.1", "sources": [{"source": f"s{i}", "x": "y" * 100} for i in range(12_000)]}
    (tmp_path / "report.json").write_text(json.dumps(big_report, indent=2))
    assert (tmp_path / "report.json").stat().st_size > 1 << 20
    (tmp_path / "config.json").write_text('{"name": "corpus", "version": 3}\n')
    (tmp_path / "one.json").write_text('{"text": "a one-line JSON Lines file is data"}\n')
    (tmp_path / "dangling.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    (tmp_path / "loop.jsonl").symlink_to(tmp_path / "loop.jsonl")
    inputs, ignored = discover_inputs([str(tmp_path)])
    assert sorted(f.path.name for f in inputs) == ["data.jsonl", "one.json"]
    assert sorted(Path(p).name for p in ignored) == ["config.json", "dangling.jsonl", "loop.jsonl", "report.json"]


def test_audit_of_a_folder_with_a_loop_link_exits_0(cli: Any, tmp_path: Path) -> None:
    write_jsonl(pl.DataFrame({"text": texts(3)}), tmp_path / "data.jsonl")
    (tmp_path / "loop.jsonl").symlink_to(tmp_path / "loop.jsonl")
    result, report = audit(cli, tmp_path, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert any(p.endswith("loop.jsonl") for p in report["ignored_files"])


def test_a_named_dangling_link_exits_2(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "dangling.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    result, _ = audit(cli, tmp_path / "dangling.jsonl", "-o", tmp_path / "out")
    one_line_error(result, 2, "dangling.jsonl")


# ------------------------------------------------------------------ 16. files that yield no row


def test_utf16_and_renamed_parquet_warn_and_exit_2_when_nothing_is_analysed(cli: Any, tmp_path: Path) -> None:
    rows = [{"text": t} for t in texts(5)]
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_bytes(jsonl(rows).decode().encode("utf-16"))
    renamed = tmp_path / "renamed.jsonl"
    pl.DataFrame(rows).write_parquet(renamed)
    result, _ = audit(cli, utf16, "-o", tmp_path / "o1")
    one_line_error(result, 2, "no document to analyse", "utf16.jsonl", "UTF-16")
    result, _ = audit(cli, renamed, "-o", tmp_path / "o2")
    one_line_error(result, 2, "no document to analyse", "renamed.jsonl", "Parquet")
    good = write_bytes(jsonl(rows), tmp_path / "good.jsonl")
    result, report = audit(cli, good, utf16, "-o", tmp_path / "o3")
    assert result.exit_code == 0, result.stderr
    assert "warning: " in result.stderr and "utf16.jsonl: all" in result.stderr
    assert report["warnings"] and "UTF-16" in report["warnings"][0]
    totals = report["totals"]
    assert totals["analysed"] == 5 and totals["malformed"] == totals["rows_read"] - 5
    assert totals["invalid_utf8"] == 0  # malformed rows are counted as malformed only


def test_a_bad_byte_in_a_malformed_line_counts_as_malformed_only(cli: Any, tmp_path: Path) -> None:
    path = write_bytes(jsonl([{"text": t} for t in texts(3)]) + b'{"text": "cut \xe9\n', tmp_path / "m.jsonl")
    result, report = audit(cli, path, "-o", tmp_path / "out")
    assert result.exit_code == 0
    assert report["totals"]["malformed"] == 1 and report["totals"]["invalid_utf8"] == 0


# ------------------------------------------------------------------ 20. messages


def test_malformed_row_messages_say_what_is_wrong(cli: Any, tmp_path: Path) -> None:
    body = jsonl([{"text": t} for t in texts(3)]) + b'{"text": "tab\there"}\n{"text": 12}\nnull\n[1, 2]\n'
    result, report = audit(cli, write_bytes(body, tmp_path / "m.jsonl"), "-o", tmp_path / "out")
    assert result.exit_code == 0
    examples = report["malformed_examples"]
    assert examples[0].endswith(":4: invalid JSON (Invalid control character at column 14)")
    assert examples[1].endswith(":5: 'text' is a JSON number, not a string")
    assert examples[2].endswith(":6: a JSON null, not an object")
    assert examples[3].endswith(":7: a JSON array, not an object")


def test_null_typed_parquet_text_column_gives_empty_rows(cli: Any, tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": pa.nulls(4), "other": pa.array(["a"] * 4)}), tmp_path / "nulls.parquet")
    pq.write_table(pa.table({"text": pa.array(texts(2))}), tmp_path / "good.parquet")
    result, report = audit(cli, tmp_path / "nulls.parquet", tmp_path / "good.parquet", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert report["totals"]["empty"] == 4 and report["totals"]["analysed"] == 2


def test_numeric_schema_version_is_named(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"schema_version": 1.1, "sources": []}))
    with pytest.raises(InputError, match=r'schema_version must be a string such as "1.1", got 1.1'):
        load_report(path)


# ------------------------------------------------------------------ the `id` column is the default id


def test_input_id_column_is_used_and_recorded(cli: Any, tmp_path: Path) -> None:
    rows = [{"id": f"doc-{i}", "text": t} for i, t in enumerate(texts(4))]
    with_ids = write_bytes(jsonl(rows), tmp_path / "a.jsonl")
    without = write_bytes(jsonl([{"text": t} for t in texts(2, "other")]), tmp_path / "b.jsonl")
    result, report = audit(cli, with_ids, without, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert report["options"]["id_column"] == "id" and report["options"]["id_column_detected"] is True
    assert cli("dedup", with_ids, without, "-o", tmp_path / "dd", "-q").exit_code == 0
    ids = pl.read_parquet(tmp_path / "dd" / "clusters.parquet")["id"].to_list()
    assert ids[:4] == [f"doc-{i}" for i in range(4)] and ids[4:] == [f"{without.as_posix()}:1", f"{without.as_posix()}:2"]
    result, report = audit(cli, with_ids, "--id-column", "text", "-o", tmp_path / "out2")
    assert "id_column_detected" not in report["options"] and report["options"]["id_column"] == "text"


# ------------------------------------------------------------------ 8. domains


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://intranet.local/x", "intranet.local"),
        ("http://wiki.local", "wiki.local"),
        ("https://blog.example/p", "blog.example"),
        ("printer.lan", "printer.lan"),
        ("http://[2001:db8:0::1]:8080/a", "[2001:db8::1]"),
        ("http://[::1]/", "[::1]"),
        ("http://10.0.0.7:80/", "10.0.0.7"),
        ("not a url", "(invalid url)"),
        ("  https://news.bbc.co.uk/x \n", "bbc.co.uk"),
        ("https://bücher.de/", "bücher.de"),
        ("http://xn--bcher-kva.de", "bücher.de"),
        ("HTTP://WWW.BÜCHER.DE./", "bücher.de"),
        ("http://user:pw@Example.com:8080/x?q#f", "example.com"),
        ("http://my_host.example.co.uk", "example.co.uk"),
        ("https://ex\ufffd.com/", "(invalid url)"),
        ("urn:isbn:123", "(invalid url)"),
        (None, "(none)"),
        ("   ", "(none)"),
    ],
)
def test_domain_of_url(url: str | None, domain: str) -> None:
    from synthscope.io.sources import domains

    assert domains(pl.Series([url], dtype=pl.String)).to_list() == [domain]


def test_a_bad_byte_in_a_url_gives_no_wrong_host(cli: Any, tmp_path: Path) -> None:
    rows = [{"text": t, "url": "https://example.com/a"} for t in texts(3)]
    body = jsonl(rows) + b'{"text": "a text whose url has a latin-1 byte in its host", "url": "https://exampl\xe9.com/"}\n'
    result, report = audit(cli, write_bytes(body, tmp_path / "u.jsonl"), "--by", "domain", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert {s["source"]: s["documents"] for s in report["sources"]} == {"example.com": 3, "(invalid url)": 1}
    assert report["totals"]["invalid_utf8"] == 1


def test_human_reference_takes_its_own_id_default(cli: Any, tmp_path: Path) -> None:
    """The inputs' `id` column is no requirement for a human reference that has none."""
    corpus = write_bytes(jsonl([{"id": f"d{i}", "text": t} for i, t in enumerate(texts(40))]), tmp_path / "c.jsonl")
    reference = write_bytes(jsonl([{"text": t} for t in texts(40, "ref")]), tmp_path / "ref.jsonl")
    result = cli("audit", corpus, "--human-reference", reference, "-o", tmp_path / "out", "-q", "--json", "--no-dedup", "--no-diversity")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["options"]["id_column"] == "id"
