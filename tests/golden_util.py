"""Golden Markdown of the sample data: how it is made and normalised (shared with scripts/regen_golden.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data" / "web_corpus.jsonl.gz"
GOLDEN = REPO / "tests" / "golden" / "sample_report.md"
CHECKS = {"fail_on_synthetic": 0.3, "fail_on_near_dup": 0.05}


def sample_markdown() -> str:
    """Audit the sample data by domain, run the golden checks, render report.md, strip volatile parts."""
    from synthscope.pipeline import AuditConfig, run_audit
    from synthscope.report.ci import evaluate
    from synthscope.report.config import CheckSettings
    from synthscope.report.markdown import render_markdown

    report: dict[str, Any] = run_audit([str(SAMPLE)], AuditConfig(by="domain"))
    evaluate(report, CheckSettings(**CHECKS))
    return strip_volatile(render_markdown(report))


def strip_volatile(markdown: str) -> str:
    """Replace dates and the tool/schema versions by placeholders."""
    markdown = re.sub(r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD", markdown)
    markdown = re.sub(r"synthscope \d+\.\d+\.\d+[a-z0-9.+-]*", "synthscope X.Y.Z", markdown)
    markdown = re.sub(r'version: "\d+\.\d+\.\d+[^"]*"', 'version: "X.Y.Z"', markdown)
    markdown = re.sub(r'schema_version: "\d+\.\d+"', 'schema_version: "N"', markdown)
    return re.sub(r"report schema \d+\.\d+", "report schema N", markdown)
