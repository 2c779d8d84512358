"""The HTML report: self-contained, small, and its charts really render in headless Chromium."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from synthscope.pipeline import AuditConfig, run_audit
from synthscope.report.html import build_figures, render_html
from tests.golden_util import SAMPLE

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=20000",
)


def _chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_is_self_contained_and_small(audit_report) -> None:
    page = render_html(audit_report)
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|https?://cdn", page)
    assert len(page.encode()) < 2_600_000
    ids = [fid for fid, _ in build_figures(audit_report)]
    assert ids == ["chart-documents", "chart-synthetic", "chart-duplicates", "chart-diversity", "chart-scores", "chart-scores-by-source"]


def test_html_stays_small_for_hundreds_of_sources(audit_report) -> None:
    many = copy.deepcopy(audit_report)
    template = many["sources"]
    many["sources"] = [dict(copy.deepcopy(template[i % len(template)]), source=f"site-{i}.example") for i in range(500)]
    many["totals"]["sources"] = 500
    page = render_html(many)
    size = len(page.encode())
    assert page.count('<details id="evidence-') <= 40  # evidence only for the sources the report leads with
    assert size < 3_000_000, f"{size:,} bytes"


def _dump_dom(chromium: str, page: Path, profile: Path) -> str:
    run = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.slow
def test_charts_render_in_headless_chromium(tmp_path, audit_report) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium not found (/usr/bin/chromium or chromium on PATH); install Debian's 'chromium' package to run this test")
    sample = run_audit([str(SAMPLE)], AuditConfig(by="domain"))
    for name, report in (("sample", sample), ("enriched", audit_report)):
        page = tmp_path / f"{name}.html"
        page.write_text(render_html(report), encoding="utf-8")
        dom = _dump_dom(chromium, page, tmp_path / f"profile-{name}")
        expected = len(build_figures(report))
        assert f'data-charts-rendered="{expected}"' in dom, dom[-3000:]
        assert dom.count('class="plot-container plotly"') == expected
        assert dom.count("<svg") >= expected and "id=\"chart-status\"" not in dom  # removed once all charts are drawn
        for source in report["sources"]:
            assert source["source"] in dom


@pytest.mark.slow
def test_evidence_of_every_sample_source_in_headless_chromium(tmp_path) -> None:
    """Each source of sample_data/: an example document each way with its matched spans as <mark title=feature>,
    its top features and its largest duplicate cluster with two members side by side, in the DOM Chromium builds;
    a hostile source name and document text stay text (no element or script of theirs appears)."""
    from tests.test_report_evidence import _hostile_corpus, assert_full_evidence, evidence_of

    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium not found (/usr/bin/chromium or chromium on PATH); install Debian's 'chromium' package to run this test")
    for name, paths, by in (
        ("sample", [str(SAMPLE.parent / "web_corpus.parquet")], "domain"),
        ("hostile", [str(_hostile_corpus(tmp_path))], "source"),
    ):
        report = run_audit(paths, AuditConfig(by=by, diversity=False))
        page = tmp_path / f"{name}.html"
        source = render_html(report)
        page.write_text(source, encoding="utf-8")
        dom = _dump_dom(chromium, page, tmp_path / f"profile-{name}")
        assert_full_evidence(dom, report)
        shown = evidence_of(dom)
        for payload in ("<script>alert(1)", "<script>alert('x')", 'onerror="alert(2)"', "<img src="):
            assert payload not in dom  # parsed as text: serialised escaped, never as an element
        assert all(s["source"] in "".join(x["summary"] for x in shown.sources) for s in report["sources"])
