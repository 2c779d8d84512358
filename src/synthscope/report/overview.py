"""Reports at web scale: which sources the renderings lead with, and compact records for tiny sources.

A crawl spreads over tens of thousands of sources, most with a handful of documents. report.json keeps
every source (it is the record) and sources.parquet has one row per source; the terminal table,
report.md and report.html show the sources that matter and one line for the rest:

- the LARGEST sources by documents;
- then the MOST_SYNTHETIC of the remaining sources with at least DETAIL_MIN_DOCUMENTS documents (an
  estimate on fewer documents is flagged low confidence);
- then the MOST_DUPLICATED (near-duplicate share) of the remaining sources of that size;
- and the rest as one line: sources, documents and their pooled synthetic fraction (estimated on the
  pooled score histogram of those sources, at audit time).

A corpus of at most LARGEST + MOST_SYNTHETIC + MOST_DUPLICATED sources is shown whole. Sources with
fewer than DETAIL_MIN_DOCUMENTS documents keep every figure in report.json but not the per-source
detail that is meaningless or bulky at that size: `score_histogram`, `top_features` and the document
previews of `largest_clusters` (`preview`, `members`; the clusters themselves stay: which sources a
source shares them with).
"""

from __future__ import annotations

from typing import Any

from synthscope.report.metrics import NEAR_DUP, SYNTHETIC, metric_value

LARGEST = 20
MOST_SYNTHETIC = 10
MOST_DUPLICATED = 10
DETAIL_MIN_DOCUMENTS = 30
DETAIL_FIELDS = ("score_histogram", "top_features")


def _ranked(sources: list[dict[str, Any]], path: str, taken: set[str], limit: int) -> list[str]:
    candidates = [
        s for s in sources
        if s["source"] not in taken and int(s.get("documents", 0)) >= DETAIL_MIN_DOCUMENTS and metric_value(s, path) is not None
    ]
    candidates.sort(key=lambda s: (-(metric_value(s, path) or 0.0), s["source"]))
    return [s["source"] for s in candidates[:limit] if (metric_value(s, path) or 0.0) > 0]


def select_leading(sources: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The names of the sources the renderings show, by reason (sources are largest first)."""
    if len(sources) <= LARGEST + MOST_SYNTHETIC + MOST_DUPLICATED:
        return {"largest": [s["source"] for s in sources], "most_synthetic": [], "most_duplicated": []}
    largest = [s["source"] for s in sources[:LARGEST]]
    taken = set(largest)
    synthetic = _ranked(sources, SYNTHETIC, taken, MOST_SYNTHETIC)
    taken.update(synthetic)
    duplicated = _ranked(sources, NEAR_DUP, taken, MOST_DUPLICATED)
    return {"largest": largest, "most_synthetic": synthetic, "most_duplicated": duplicated}


def overview_of(sources: list[dict[str, Any]], rest_synthetic: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `overview` section: the leading sources by reason and a summary of the rest."""
    leading = select_leading(sources)
    shown = {name for names in leading.values() for name in names}
    rest = [s for s in sources if s["source"] not in shown]
    out: dict[str, Any] = {
        **leading,
        "rest": {"sources": len(rest), "documents": sum(int(s.get("documents", 0)) for s in rest)},
        "detail_min_documents": DETAIL_MIN_DOCUMENTS,
    }
    if rest and rest_synthetic is not None:
        out["rest"]["synthetic_fraction"] = rest_synthetic
    return out


def rest_histogram(sources: list[dict[str, Any]], leading: dict[str, list[str]]) -> list[float] | None:
    """The pooled score histogram of the sources not shown (None when they carry no histogram)."""
    shown = {name for names in leading.values() for name in names}
    total: list[float] | None = None
    for s in sources:
        if s["source"] in shown or not isinstance(s.get("score_histogram"), dict):
            continue
        counts = s["score_histogram"]["counts"]
        total = list(counts) if total is None else [a + b for a, b in zip(total, counts)]
    return total


def leading_sources(report: dict[str, Any]) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """[(reason, source)] in display order, and the overview (computed when an older report lacks it)."""
    overview = report.get("overview") or overview_of(report["sources"])
    by_name = {s["source"]: s for s in report["sources"]}
    rows = [
        (reason, by_name[name])
        for reason in ("largest", "most_synthetic", "most_duplicated")
        for name in overview.get(reason, [])
        if name in by_name
    ]
    return rows, overview


def compact_small_sources(sources: list[dict[str, Any]]) -> int:
    """Drop the per-source detail of sources under DETAIL_MIN_DOCUMENTS documents; returns how many."""
    compacted = 0
    for s in sources:
        if int(s.get("documents", 0)) >= DETAIL_MIN_DOCUMENTS:
            continue
        for f in DETAIL_FIELDS:
            s.pop(f, None)
        for cluster in s.get("largest_clusters") or []:
            cluster.pop("preview", None)
            cluster.pop("members", None)  # two members' previews
        compacted += 1
    return compacted


def keep_examples_of_leading(sources: list[dict[str, Any]], overview: dict[str, Any]) -> int:
    """Drop the example documents (`examples`, the bulkiest evidence: document text) of every source the
    overview does not lead with, so report.json carries them for a few dozen sources at most; returns how many."""
    shown = {name for reason in ("largest", "most_synthetic", "most_duplicated") for name in overview.get(reason, [])}
    dropped = 0
    for s in sources:
        if s["source"] not in shown and s.pop("examples", None) is not None:
            dropped += 1
    return dropped


REASON_TITLES = {"largest": "largest", "most_synthetic": "most synthetic", "most_duplicated": "most duplicated"}


def rest_line(overview: dict[str, Any]) -> str:
    """'… and 49,960 more sources: 612,345 documents; pooled synthetic fraction 12.3% [10.1–14.5%]', or ''."""
    rest = overview.get("rest") or {}
    if not rest.get("sources"):
        return ""
    text = f"… and {rest['sources']:,} more sources: {rest['documents']:,} documents"
    sf = rest.get("synthetic_fraction")
    if isinstance(sf, dict) and sf.get("estimate") is not None:
        text += f"; pooled synthetic fraction {100 * sf['estimate']:.1f}%"
        if sf.get("ci_low") is not None and sf.get("ci_high") is not None:
            text += f" [{100 * sf['ci_low']:.1f}–{100 * sf['ci_high']:.1f}%]"
    return text + " (every source: report.json, sources.parquet)"
