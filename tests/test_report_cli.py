"""The report CLI: audit outputs and exit codes, report, card, compare, GitHub step summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from synthscope.report.card import BEGIN
from synthscope.report.markdown import TITLE
from tests.golden_util import GOLDEN, SAMPLE, sample_markdown


def _audit(cli: Any, corpus: Path, out: Path, *args: Any) -> Any:
    return cli("audit", corpus, "-o", out, "-q", *args)


def test_golden_markdown_of_the_sample_data() -> None:
    assert SAMPLE.exists()
    assert sample_markdown() == GOLDEN.read_text(encoding="utf-8"), "rendering changed: run scripts/regen_golden.py and review the diff"


def test_audit_writes_four_files_by_default_and_a_subset_on_request(cli, report_corpus, tmp_path) -> None:
    corpus, _ = report_corpus
    result = _audit(cli, corpus, tmp_path / "all")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["report.html", "report.json", "report.md", "sources.parquet"]
    report = json.loads((tmp_path / "all" / "report.json").read_text())
    table = pl.read_parquet(tmp_path / "all" / "sources.parquet")  # one row per source, metrics flattened
    assert table["source"].to_list() == [s["source"] for s in report["sources"]]
    first = report["sources"][0]
    row = table.row(0, named=True)
    assert row["documents"] == first["documents"] and row["synthetic_fraction_estimate"] == first["synthetic_fraction"]["estimate"]
    assert row["near_duplicate_fraction"] == first["near_duplicate_fraction"] and row["diversity_mattr"] == first["diversity"]["mattr"]
    assert row["tokens_per_document_p50"] == first["tokens_per_document"]["p50"]
    assert "checks" not in report  # nothing configured: no verdict, exit 0
    assert (tmp_path / "all" / "report.md").read_text().startswith(f"## {TITLE}")
    result = _audit(cli, corpus, tmp_path / "some", "--format", "json,md")
    assert sorted(p.name for p in (tmp_path / "some").iterdir()) == ["report.json", "report.md"]


def test_exit_code_1_when_a_check_fails_and_missing_metric_fails(cli, report_corpus, tmp_path) -> None:
    corpus, _ = report_corpus
    result = _audit(cli, corpus, tmp_path / "o", "--fail-on-synthetic", "0.2")
    assert result.exit_code == 1
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["checks"]["status"] == "fail"
    assert {r["check"] for r in report["checks"]["results"]} == {"fail_on_synthetic"}
    assert all(r["threshold"] == 0.2 for r in report["checks"]["results"])
    assert "FAIL" in result.stdout


def test_exit_code_0_when_checks_pass(cli, report_corpus, tmp_path) -> None:
    corpus, _ = report_corpus
    (tmp_path / "synthscope.toml").write_text("[checks.metrics]\ndocuments = {min = 20}\n")
    result = _audit(cli, corpus, tmp_path / "o", "--config", tmp_path / "synthscope.toml")
    assert result.exit_code == 0, result.output
    checks = json.loads((tmp_path / "o" / "report.json").read_text())["checks"]
    assert checks["status"] == "pass" and len(checks["results"]) == 4
    assert checks["config_file"] == str(tmp_path / "synthscope.toml")


@pytest.mark.parametrize(
    "args",
    [
        ("--format", "pdf"),
        ("--max-synthetic-increase", "0.1"),
        ("--baseline", "does-not-exist.json"),
        ("--fail-on-synthetic", "1.5"),
        ("--config", "missing.toml"),
    ],
)
def test_exit_code_2_on_usage_and_input_errors(cli, report_corpus, tmp_path, args) -> None:
    corpus, _ = report_corpus
    result = _audit(cli, corpus, tmp_path / "o", *args)
    assert result.exit_code == 2
    assert not (tmp_path / "o" / "report.json").exists()


def test_report_command_re_renders(cli, audit_report, tmp_path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(audit_report))
    md = cli("report", path, "--format", "md")
    assert md.exit_code == 0 and TITLE in md.stdout and "calibration profile `default`" in md.stdout
    out = tmp_path / "r.html"
    assert cli("report", path, "--format", "html", "-o", out).exit_code == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert json.loads(cli("report", path, "--format", "json").stdout) == audit_report
    (tmp_path / "broken.json").write_text("[1, 2]")
    assert cli("report", tmp_path / "broken.json").exit_code == 2


def test_card_command_is_idempotent(cli, audit_report, tmp_path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(audit_report))
    readme = tmp_path / "README.md"
    readme.write_text("# Corpus\n\nAbout it.\n")
    assert cli("card", path, "--into", readme).exit_code == 0
    once = readme.read_text()
    assert once.startswith("# Corpus\n\nAbout it.\n\n" + BEGIN)
    assert cli("card", path, "--into", readme).exit_code == 0
    assert readme.read_text() == once


def test_compare_without_and_with_a_regression(cli, audit_report, tmp_path, monkeypatch) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps(audit_report))
    same = cli("compare", old, old, "--max-synthetic-increase", "0.05")
    assert same.exit_code == 0, same.output
    assert "Changes since the baseline" in same.stdout and "PASS" in same.stdout
    worse = json.loads(json.dumps(audit_report))
    target = min(worse["sources"], key=lambda s: s["synthetic_fraction"]["estimate"])
    target["synthetic_fraction"]["estimate"] += 0.2
    target["synthetic_fraction"]["ci_high"] = min(1.0, target["synthetic_fraction"]["ci_high"] + 0.2)
    new = tmp_path / "new.json"
    new.write_text(json.dumps(worse))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = cli("compare", old, new, "--max-synthetic-increase", "0.05", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    (failed,) = [r for r in data["checks"]["results"] if r["status"] == "fail"]
    assert failed["source"] == target["source"] and failed["value"] == pytest.approx(0.2)
    assert TITLE in summary.read_text()


def test_audit_with_baseline_and_step_summary(cli, report_corpus, tmp_path, monkeypatch) -> None:
    corpus, _ = report_corpus
    assert _audit(cli, corpus, tmp_path / "old").exit_code == 0
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    baseline = tmp_path / "old" / "report.json"
    result = _audit(cli, corpus, tmp_path / "same", "--baseline", baseline, "--max-diversity-drop", "0.1")
    assert result.exit_code == 0, result.output  # same corpus, same seeded sample: no drop
    result = _audit(cli, corpus, tmp_path / "new", "--baseline", baseline, "--max-diversity-drop", "0.1", "--no-diversity")
    assert result.exit_code == 1  # diversity metrics were not computed: the check cannot pass
    report = json.loads((tmp_path / "new" / "report.json").read_text())
    assert report["baseline"]["path"] == str(tmp_path / "old" / "report.json")
    assert all(r["metrics"]["documents"]["delta"] == 0 for r in report["comparison"]["sources"])
    text = summary.read_text()
    assert TITLE in text and "Changes since the baseline" in text
