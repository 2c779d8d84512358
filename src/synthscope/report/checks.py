"""CI checks: thresholds per metric (optionally per source) and baseline regressions, with exit codes.

Every check records the value compared, the threshold and the baseline value used. A metric a
check needs that is missing (the analyzer did not run, or could not compute it) fails the check,
except a diversity metric of a source too small to be measured (`--diversity-min-docs`): that
check warns ("not checked") and does not fail.
Exit code 0 when nothing failed (warnings allowed), 1 when a check at level 'error' failed.
"""

from __future__ import annotations

from typing import Any

from synthscope.report.config import CheckSettings
from synthscope.report.metrics import NEAR_DUP, SYNTHETIC, label, metric_value


def _record(
    check: str,
    metric: str,
    source: str | None,
    op: str,
    value: float | None,
    threshold: float,
    *,
    baseline: float | None = None,
    level: str = "error",
    missing: str | None = None,
) -> dict[str, Any]:
    if value is None:
        status = "fail" if level == "error" else "warn"
        message = missing or f"{label(metric)} is missing: the check cannot pass"
    else:
        ok = value <= threshold if op == "<=" else value >= threshold
        status = "pass" if ok else ("fail" if level == "error" else "warn")
        message = f"{label(metric)} {value:.4g} {op if ok else ('>' if op == '<=' else '<')} {threshold:.4g}"
    return {
        "check": check,
        "metric": metric,
        "source": source,
        "op": op,
        "value": value,
        "threshold": threshold,
        "baseline": baseline,
        "status": status,
        "level": level,
        "message": message,
    }


def unsupported_reason(source: dict[str, Any]) -> str | None:
    """Why the source's synthetic fraction is null, as a sentence (None when it is not null for a
    reason the detector gave, e.g. `unsupported_language`)."""
    sf = source.get("synthetic_fraction")
    if not isinstance(sf, dict) or sf.get("estimate") is not None or not sf.get("reason"):
        return None
    langs = ", ".join(f"{l['language']} {100 * l['share']:.0f}%" for l in source.get("languages", [])[:3])
    return (
        f"synthetic fraction is null ({sf['reason']}: {sf.get('documents_unsupported', 0):,} of "
        f"{sf.get('documents_unsupported', 0) + sf.get('documents_used', 0):,} documents are in languages the calibration "
        f"profile does not cover{'; ' + langs if langs else ''})"
    )


def not_measured_reason(source: dict[str, Any], path: str) -> str | None:
    """Why a `diversity.*` metric of the source is null when the source was too small to be measured
    (None for any other metric or reason)."""
    if not path.startswith("diversity."):
        return None
    reason = (source.get("diversity") or {}).get("not_measured")
    return reason if isinstance(reason, str) else None


def _synthetic_record(check: str, path: str, source: dict[str, Any], value: float | None, threshold: float, s: CheckSettings, **kw: Any) -> dict[str, Any]:
    """A check on the synthetic fraction: a null estimate fails with the detector's reason, or warns
    when the settings allow unsupported languages."""
    reason = unsupported_reason(source) if value is None else None
    if reason is None:
        return _record(check, path, source["source"], "<=", value, threshold, **kw)
    if s.allow_unsupported_language:
        kw["level"] = "warn"
        reason += "; not checked (allow_unsupported_language)"
    return _record(check, path, source["source"], "<=", None, threshold, **{**kw, "missing": reason})


def _threshold_checks(source: dict[str, Any], s: CheckSettings) -> list[dict[str, Any]]:
    name = source["source"]
    out = []
    if s.fail_on_synthetic is not None:
        path = f"synthetic_fraction.{s.synthetic_bound}"
        out.append(_synthetic_record("fail_on_synthetic", path, source, metric_value(source, path), s.fail_on_synthetic, s))
    if s.fail_on_near_dup is not None:
        out.append(_record("fail_on_near_dup", NEAR_DUP, name, "<=", metric_value(source, NEAR_DUP), s.fail_on_near_dup))
    for path, rule in s.metrics.items():
        value = metric_value(source, path)
        reason = unsupported_reason(source) if value is None and path.startswith("synthetic_fraction") else None
        level = "warn" if reason and s.allow_unsupported_language else rule.level
        if reason and s.allow_unsupported_language:
            reason += "; not checked (allow_unsupported_language)"
        small = not_measured_reason(source, path) if value is None else None
        if small:
            level, reason = "warn", f"{label(path)} not checked: {small}"
        if rule.max is not None:
            out.append(_record("metric", path, name, "<=", value, rule.max, level=level, missing=reason))
        if rule.min is not None:
            out.append(_record("metric", path, name, ">=", value, rule.min, level=level, missing=reason))
    return out


def _baseline_checks(
    source: dict[str, Any], old: dict[str, Any], s: CheckSettings, baseline_is_human: bool
) -> list[dict[str, Any]]:
    name = source["source"]
    out = []
    if s.max_synthetic_increase is not None:
        new_value = metric_value(source, SYNTHETIC)
        against_human = baseline_is_human and source.get("synthetic_fraction", {}).get("method") == "mle-baseline-reference"
        old_value = 0.0 if against_human else metric_value(old, SYNTHETIC)
        rise = None if new_value is None or old_value is None else new_value - old_value
        missing = None
        if rise is None:
            where = "in this report" if new_value is None else "in the baseline"
            missing = f"synthetic fraction is missing {where}: the rise cannot be computed"
        if new_value is None and unsupported_reason(source):
            out.append(_synthetic_record("max_synthetic_increase", SYNTHETIC, source, None, s.max_synthetic_increase, s, baseline=old_value))
        else:
            out.append(
                _record("max_synthetic_increase", SYNTHETIC, name, "<=", rise, s.max_synthetic_increase, baseline=old_value, missing=missing)
            )
    if s.max_diversity_drop is not None:
        for metric in s.diversity_metrics:
            path = f"diversity.{metric}"
            new_value, old_value = metric_value(source, path), metric_value(old, path)
            drop = None
            missing = None
            level = "error"
            small = not_measured_reason(source, path) if new_value is None else not_measured_reason(old, path) if old_value is None else None
            if small:
                where = "in this report" if new_value is None else "in the baseline"
                level, missing = "warn", f"{label(path)} not checked: {small} {where}"
            elif new_value is None or old_value is None:
                where = "in this report" if new_value is None else "in the baseline"
                missing = f"{label(path)} is missing {where}: the drop cannot be computed"
            elif old_value == 0:
                missing = f"{label(path)} is 0 in the baseline: a relative drop is undefined"
            else:
                drop = (old_value - new_value) / abs(old_value)
            out.append(_record("max_diversity_drop", path, name, "<=", drop, s.max_diversity_drop, baseline=old_value, level=level, missing=missing))
    return out


def run_checks(
    report: dict[str, Any],
    settings: CheckSettings,
    baseline: dict[str, Any] | None = None,
    *,
    baseline_is_human: bool = False,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """The report's `checks` object: one record per (rule, source[, metric]), overall status and exit code."""
    results: list[dict[str, Any]] = []
    notes = list(warnings or [])
    old_sources = {s["source"]: s for s in baseline["sources"]} if baseline is not None else {}
    if settings.any_rule and not report["sources"]:
        results.append(_record("sources", "documents", None, ">=", None, 1, missing="the report has no sources to check"))
    if baseline is None and settings.any_baseline_rule:
        notes.append("baseline rules are set but no baseline report was given: they were not checked")
    for source in report["sources"]:
        name = source["source"]
        s = settings.for_source(name)
        results += _threshold_checks(source, s)
        sf = source.get("synthetic_fraction", {})
        if sf.get("low_confidence") and not sf.get("reason") and s.fail_on_synthetic is not None:
            notes.append(f"{name}: synthetic fraction is low-confidence (few documents)")
        if baseline is None:
            continue
        if name not in old_sources:
            if s.any_baseline_rule:
                notes.append(f"{name}: not in the baseline; no regression checked")
            continue
        results += _baseline_checks(source, old_sources[name], s, baseline_is_human)
    report_names = {s["source"] for s in report["sources"]}
    notes += [f"{n}: a per-source rule names this source, but the report has no such source" for n in settings.sources if n not in report_names]
    if baseline is not None and settings.any_baseline_rule:
        new_names = report_names
        notes += [f"{n}: in the baseline but not in this report" for n in old_sources if n not in new_names]
    failed = any(r["status"] == "fail" for r in results)
    warned = bool(notes) or any(r["status"] == "warn" for r in results)
    return {
        "status": "fail" if failed else "warn" if warned else "pass",
        "exit_code": 1 if failed else 0,
        "settings": settings.as_dict(),
        "results": results,
        "warnings": notes,
    }
