"""`synthscope audit` end to end: sources, accounting, report fields and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import SAMPLE_DATA, source_counts, write_bytes, write_jsonl, write_parquet


def audit_json(cli: Any, *args: Any) -> dict[str, Any]:
    result = cli("audit", *args, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_sample_data_both_formats_match_the_manifest(cli: Any, manifest: dict[str, Any], tmp_path: Path) -> None:
    expected = {s["source"]: s["documents"] for s in manifest["sources"]}
    reports = []
    for name in ("web_corpus.parquet", "web_corpus.jsonl.gz"):
        out = tmp_path / name
        result = cli("audit", SAMPLE_DATA / name, "--by", "domain", "-o", out)
        assert result.exit_code == 0, result.stderr
        report = json.loads((out / "report.json").read_text())
        assert source_counts(report) == expected
        assert report["totals"]["rows_read"] == report["totals"]["analysed"] == sum(expected.values())
        reports.append(report)
        assert "dailynews.co.uk" in result.stdout  # the summary table
    strip = lambda r: [{k: v for k, v in s.items()} for s in r["sources"]]  # noqa: E731
    assert strip(reports[0]) == strip(reports[1])


def test_report_records_options_inputs_and_fingerprints(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path) -> None:
    path = write_parquet(small_corpus, tmp_path / "c.parquet")
    report = audit_json(cli, path, "--batch-size", "16")
    assert report["schema_version"] and report["tool"]["name"] == "synthscope"
    assert report["options"]["by"] == "source" and "batch_size" not in report["options"]
    # how the run was executed is recorded with the timings (it does not change the results)
    assert report["timings"]["batch_size"] == 16 and report["timings"]["workers"] >= 1
    (inp,) = report["inputs"]
    assert inp["format"] == "parquet" and inp["rows"] == small_corpus.height
    assert inp["bytes"] == path.stat().st_size and inp["fingerprint"].startswith("xxh3_128:")
    write_parquet(small_corpus.head(59), path)
    assert audit_json(cli, path)["inputs"][0]["fingerprint"] != inp["fingerprint"]


def test_by_modes(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path) -> None:
    write_jsonl(small_corpus.head(30), tmp_path / "d" / "a.jsonl")
    write_parquet(small_corpus.tail(30), tmp_path / "d" / "b.parquet")
    folder = tmp_path / "d"
    by_default = audit_json(cli, folder)  # a `source` column exists
    assert source_counts(by_default) == dict(small_corpus.group_by("source").len().iter_rows())
    by_file = audit_json(cli, folder, "--by", "file")
    assert sorted(source_counts(by_file).values()) == [30, 30]
    assert all(s.endswith((".jsonl", ".parquet")) for s in source_counts(by_file))
    by_domain = audit_json(cli, folder, "--by", "domain")
    assert set(source_counts(by_domain)) == {"example.com"}
    by_column = audit_json(cli, folder, "--by", "domain", "--url-column", "url")
    assert by_column["sources"] == by_domain["sources"]
    by_col = audit_json(cli, folder, "--by", "id")
    assert len(by_col["sources"]) == 60


def test_default_source_is_file_without_source_column(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path) -> None:
    path = write_jsonl(small_corpus.drop("source"), tmp_path / "x.jsonl.zst")
    report = audit_json(cli, path)
    assert source_counts(report) == {path.as_posix(): 60}
    assert report["options"]["by"] == "file"


def test_accounting_on_a_corpus_of_bad_inputs(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    write_jsonl(small_corpus.head(10), folder / "good.jsonl")
    lines = [b'{"text": "fine text", "source": "s"}', b"{nope", b'{"text": null, "source": "s"}',
             b'{"text": "   ", "source": "s"}', b'{"text": 3.5, "source": "s"}', b'{"text": "bad \xff byte", "source": "s"}']
    write_bytes(b"\n".join(lines) + b"\n", folder / "mixed.jsonl")
    write_bytes(b"", folder / "empty.jsonl.gz")
    report = audit_json(cli, folder)
    totals = report["totals"]
    assert totals["rows_read"] == 16
    assert (totals["analysed"], totals["empty"], totals["malformed"], totals["skipped"]) == (12, 2, 2, 0)
    assert totals["rows_read"] == totals["analysed"] + totals["empty"] + totals["malformed"] + totals["skipped"]
    assert totals["invalid_utf8"] == 1
    assert [m.split(": ")[0].rsplit("/", 1)[-1] for m in report["malformed_examples"]] == ["mixed.jsonl:2", "mixed.jsonl:5"]
    per_file = {Path(i["path"]).name: i["accounting"]["rows_read"] for i in report["inputs"]}
    assert per_file == {"empty.jsonl.gz": 0, "good.jsonl": 10, "mixed.jsonl": 6}


def test_min_chars_skips_and_counts(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path) -> None:
    path = write_jsonl(small_corpus, tmp_path / "c.jsonl")
    cutoff = int(small_corpus["text"].str.len_chars().median())
    report = audit_json(cli, path, "--min-chars", str(cutoff))
    short = int((small_corpus["text"].str.len_chars() < cutoff).sum())
    assert report["totals"]["skipped"] == short > 0
    assert report["totals"]["analysed"] == 60 - short


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (lambda d, c: write_parquet(c, d / "c.parquet"), ["--text-column", "body"], "no column 'body' (columns: id, url, source, text, domain)"),
        (lambda d, c: write_jsonl(c, d / "c.jsonl"), ["--by", "domain", "--url-column", "link"], "no column 'link'"),
        (lambda d, c: None, [], "no such file or folder"),
        (lambda d, c: write_bytes(b"PAR1garbage", d / "c.parquet"), [], "not a readable Parquet file"),
    ],
)
def test_input_errors_exit_2_with_one_line(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path, setup: Any, args: list[str], message: str) -> None:
    setup(tmp_path, small_corpus)
    target = next(iter(tmp_path.iterdir()), tmp_path / "missing.jsonl")
    result = cli("audit", target, *args, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_strict_turns_malformed_rows_into_an_error(cli: Any, tmp_path: Path) -> None:
    path = write_bytes(b'{"text": "ok"}\n{"text": \n', tmp_path / "s.jsonl")
    assert cli("audit", path, "-q", "-o", tmp_path / "o").exit_code == 0
    result = cli("audit", path, "--strict", "-o", tmp_path / "o")
    assert result.exit_code == 2 and "s.jsonl:2: malformed row" in result.stderr


def test_internal_error_exits_3_and_debug_shows_traceback(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path, monkeypatch: Any) -> None:
    import synthscope.engines.work as work

    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(work, "prepare", boom)
    path = write_jsonl(small_corpus, tmp_path / "c.jsonl")
    result = cli("audit", path, "-o", tmp_path / "o")
    assert result.exit_code == 3 and "kaboom" in result.stderr and "Traceback" not in result.stderr
    result = cli("audit", path, "--debug", "-o", tmp_path / "o")
    assert result.exit_code == 3 and "Traceback" in result.stderr


def test_bad_option_is_a_usage_error(cli: Any) -> None:
    assert cli("audit", "x.jsonl", "--batch-size", "0").exit_code == 2


@pytest.mark.slow
def test_report_is_the_same_for_any_batch_size_and_worker_count(cli: Any, tmp_path: Path) -> None:
    """Same inputs, same report: only timings, the date and the batching options themselves differ."""

    def record(report: dict[str, Any]) -> dict[str, Any]:
        options = {k: v for k, v in report["options"].items() if k not in ("batch_size", "workers")}
        return {**{k: v for k, v in report.items() if k not in ("timings", "created_at")}, "options": options}

    one = audit_json(cli, SAMPLE_DATA / "web_corpus.parquet", "--by", "domain", "--batch-size", "100")
    two = audit_json(cli, SAMPLE_DATA / "web_corpus.parquet", "--by", "domain", "--batch-size", "5000", "--workers", "2")
    assert one["timings"]["analyzers"]["dedup"]["spill_bytes"] > 0
    assert record(one) == record(two)


def test_analyzers_can_be_skipped_and_their_fields_then_absent(cli: Any, small_corpus: pl.DataFrame, tmp_path: Path) -> None:
    path = write_parquet(small_corpus, tmp_path / "c.parquet")
    full = audit_json(cli, path)
    assert {"synthetic_fraction", "near_duplicate_fraction", "diversity"} <= set(full["sources"][0])
    bare = audit_json(cli, path, "--no-detect", "--no-dedup", "--no-diversity")
    assert not {"synthetic_fraction", "near_duplicate_fraction", "diversity"} & set(bare["sources"][0])
    assert set(bare["analyzers"]) == {"stats", "languages"}
    assert source_counts(bare) == source_counts(full)
