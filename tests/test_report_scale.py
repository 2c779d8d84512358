"""Reports of a long tail of sources: the record keeps every source, renderings lead with a few dozen."""

from __future__ import annotations

import base64
import copy
import gzip
import io
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from rich.console import Console

from synthscope.pipeline import AuditConfig, run_audit
from synthscope.report import overview as ov
from synthscope.report.html import render_html
from synthscope.report.markdown import render_markdown
from synthscope.report.outputs import write_outputs
from synthscope.report.terminal import render_summary


@pytest.fixture(scope="module")
def long_tail(dev_frame: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real audit of 600 sources: four of 150 documents (one of them copies), the rest of 1 to 4."""
    texts = dev_frame["text"].to_list()
    rows, at = [], 0
    for s in range(4):
        for j in range(150):
            text = texts[at % len(texts)] if s != 3 else texts[j % 20]  # source big-3: 20 texts over and over
            rows.append({"id": f"d{at}", "source": f"big-{s}", "text": text})
            at += 1
    for s in range(596):
        for _ in range(1 + s % 4):
            rows.append({"id": f"d{at}", "source": f"tail-{s:03d}", "text": texts[at % len(texts)]})
            at += 1
    path = tmp_path_factory.mktemp("tail") / "tail.parquet"
    pl.DataFrame(rows).write_parquet(path)
    return run_audit([str(path)], AuditConfig(diversity_budget_tokens=2_000, diversity_sample_docs=20, diversity_hypotheses=5, workers=1))


def test_record_keeps_every_source_and_small_ones_compact(long_tail: dict[str, Any]) -> None:
    sources = long_tail["sources"]
    assert len(sources) == 600 and long_tail["totals"]["sources"] == 600
    for s in sources:
        detailed = s["documents"] >= ov.DETAIL_MIN_DOCUMENTS
        assert ("score_histogram" in s) == detailed and ("top_features" in s) == detailed, s["source"]
        assert all(("preview" in c) == detailed for c in s["largest_clusters"]), s["source"]
        assert ("examples" in s) == (detailed and s["source"] in long_tail["overview"]["largest"]), s["source"]
        assert s["synthetic_fraction"]["estimate"] is not None and "near_duplicate_fraction" in s and "diversity" in s
    overview = long_tail["overview"]
    assert overview["largest"][:4] == ["big-0", "big-1", "big-2", "big-3"] and len(overview["largest"]) == ov.LARGEST
    assert overview["most_synthetic"] == [] or set(overview["most_synthetic"]) <= {"big-0", "big-1", "big-2", "big-3"}
    rest = overview["rest"]
    shown = {n for key in ("largest", "most_synthetic", "most_duplicated") for n in overview[key]}
    assert rest["sources"] == 600 - len(shown)
    assert rest["documents"] == sum(s["documents"] for s in sources if s["source"] not in shown)
    assert 0.0 <= rest["synthetic_fraction"]["estimate"] <= 1.0 and not rest["synthetic_fraction"]["low_confidence"]
    assert sum(overview["score_histogram"]["counts"]) == long_tail["totals"]["analysed"]


def test_renderings_lead_with_a_few_dozen_sources_and_one_line_for_the_rest(long_tail: dict[str, Any]) -> None:
    markdown = render_markdown(long_tail)
    table_rows = [line for line in markdown.splitlines() if line.startswith("| ") and not line.startswith("| Source") and not line.startswith("| ---")]
    assert len(table_rows) <= ov.LARGEST + ov.MOST_SYNTHETIC + ov.MOST_DUPLICATED
    assert re.search(r"… and [\d,]+ more sources: [\d,]+ documents; pooled synthetic fraction", markdown)
    buffer = io.StringIO()
    render_summary(long_tail, Console(file=buffer, width=200))
    out = buffer.getvalue()
    assert "more sources:" in out and "pooled synthetic fraction" in out and out.count("tail-") <= ov.LARGEST


def test_html_embeds_every_source_compactly(long_tail: dict[str, Any]) -> None:
    page = render_html(long_tail)
    packed = re.search(r'<script id="sources-gzip-base64" type="application/octet-stream">([^<]+)</script>', page)
    assert packed
    data = json.loads(gzip.decompress(base64.b64decode(packed.group(1))))
    assert [row[0] for row in data["rows"]] == [s["source"] for s in long_tail["sources"]]
    assert data["rows"][0][1] == long_tail["sources"][0]["documents"]


def test_html_stays_under_5_mb_at_50000_sources(long_tail: dict[str, Any]) -> None:
    report = copy.deepcopy(long_tail)
    template = [s for s in report["sources"] if s["documents"] < ov.DETAIL_MIN_DOCUMENTS]
    tail = []
    for i in range(50_000):
        s = copy.deepcopy(template[i % len(template)])
        s["source"] = f"www.a-rather-long-domain-name-{i:05d}.example.com"
        tail.append(s)
    report["sources"] = report["sources"][:4] + tail
    report["totals"]["sources"] = len(report["sources"])
    report["overview"] = ov.overview_of(report["sources"])
    page = render_html(report)
    assert len(page.encode("utf-8")) < 5_000_000
    assert page.count('<details id="evidence-') <= ov.LARGEST + ov.MOST_SYNTHETIC + ov.MOST_DUPLICATED
    assert page.count('class="example"') == 6 * sum("examples" in s for s in report["sources"])


def test_sources_parquet_has_one_row_per_source(long_tail: dict[str, Any], tmp_path: Path) -> None:
    write_outputs(long_tail, tmp_path, ("json", "parquet"))
    table = pl.read_parquet(tmp_path / "sources.parquet")
    assert table.height == 600 and table["source"].to_list() == [s["source"] for s in long_tail["sources"]]
    assert {"synthetic_fraction_estimate", "near_duplicate_fraction", "diversity_mattr", "language", "tokens_per_document_p50"} <= set(table.columns)
    tiny = table.filter(pl.col("documents") < ov.DETAIL_MIN_DOCUMENTS)
    assert tiny.height == 596 and tiny["top_feature"].is_null().all()
    assert table.filter(pl.col("source") == "big-3")["near_duplicate_fraction"].item() > 0.8


def test_report_json_of_many_sources_has_one_source_a_line(long_tail: dict[str, Any]) -> None:
    from synthscope.report.outputs import INDENTED_SOURCES, render_json

    report = copy.deepcopy(long_tail)
    report["sources"] = [dict(s, source=f"{s['source']}-{k}") for k in range(2) for s in long_tail["sources"]]
    assert len(report["sources"]) > INDENTED_SOURCES
    text = render_json(report)
    assert json.loads(text) == report
    source_lines = [line for line in text.splitlines() if line.startswith('    {"source":')]
    assert len(source_lines) == len(report["sources"])
    assert render_json(long_tail) == json.dumps(long_tail, indent=2, ensure_ascii=False) + "\n"  # few sources: indented
