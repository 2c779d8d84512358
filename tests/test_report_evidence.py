"""Evidence in the reports: highlighted example documents, top features and duplicate pairs, escaped everywhere."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from synthscope.detect.features import SPAN_FEATURES
from synthscope.pipeline import AuditConfig, run_audit
from synthscope.report.card import BEGIN, END, insert_section
from synthscope.report.escape import text_html
from synthscope.report.evidence import evidence_html, evidence_markdown, highlight
from synthscope.report.html import render_html
from synthscope.report.markdown import render_section
from tests.conftest import SAMPLE_DATA

HOSTILE_SOURCE = "</details><script>alert(1)</script><!-- synthscope:end -->*x*|y"
HOSTILE_TEXT = "<!-- synthscope:end --> </details> <script>alert('x')</script> <img src=x onerror=alert(2)> "


class EvidenceDom(HTMLParser):
    """What a reader sees in the evidence sections of a page: per source, its summary, marks, examples,
    features and duplicate members (a light DOM walk; enough to check structure and text)."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[dict[str, Any]] = []
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script":
            self.scripts += 1
        if tag == "details" and a.get("id", "").startswith("evidence-"):
            self.sources.append({"summary": "", "marks": [], "most": 0, "least": 0, "members": 0, "features": 0, "svg": 0})
        if self.sources and self._inside_evidence():
            current = self.sources[-1]
            cls = a.get("class", "")
            if tag == "mark":
                current["marks"].append({"title": a.get("title", ""), "text": ""})
            if tag == "div" and cls == "member":
                current["members"] += 1
            if tag == "li":
                current["features"] += 1
            if tag == "svg":
                current["svg"] += 1
        if tag not in ("br", "img", "input", "meta", "rect", "polyline", "path"):
            self.stack.append((tag, a))

    def handle_endtag(self, tag: str) -> None:
        if tag not in (t for t, _ in self.stack):  # a void or self-closed element (never pushed)
            return
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.sources or not self._inside_evidence():
            return
        current = self.sources[-1]
        tags = [t for t, _ in self.stack]
        if "summary" in tags:
            current["summary"] += data
        if tags and tags[-1] == "mark":
            current["marks"][-1]["text"] += data
        if tags and tags[-1] == "div" and self.stack[-1][1].get("class") == "ev-meta":
            if data.startswith("Most machine-like · score"):
                current["most"] += 1
            if data.startswith("Least machine-like · score"):
                current["least"] += 1

    def _inside_evidence(self) -> bool:
        return any(t == "details" and a.get("id", "").startswith("evidence-") for t, a in self.stack)


def evidence_of(page: str) -> EvidenceDom:
    dom = EvidenceDom()
    dom.feed(page)
    return dom


def assert_full_evidence(page: str, report: dict[str, Any]) -> None:
    """Every source of the report has: an example each way, marks titled by a span feature, top features
    and its largest duplicate cluster with two members side by side."""
    dom = evidence_of(page)
    names = [s["source"] for s in report["sources"]]
    assert len(dom.sources) == len(names)
    for name, shown in zip(names, dom.sources):
        assert shown["summary"].startswith(name), (name, shown["summary"])
        assert shown["most"] >= 1 and shown["least"] >= 1, name
        assert shown["marks"], name
        for mark in shown["marks"]:
            assert mark["text"] and set(mark["title"].split(", ")) <= set(SPAN_FEATURES), mark
        assert shown["features"] >= 3, name
        assert shown["members"] == 2, name
        assert shown["svg"] >= 1, name


@pytest.fixture(scope="module")
def sample_report() -> dict[str, Any]:
    return run_audit([str(SAMPLE_DATA / "web_corpus.parquet")], AuditConfig(by="domain", diversity=False))


def test_highlight_nests_overlapping_spans_and_escapes_every_piece() -> None:
    text = "<b>Additionally</b>, delve & more"
    spans = [{"feature": "transition_rate", "start": 3, "end": 15}, {"feature": "kobak_style_rate", "start": 3, "end": 15},
             {"feature": "kobak_style_rate", "start": 21, "end": 26}, {"feature": "hc3_chatgpt_phrases", "start": 21, "end": 33}]
    out = highlight(text, spans, text_html, lambda f, p: f"[{','.join(f)}:{p}]")
    assert out == "&lt;b&gt;[kobak_style_rate,transition_rate:Additionally]&lt;/b&gt;, [hc3_chatgpt_phrases,kobak_style_rate:delve][hc3_chatgpt_phrases: &amp; more]"


def test_html_evidence_for_every_sample_source(sample_report: dict[str, Any]) -> None:
    section = evidence_html(sample_report)
    assert_full_evidence(section, sample_report)
    first = sample_report["sources"][0]["examples"]["most_synthetic"][0]
    span = first["spans"][0]
    assert html.escape(first["preview"][span["start"] : span["end"]]) in section


def test_markdown_evidence_blocks_are_collapsed_and_short(sample_report: dict[str, Any]) -> None:
    lines = evidence_markdown(sample_report)
    text = "\n".join(lines)
    assert text.count("<details><summary>Evidence: ") == len(sample_report["sources"]) == text.count("</details>")
    assert text.count("*Most machine-like* (score") == text.count("*Least machine-like* (score") == len(sample_report["sources"])
    assert "**" in text and "Pushes the score up:" in text
    assert max(len(line) for line in lines) < 700
    assert "### Evidence per source" in render_section(sample_report)


def _hostile_corpus(tmp_path: Path) -> Path:
    frame = pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet").head(80)
    hostile = frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 40).then(pl.lit(HOSTILE_SOURCE)).otherwise(pl.lit("plain.example")).alias("source"),
        (pl.lit(HOSTILE_TEXT + "Additionally, it is important to note ") + pl.col("text")).alias("text"),
    )
    copies = pl.concat([hostile.head(3), hostile.slice(40, 3)]).with_columns(pl.format("copy-{}", pl.col("id")).alias("id"))
    hostile = pl.concat([hostile, copies])
    path = tmp_path / "hostile.parquet"
    hostile.select("id", "source", "text").write_parquet(path)
    return path


def test_hostile_names_and_text_are_inert_in_html_and_markdown(tmp_path: Path) -> None:
    report = run_audit([str(_hostile_corpus(tmp_path))], AuditConfig(by="source", diversity=False, workers=1))
    assert {s["source"] for s in report["sources"]} == {HOSTILE_SOURCE, "plain.example"}
    page = render_html(report)
    assert "<script>alert" not in page and "<img src=x" not in page and "</details><script>" not in page
    dom = evidence_of(page)
    assert dom.scripts == page.count("<script")  # only the page's own scripts
    assert_full_evidence(evidence_html(report), report)
    assert any(HOSTILE_SOURCE in s["summary"] for s in dom.sources)
    section = render_section(report)
    assert "<script>" not in section and "<img" not in section and section.count(END) == 0 and section.count(BEGIN) == 0
    opened = len(re.findall(r"<details>", section))
    assert opened == len(re.findall(r"</details>", section))  # hostile text cannot close a block early


def test_card_stays_idempotent_with_evidence_of_hostile_text(tmp_path: Path, cli) -> None:
    report_dir = tmp_path / "out"
    result = cli("audit", str(_hostile_corpus(tmp_path)), "--by", "source", "--no-diversity", "-q", "-o", str(report_dir), "--format", "json")
    assert result.exit_code in (0, 1), result.output
    card = tmp_path / "README.md"
    card.write_text("# My dataset\n\nSome text.\n", encoding="utf-8")
    for _ in range(2):
        assert cli("card", str(report_dir / "report.json"), "--into", str(card)).exit_code == 0
    once = card.read_text(encoding="utf-8")
    assert cli("card", str(report_dir / "report.json"), "--into", str(card)).exit_code == 0
    assert card.read_text(encoding="utf-8") == once
    assert once.count(BEGIN) == 1 and once.count(END) == 1 and once.startswith("# My dataset")
    assert "Evidence: " in once and "<script>" not in once
    assert insert_section(once, "new") .count(END) == 1


def test_report_json_keeps_examples_only_for_the_sources_it_leads_with() -> None:
    from synthscope.report import overview as ov

    sources = [{"source": f"s{i:03d}", "documents": 1000 - i, "examples": {"most_synthetic": [], "least_synthetic": []}} for i in range(100)]
    overview = ov.overview_of(sources)
    dropped = ov.keep_examples_of_leading(sources, overview)
    kept = [s["source"] for s in sources if "examples" in s]
    assert kept == overview["largest"] + overview["most_synthetic"] + overview["most_duplicated"] and dropped == 100 - len(kept)
