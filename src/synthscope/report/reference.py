"""Synthetic fraction against a reference: mixture MLE on score histograms, with a bootstrap interval.

A source's document scores are modelled as a mixture (1 - a) * H + a * S of a human score
distribution H and a synthetic one S, both given as histograms on score bins. The mixing weight a is
found by maximum likelihood on the binned counts (the log-likelihood is concave in a, so a vectorised
bisection on its derivative finds it), and its interval by a bootstrap that resamples the target's
counts and, since a baseline snapshot is a finite sample too, the human reference's counts.

`--baseline-is-human` uses this with H = the baseline report's histogram of the same source and
S = the calibration profile's synthetic histogram (`summary.detect.profile_histograms`), so the
estimate is "excess over this source's own pre-LLM writing".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from synthscope.errors import InputError, UsageError

METHOD = "mle-baseline-reference"
UNIFORM_SHARE = 1e-3  # mixed into reference densities so an empty bin does not make the likelihood -inf
MIN_DOCUMENTS = 30
BANDWIDTH_BINS = 1.5  # reference smoothing used by --baseline-is-human (detect's 80 logit bins)  # below this (target or reference) an estimate is flagged low_confidence
_BISECTION_STEPS = 40


@dataclass(frozen=True)
class Histogram:
    """Counts of scores in bins: len(counts) == len(bin_edges) - 1."""

    bin_edges: np.ndarray
    counts: np.ndarray

    def __post_init__(self) -> None:
        if self.bin_edges.ndim != 1 or len(self.bin_edges) < 2 or len(self.counts) != len(self.bin_edges) - 1:
            raise InputError(f"score histogram needs len(counts) == len(bin_edges) - 1, got {len(self.counts)} and {len(self.bin_edges)}")
        if np.any(np.diff(self.bin_edges) <= 0) or np.any(self.counts < 0):
            raise InputError("score histogram needs increasing bin edges and non-negative counts")

    @classmethod
    def from_dict(cls, data: dict[str, Any], counts_key: str = "counts") -> Histogram:
        """From a report's {bin_edges, counts} object (or another counts key)."""
        return cls(np.asarray(data["bin_edges"], dtype=float), np.asarray(data[counts_key], dtype=float))

    @classmethod
    def from_scores(cls, scores: np.ndarray, bin_edges: np.ndarray) -> Histogram:
        """Bin raw scores; scores outside the edges go to the first or last bin."""
        clipped = np.clip(np.asarray(scores, dtype=float), bin_edges[0], bin_edges[-1])
        counts, _ = np.histogram(clipped, bins=bin_edges)
        return cls(np.asarray(bin_edges, dtype=float), counts.astype(float))

    def to_dict(self) -> dict[str, list[float]]:
        """The report's {bin_edges, counts} object."""
        return {"bin_edges": [float(e) for e in self.bin_edges], "counts": [float(c) for c in self.counts]}

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def quantile(self, q: float) -> float:
        """The q-quantile, with mass spread uniformly inside each bin."""
        cdf = np.concatenate([[0.0], np.cumsum(self.counts)]) / max(self.total, 1e-12)
        return float(np.interp(q, cdf, self.bin_edges))

    def shifted(self, delta: float) -> Histogram:
        """The distribution moved by `delta` on the score axis, on the same edges (overflow in end bins)."""
        moved = Histogram(self.bin_edges + delta, self.counts)
        out = moved.rebin(self.bin_edges).counts.copy()
        out[0] += max(self.total - out.sum(), 0.0) if delta < 0 else 0.0
        out[-1] += max(self.total - out.sum(), 0.0)
        return Histogram(self.bin_edges, out)

    def rebin(self, edges: np.ndarray) -> Histogram:
        """The same distribution on other edges (mass spread uniformly inside each bin)."""
        if len(edges) == len(self.bin_edges) and np.allclose(edges, self.bin_edges):
            return self
        cdf = np.concatenate([[0.0], np.cumsum(self.counts)])
        at = np.interp(np.clip(edges, self.bin_edges[0], self.bin_edges[-1]), self.bin_edges, cdf)
        return Histogram(np.asarray(edges, dtype=float), np.diff(at))


def smooth(counts: np.ndarray, bandwidth_bins: float) -> np.ndarray:
    """Gaussian smoothing across bins (edges reflected inward); works on (..., bins) arrays."""
    if bandwidth_bins <= 0:
        return counts
    bins = counts.shape[-1]
    offsets = np.arange(-int(4 * bandwidth_bins) - 1, int(4 * bandwidth_bins) + 2)
    weights = np.exp(-0.5 * (offsets / bandwidth_bins) ** 2)
    idx = np.clip(np.arange(bins)[:, None] + offsets[None, :], 0, bins - 1)
    return np.einsum("...bk,k->...b", counts[..., idx], weights)


def _densities(counts: np.ndarray, bandwidth_bins: float = 0.0) -> np.ndarray:
    """Bin probabilities (optionally smoothed) with a small uniform share mixed in; (..., bins) arrays."""
    counts = smooth(counts, bandwidth_bins)
    shares = counts / np.maximum(counts.sum(axis=-1, keepdims=True), 1e-12)
    return (1 - UNIFORM_SHARE) * shares + UNIFORM_SHARE / counts.shape[-1]


def mixture_mle(counts: np.ndarray, human: np.ndarray, synthetic: np.ndarray) -> np.ndarray:
    """Maximum-likelihood mixing weight per row of `counts` (..., bins) given bin probabilities.

    `human` and `synthetic` broadcast against `counts`. The derivative of the log-likelihood,
    sum n_b (s_b - h_b) / ((1 - a) h_b + a s_b), falls monotonically in a, so bisection finds its root.
    """
    diff = synthetic - human

    def slope(a: np.ndarray) -> np.ndarray:
        mix = human + a[..., None] * diff
        return (counts * diff / mix).sum(axis=-1)

    shape = np.broadcast_shapes(counts.shape, human.shape, synthetic.shape)[:-1]
    lo, hi = np.zeros(shape), np.ones(shape)
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        rising = slope(mid) > 0
        lo = np.where(rising, mid, lo)
        hi = np.where(rising, hi, mid)
    estimate = (lo + hi) / 2
    estimate = np.where(slope(np.zeros(shape)) <= 0, 0.0, estimate)
    return np.where(slope(np.ones(shape)) >= 0, 1.0, estimate)


def estimate_with_reference(
    human: Histogram,
    synthetic: Histogram,
    target: Histogram | np.ndarray,
    *,
    confidence: float = 0.9,
    n_boot: int = 1000,
    seed: int = 1,
    resample_human: bool = True,
    min_documents: int = MIN_DOCUMENTS,
    method: str = METHOD,
    calibration_human: Histogram | None = None,
    bandwidth_bins: float = 0.0,
) -> dict[str, Any]:
    """Synthetic fraction of `target` (a histogram, or raw scores) against human/synthetic references.

    With `calibration_human` (the human histogram the synthetic reference was calibrated with), the
    synthetic reference is moved by the shift of the median from it to `human`: a domain that scores
    higher than the calibration text for its human writing is assumed to do so for machine text too.
    Returns the report's `synthetic_fraction` object: estimate, ci_low, ci_high, confidence, method,
    low_confidence, reference_documents. Histograms on different edges are rebinned onto the target's;
    `bandwidth_bins` > 0 smooths the reference histograms (fine bins, small baselines).
    """
    if not 0 < confidence < 1:
        raise UsageError(f"confidence must be between 0 and 1, got {confidence}")
    if not isinstance(target, Histogram):
        target = Histogram.from_scores(np.asarray(target), human.bin_edges)
    edges = target.bin_edges
    human, synthetic = human.rebin(edges), synthetic.rebin(edges)
    if human.total <= 0 or synthetic.total <= 0:
        raise InputError("a reference score histogram is empty")
    if calibration_human is not None and calibration_human.total > 0:
        synthetic = synthetic.shifted(human.quantile(0.5) - calibration_human.rebin(edges).quantile(0.5))
    n = int(round(target.total))
    h, s = _densities(human.counts, bandwidth_bins), _densities(synthetic.counts, bandwidth_bins)
    result: dict[str, Any] = {
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "confidence": confidence,
        "method": method,
        "low_confidence": True,
        "reference_documents": int(round(human.total)),
    }
    if n == 0:
        return result
    estimate = float(mixture_mle(target.counts, h, s))
    rng = np.random.default_rng(seed)
    boot_counts = rng.multinomial(n, target.counts / target.total, size=n_boot).astype(float)
    if resample_human:
        n_human = max(int(round(human.total)), 1)
        h_boot = _densities(rng.multinomial(n_human, human.counts / human.total, size=n_boot).astype(float), bandwidth_bins)
    else:
        h_boot = h[None, :]
    boots = mixture_mle(boot_counts, h_boot, s[None, :])
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(boots, [tail, 1 - tail])
    result.update(
        estimate=estimate,
        ci_low=float(min(lo, estimate)),
        ci_high=float(max(hi, estimate)),
        low_confidence=bool(n < min_documents or human.total < min_documents),
    )
    return result


def profile_histogram(report: dict[str, Any], key: str = "synthetic") -> Histogram | None:
    """The calibration profile's `key` ('human' or 'synthetic') histogram from `summary.detect.profile_histograms`."""
    hists = report.get("summary", {}).get("detect", {}).get("profile_histograms")
    if not isinstance(hists, dict) or key not in hists:
        return None
    return Histogram.from_dict(hists, key)


def apply_baseline_reference(
    report: dict[str, Any],
    baseline: dict[str, Any],
    *,
    confidence: float | None = None,
    seed: int | None = None,
    bandwidth_bins: float = BANDWIDTH_BINS,
) -> list[str]:
    """Re-estimate each source's synthetic fraction with the baseline's histogram as human reference.

    The calibration estimate moves to `synthetic_fraction_default`. Returns warnings for sources
    that keep the calibration estimate (no baseline histogram for them).
    """
    synthetic = profile_histogram(report) or profile_histogram(baseline)
    calibration_human = profile_histogram(report, "human") or profile_histogram(baseline, "human")
    if synthetic is None or not any("score_histogram" in s for s in report["sources"]):
        raise UsageError(
            "--baseline-is-human needs the detect analyzer's score histograms: per-source 'score_histogram' "
            "and 'summary.detect.profile_histograms' in the report"
        )
    if confidence is None:
        confidence = float(report.get("summary", {}).get("detect", {}).get("confidence") or 0.9)
    if seed is None:
        seed = int(report.get("options", {}).get("seed", 1))
    reference = {s["source"]: s["score_histogram"] for s in baseline["sources"] if "score_histogram" in s}
    warnings: list[str] = []
    used: list[str] = []
    for source in report["sources"]:
        name = source["source"]
        if "score_histogram" not in source:
            warnings.append(f"{name}: no score histogram; synthetic fraction not re-estimated")
            continue
        if name not in reference or Histogram.from_dict(reference[name]).total == 0:
            warnings.append(f"{name}: not in the human baseline; keeps the calibration-profile estimate")
            continue
        estimate = estimate_with_reference(
            Histogram.from_dict(reference[name]),
            synthetic,
            Histogram.from_dict(source["score_histogram"]),
            confidence=confidence,
            seed=seed,
            calibration_human=calibration_human,
            bandwidth_bins=bandwidth_bins,
        )
        if "synthetic_fraction" in source:
            source["synthetic_fraction_default"] = source["synthetic_fraction"]
        source["synthetic_fraction"] = estimate
        used.append(name)
    report.setdefault("baseline", {})["reference_sources"] = used
    return warnings
