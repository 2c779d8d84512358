"""Turn a report into a CI verdict: baseline (optionally as human reference), deltas, checks."""

from __future__ import annotations

from typing import Any

from synthscope.errors import UsageError
from synthscope.report.checks import run_checks
from synthscope.report.compare import compare_reports
from synthscope.report.config import CheckSettings
from synthscope.report.metrics import COMPARED
from synthscope.report.reference import apply_baseline_reference


def evaluate(
    report: dict[str, Any],
    settings: CheckSettings,
    *,
    baseline: dict[str, Any] | None = None,
    baseline_label: str | None = None,
    baseline_is_human: bool = False,
    config_file: str | None = None,
    require_baseline: bool = False,
) -> dict[str, Any]:
    """Add `baseline`, `comparison` and `checks` to `report` (in place) and return it.

    With `baseline_is_human`, each source's synthetic fraction is re-estimated against the
    baseline's score histogram of the same source before the checks run. `require_baseline` (baseline
    rules given as flags) makes a missing baseline a usage error; from a config file they are skipped.
    """
    warnings: list[str] = []
    if baseline is None:
        if baseline_is_human:
            raise UsageError("--baseline-is-human needs --baseline")
        if require_baseline:
            raise UsageError("--max-synthetic-increase and --max-diversity-drop need --baseline")
    else:
        report["baseline"] = {
            "path": baseline_label or "baseline",
            "created_at": baseline.get("created_at"),
            "tool_version": baseline.get("tool", {}).get("version"),
            "is_human": baseline_is_human,
        }
        if baseline_is_human:
            warnings += apply_baseline_reference(report, baseline)
        diversity = tuple(f"diversity.{m}" for m in settings.diversity_metrics)
        report["comparison"] = compare_reports(baseline, report, tuple(dict.fromkeys((*COMPARED, *diversity))))
    if settings.any_rule or baseline is not None:
        checks = run_checks(report, settings, baseline, baseline_is_human=baseline_is_human, warnings=warnings)
        report["checks"] = {"config_file": config_file, **checks}
    return report


def exit_code(report: dict[str, Any]) -> int:
    """0 when no check failed (or none ran), 1 when one did."""
    return int(report.get("checks", {}).get("exit_code", 0))
