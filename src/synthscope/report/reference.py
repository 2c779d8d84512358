"""`--baseline-is-human`: re-estimate each source of a report against the baseline report's histogram of
the same source. The estimator itself lives in `synthscope.detect.reference`."""

from __future__ import annotations

from typing import Any

import numpy as np

from synthscope.detect.reference import Histogram, estimate_with_reference
from synthscope.errors import UsageError
from synthscope.report.metrics import set_corpus_synthetic_fraction

__all__ = ["Histogram", "apply_baseline_reference", "estimate_with_reference", "profile_histogram", "profile_references"]

MAX_NAMED = 20  # sources named one by one in a warning; the others are counted


def profile_histogram(report: dict[str, Any], key: str = "synthetic") -> Histogram | None:
    """The calibration profile's `key` ('human' or 'synthetic') histogram from `summary.detect.profile_histograms`."""
    hists = report.get("summary", {}).get("detect", {}).get("profile_histograms")
    if not isinstance(hists, dict) or key not in hists:
        return None
    return Histogram.from_dict(hists, key)


def profile_references(report: dict[str, Any], key: str) -> list[Histogram] | None:
    """The profile's per-group `key` histograms (`{key}_groups`), else its overall one, else None."""
    hists = report.get("summary", {}).get("detect", {}).get("profile_histograms")
    if not isinstance(hists, dict):
        return None
    groups = hists.get(f"{key}_groups")
    if isinstance(groups, dict) and groups:
        edges = np.asarray(hists["bin_edges"], dtype=float)
        return [Histogram(edges, np.asarray(c, dtype=float)) for c in groups.values()]
    overall = profile_histogram(report, key)
    return None if overall is None else [overall]


def apply_baseline_reference(
    report: dict[str, Any],
    baseline: dict[str, Any],
    *,
    confidence: float | None = None,
    seed: int | None = None,
) -> list[str]:
    """Re-estimate each source's synthetic fraction with the baseline's histogram as human reference.

    The synthetic reference (per calibration group when the report carries them), the calibration
    human histograms and the profile's cross-domain synthetic error come from `summary.detect` of the
    report (or the baseline). The calibration estimate moves to `synthetic_fraction_default`. Returns
    warnings for sources that keep the calibration estimate (no baseline histogram for them).
    """
    synthetic = profile_references(report, "synthetic") or profile_references(baseline, "synthetic")
    calibration_human = profile_references(report, "human") or profile_references(baseline, "human")
    if synthetic is None or not any("score_histogram" in s for s in report["sources"]):
        raise UsageError(
            "--baseline-is-human needs the detect analyzer's score histograms: per-source 'score_histogram' "
            "and 'summary.detect.profile_histograms' in the report"
        )
    hists = report.get("summary", {}).get("detect", {}).get("profile_histograms") or {}
    shift_sd = float(hists.get("synthetic_shift_sd") or 0.0)
    if confidence is None:
        confidence = float(report.get("summary", {}).get("detect", {}).get("confidence") or 0.9)
    if seed is None:
        seed = int(report.get("options", {}).get("seed", 1))
    reference = {s["source"]: s["score_histogram"] for s in baseline["sources"] if "score_histogram" in s}
    matched = _matched_groups(hists)
    warnings: list[str] = []
    used: list[str] = []
    without_histogram = 0
    for source in report["sources"]:
        name = source["source"]
        if "score_histogram" not in source:
            without_histogram += 1
            if without_histogram <= MAX_NAMED:
                warnings.append(f"{name}: no score histogram; synthetic fraction not re-estimated")
            continue
        if name not in reference or Histogram.from_dict(reference[name]).total == 0:
            warnings.append(f"{name}: not in the human baseline; keeps the calibration-profile estimate")
            continue
        weights = _source_weights(source, matched[0]) if matched else None
        estimate = estimate_with_reference(
            Histogram.from_dict(reference[name]),
            synthetic if weights is None else matched[1],
            Histogram.from_dict(source["score_histogram"]),
            confidence=confidence,
            seed=seed,
            calibration_human=calibration_human if weights is None else matched[2],
            synthetic_shift_sd=shift_sd,
            weights=weights,
        )
        if "synthetic_fraction" in source:
            source["synthetic_fraction_default"] = source["synthetic_fraction"]
        source["synthetic_fraction"] = estimate
        used.append(name)
    if without_histogram > MAX_NAMED:
        warnings.append(
            f"... and {without_histogram - MAX_NAMED:,} more sources without a score histogram (sources under "
            f"{report.get('overview', {}).get('detail_min_documents', 30)} documents carry none): synthetic fraction not re-estimated"
        )
    report.setdefault("baseline", {})["reference_sources"] = used
    set_corpus_synthetic_fraction(report)
    return warnings


def _matched_groups(hists: dict[str, Any]) -> tuple[list[str], list[Histogram], list[Histogram]] | None:
    """The calibration groups with both a human and a synthetic histogram: names and aligned histograms."""
    human, synth = hists.get("human_groups"), hists.get("synthetic_groups")
    if not isinstance(human, dict) or not isinstance(synth, dict):
        return None
    names = [g for g in synth if g in human]
    if not names:
        return None
    edges = np.asarray(hists["bin_edges"], dtype=float)
    return (names, [Histogram(edges, np.asarray(synth[g], dtype=float)) for g in names],
            [Histogram(edges, np.asarray(human[g], dtype=float)) for g in names])


def _source_weights(source: dict[str, Any], names: list[str]) -> np.ndarray | None:
    """A source's weights over `names` from its `calibration_match` (None without one)."""
    groups = (source.get("calibration_match") or {}).get("groups")
    if not isinstance(groups, dict) or not groups:
        return None
    w = np.array([float(groups.get(g, 0.0)) for g in names])
    return w / w.sum() if w.sum() > 0 else None
