"""Synthetic fraction against a source's own human baseline (`--baseline-is-human`).

A source's document scores are modelled as a mixture (1 - a) * H + a * S of a human score distribution H
and a synthetic one S. Here H is the baseline snapshot's histogram of the same source (text known to
predate LLMs) and S comes from the calibration profile. The estimate is detect's maximum-likelihood
mixing weight (`detect.estimator.mle_alpha` on `detect.estimator.density` smoothed histograms).

The synthetic reference. A new domain moves human scores (the baseline's median sits `offset` logits
from the calibration human median). Whether its machine text moves with it is unknown: in the calibration
data it does not (per-domain synthetic medians do not follow the human ones), and held-out domains go
both ways. The point estimate moves S by half the offset (`SHIFT_TRANSFER`, the midpoint of "machine
text keeps its calibration scores" and "machine text moves with the domain's human text"), and the
bootstrap treats the transfer as unknown, uniform on [0, 1].

The interval is a percentile bootstrap over everything that is a finite sample or an assumption:
- the target's documents (multinomial on its histogram);
- the baseline's documents (it is a finite sample too: a small baseline gives a wide interval);
- the synthetic reference: per calibration group histograms resampled and mixed with Dirichlet weights
  (`detect.estimator.Densities.draw`, as the default estimator does), moved by a random transfer;
then widened in quadrature by the profile's measured cross-domain synthetic error: leave-one-domain-out
estimates on purely synthetic held-out text miss 1 by an RMS `shift_sd["synthetic"]`, so a fraction a
may be read off by about a * shift_sd["synthetic"], applied at each end of the bootstrap interval (the human part of detect's sigma(a) is dropped: the
human reference is the source's own). Below `MIN_DOCUMENTS` documents in the target or the baseline the
estimate is flagged `low_confidence`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from synthscope.detect.estimator import MIN_DOCUMENTS, Densities, density, mle_alpha
from synthscope.errors import InputError, UsageError

METHOD = "mle-baseline-reference"
SHIFT_TRANSFER = 0.5  # share of the baseline's human offset applied to the synthetic reference (point estimate)
N_BOOT = 400
# prior mass of the baseline's density, in documents, spread evenly over the bins (detect's density adds
# 0.5 per bin, sized for calibration histograms of hundreds of documents: on a 30-document baseline that
# would make the human reference mostly uniform and any peaked synthetic reference would win)
BASELINE_PRIOR_DOCUMENTS = 1.0


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


def _groups(ref: Histogram | Sequence[Histogram], edges: np.ndarray) -> Densities:
    """Per-group reference histograms on `edges` (one histogram = one group)."""
    refs = [ref] if isinstance(ref, Histogram) else list(ref)
    rows = [h.rebin(edges).counts for h in refs if h.total > 0]
    if not rows:
        raise InputError("a reference score histogram is empty")
    return Densities(np.vstack(rows))


def _median(dens: np.ndarray, edges: np.ndarray) -> float:
    """Median of a bin-probability vector (mass spread uniformly inside each bin)."""
    cdf = np.concatenate([[0.0], np.cumsum(dens)]) / dens.sum()
    return float(np.interp(0.5, cdf, edges))


def shift_densities(dens: np.ndarray, edges: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Rows of bin probabilities moved by `deltas` on the score axis (overflow kept in the end bins)."""
    dens = np.atleast_2d(dens)
    deltas = np.broadcast_to(np.asarray(deltas, dtype=float), dens.shape[:1])
    cdf = np.concatenate([np.zeros((dens.shape[0], 1)), np.cumsum(dens, axis=1)], axis=1)
    moved = np.stack([np.interp(edges - d, edges, c) for c, d in zip(cdf, deltas)])  # one interp per replicate
    moved[:, 0], moved[:, -1] = 0.0, cdf[:, -1]
    out = np.diff(moved, axis=1) + 1e-9  # no empty bin: a zero density would make the likelihood -inf
    return out / out.sum(axis=1, keepdims=True)


def estimate_with_reference(
    human: Histogram,
    synthetic: Histogram | Sequence[Histogram],
    target: Histogram | np.ndarray,
    *,
    confidence: float = 0.9,
    n_boot: int = N_BOOT,
    seed: int = 1,
    resample_human: bool = True,
    min_documents: int = MIN_DOCUMENTS,
    method: str = METHOD,
    calibration_human: Histogram | Sequence[Histogram] | None = None,
    synthetic_shift_sd: float = 0.0,
    shift_transfer: float = SHIFT_TRANSFER,
) -> dict[str, Any]:
    """Synthetic fraction of `target` (a histogram, or raw scores) with `human` as its human reference.

    `synthetic` is the calibration's synthetic histogram, or one per calibration group (resampled and
    mixed in the bootstrap). With `calibration_human` (the calibration's human histogram(s)), the
    synthetic reference is moved by `shift_transfer` times the baseline's median offset from it, the
    bootstrap drawing the transfer uniformly on [0, 1]. `synthetic_shift_sd` (the profile's
    `shift_sd["synthetic"]`) widens each end of the bootstrap interval by z * end * sd in quadrature.
    Returns the report's `synthetic_fraction` object: estimate, ci_low, ci_high, confidence, method,
    low_confidence, reference_documents. Histograms on other edges are rebinned onto the target's.
    """
    if not 0 < confidence < 1:
        raise UsageError(f"confidence must be between 0 and 1, got {confidence}")
    if not isinstance(target, Histogram):
        target = Histogram.from_scores(np.asarray(target), human.bin_edges)
    edges = target.bin_edges
    human = human.rebin(edges)
    if human.total <= 0:
        raise InputError("a reference score histogram is empty")
    synth = _groups(synthetic, edges)
    pseudo = BASELINE_PRIOR_DOCUMENTS / len(human.counts)
    h = density(human.counts, pseudo=pseudo)
    offset = 0.0
    if calibration_human is not None:
        offset = _median(h, edges) - _median(_groups(calibration_human, edges).pooled(), edges)
    n, n_human = int(round(target.total)), int(round(human.total))
    result: dict[str, Any] = {
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "confidence": confidence,
        "method": method,
        "low_confidence": True,
        "reference_documents": n_human,
    }
    if n == 0:
        return result
    s = shift_densities(synth.pooled(), edges, shift_transfer * offset)
    estimate = float(mle_alpha(target.counts, h, s)[0])
    rng = np.random.default_rng(seed)
    boot_counts = rng.multinomial(n, target.counts / target.total, size=n_boot).astype(float)
    h_boot = density(rng.multinomial(n_human, human.counts / human.total, size=n_boot).astype(float), pseudo=pseudo) if resample_human else h
    s_boot = shift_densities(synth.draw(rng, n_boot), edges, rng.uniform(0.0, 1.0, n_boot) * offset)
    boots = mle_alpha(boot_counts, h_boot, s_boot)
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(boots, [tail, 1 - tail])
    # synthetic-reference error ~ a * sd, at the interval's own ends (a truth near the upper end may be
    # read low by hi * sd: evaluating at the estimate would give no room above an estimate of 0)
    z = NormalDist().inv_cdf(1 - tail)
    ci_low = estimate - float(np.hypot(max(estimate - lo, 0.0), z * lo * synthetic_shift_sd))
    ci_high = estimate + float(np.hypot(max(hi - estimate, 0.0), z * hi * synthetic_shift_sd))
    result.update(
        estimate=round(estimate, 4),
        ci_low=round(max(ci_low, 0.0), 4),
        ci_high=round(min(ci_high, 1.0), 4),
        low_confidence=bool(n < min_documents or human.total < min_documents),
    )
    return result


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
            synthetic_shift_sd=shift_sd,
        )
        if "synthetic_fraction" in source:
            source["synthetic_fraction_default"] = source["synthetic_fraction"]
        source["synthetic_fraction"] = estimate
        used.append(name)
    report.setdefault("baseline", {})["reference_sources"] = used
    return warnings
