"""Per-source deltas between a baseline report and a new one."""

from __future__ import annotations

from typing import Any

from synthscope.report.metrics import COMPARED, metric_value


def _delta(old: float | None, new: float | None) -> dict[str, float | None]:
    delta = None if old is None or new is None else new - old
    relative = None if delta is None or old == 0 else delta / abs(old)  # type: ignore[operator]
    return {"old": old, "new": new, "delta": delta, "relative": relative}


def compare_reports(old: dict[str, Any], new: dict[str, Any], metrics: tuple[str, ...] = COMPARED) -> dict[str, Any]:
    """The report's `comparison` object: each source of either report with old/new/delta per metric."""
    old_sources = {s["source"]: s for s in old["sources"]}
    new_sources = {s["source"]: s for s in new["sources"]}
    paths = tuple(dict.fromkeys(("documents", *metrics)))
    rows = []
    for name in [*new_sources, *(n for n in old_sources if n not in new_sources)]:
        a, b = old_sources.get(name), new_sources.get(name)
        status = "both" if a is not None and b is not None else "added" if a is None else "removed"
        rows.append(
            {
                "source": name,
                "status": status,
                "metrics": {
                    p: _delta(None if a is None else metric_value(a, p), None if b is None else metric_value(b, p))
                    for p in paths
                },
            }
        )
    return {"old": _identity(old), "new": _identity(new), "sources": rows}


def _identity(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "created_at": report.get("created_at"),
        "tool_version": report.get("tool", {}).get("version"),
        "documents": report.get("totals", {}).get("analysed"),
        "sources": len(report["sources"]),
    }
