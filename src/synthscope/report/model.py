"""Build the JSON report: the versioned record that renderings and CI checks read."""

from __future__ import annotations

import datetime as dt
import platform
from typing import Any

from synthscope import __version__
from synthscope.analyzer import Analyzer, AnalyzerResult
from synthscope.io.accounting import Accounting
from synthscope.report.metrics import set_corpus_synthetic_fraction

SCHEMA_VERSION = "1.4"  # 1.4: strict sources (no undeclared property; analyzer fields required when the analyzer ran), summary.detect.synthetic_fraction = the document-weighted mean of the sources; 1.1: score_histogram, baseline, comparison, checks; 1.2: languages, tokenization, documents_used/unsupported, reason, other_language; 1.3: examples, largest_clusters[0].members, top_features[].plain


def build_report(
    *,
    options: dict[str, Any],
    source_spec: str,
    inputs: list[dict[str, Any]],
    ignored_files: list[str],
    accounting: Accounting,
    analyzers: list[Analyzer[Any]],
    results: dict[str, AnalyzerResult],
    timings: dict[str, Any],
) -> dict[str, Any]:
    """Assemble the report; each analyzer's per-source fields are merged into `sources[]` objects."""
    ordered = merged_sources(results)
    report = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "synthscope", "version": __version__, "python": platform.python_version()},
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "options": options,
        "source_definition": source_spec,
        "analyzers": {a.name: a.options() for a in analyzers},
        "inputs": inputs,
        "ignored_files": ignored_files,
        "totals": {**accounting.totals.as_dict(), "sources": len(ordered)},
        "malformed_examples": accounting.malformed_locations,
        "warnings": accounting.warnings,
        "summary": {name: r.summary for name, r in results.items() if r.summary},
        "sources": ordered,
        "timings": timings,
    }
    set_corpus_synthetic_fraction(report)
    return report


def merged_sources(results: dict[str, AnalyzerResult]) -> list[dict[str, Any]]:
    """The report's `sources`: every analyzer's per-source fields merged (in analyzer order) into one object
    per source, largest first (then by name)."""
    sources: dict[str, dict[str, Any]] = {}
    for name in results:
        for source, fields in results[name].per_source.items():
            sources.setdefault(source, {"source": source}).update(fields)
    return sorted(sources.values(), key=lambda s: (-int(s.get("documents", 0)), s["source"]))
