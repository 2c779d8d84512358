"""Estimate the synthetic fraction of a source from its histogram of document scores.

The fraction is the mixing weight alpha of two score densities, human p_h and synthetic p_s, taken from
the calibration profile: maximise sum_k c_k log(alpha p_s[k] + (1 - alpha) p_h[k]) over alpha in [0, 1]
(the log-likelihood is concave, so bisection on its derivative finds the maximum). Adjusted
classify-and-count ((flagged - fpr) / (tpr - fpr), Forman 2008) is the cross-check.

The interval is a percentile bootstrap that resamples documents (a multinomial draw over the score
histogram, exactly a document bootstrap of binned scores) *and* the calibration: each replicate mixes
the per-domain calibration densities with random Dirichlet weights, so the interval reflects that a new
source's human and synthetic text need not look like any one calibration domain. It is then widened in
quadrature by the profile's cross-domain shift (the error of leave-one-domain-out estimates measured at
calibration time: the quantiles of leave-one-group-out estimate errors, a split-conformal band), an
error that the document bootstrap alone cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from synthscope.detect.profile import LOGIT_EDGES, N_BINS, CalibrationProfile

METHOD = "mle-mixture"
MIN_DOCUMENTS = 30
BANDWIDTH_BINS = 1.5
PSEUDO_COUNT = 0.5


def density(hist: np.ndarray, bandwidth: float = BANDWIDTH_BINS, pseudo: float = PSEUDO_COUNT) -> np.ndarray:
    """Smoothed probabilities per bin: histogram plus a pseudo-count, Gaussian-smoothed across bins.

    Works on the last axis, so a stack of histograms gives a stack of densities; any number of bins
    (detect's are the profile's N_BINS logit bins).
    """
    hist = np.asarray(hist, dtype=np.float64)
    bins = hist.shape[-1]
    offsets = np.arange(-int(4 * bandwidth) - 1, int(4 * bandwidth) + 2)
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    idx = np.clip(np.arange(bins)[:, None] + offsets[None, :], 0, bins - 1)
    smooth = np.zeros_like(hist)
    for j, weight in enumerate(kernel):
        smooth += weight * hist[..., idx[:, j]]
    p = smooth / np.maximum(smooth.sum(axis=-1, keepdims=True), 1e-300)
    p = p + pseudo / max(float(np.asarray(hist).sum(axis=-1).mean()), 1.0)
    return p / p.sum(axis=-1, keepdims=True)


def mle_alpha(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, iterations: int = 40) -> np.ndarray:
    """Maximum-likelihood mixing weight for each row of `counts` (rows of p_h / p_s, or one shared)."""
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    p_h = np.broadcast_to(p_h, counts.shape)
    p_s = np.broadcast_to(p_s, counts.shape)
    diff = p_s - p_h

    def slope(alpha: np.ndarray) -> np.ndarray:
        return (counts * diff / (p_h + alpha[:, None] * diff)).sum(axis=1)

    lo = np.zeros(counts.shape[0])
    hi = np.ones(counts.shape[0])
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        up = slope(mid) > 0
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    alpha = 0.5 * (lo + hi)
    alpha = np.where(slope(np.zeros_like(alpha)) <= 0, 0.0, alpha)
    return np.where(slope(np.ones_like(alpha)) >= 0, 1.0, alpha)


def threshold_bin(profile: CalibrationProfile) -> int:
    """First bin at or above the profile's decision threshold."""
    logit = np.log(profile.threshold / (1 - profile.threshold))
    return int(np.clip(np.searchsorted(LOGIT_EDGES, logit - 1e-9), 0, N_BINS))


def adjusted_count(counts: np.ndarray, profile: CalibrationProfile) -> tuple[float, float]:
    """(flagged fraction, adjusted classify-and-count estimate) of one score histogram."""
    t = threshold_bin(profile)
    human = np.asarray(profile.human_hist)
    synth = np.asarray(profile.synthetic_hist)
    fpr = human[t:].sum() / human.sum()
    tpr = synth[t:].sum() / synth.sum()
    flagged = float(counts[t:].sum() / max(counts.sum(), 1))
    if tpr - fpr < 1e-6:
        return flagged, flagged
    return flagged, float(np.clip((flagged - fpr) / (tpr - fpr), 0.0, 1.0))


@dataclass
class Densities:
    """Per-group calibration histograms of one class (one row per calibration domain)."""

    groups: np.ndarray  # (G, K)

    @classmethod
    def of(cls, overall: list[float], by_group: dict[str, list[float]]) -> Densities:
        rows = [np.asarray(h, dtype=np.float64) for h in by_group.values() if sum(h) > 0]
        return cls(np.vstack(rows) if rows else np.asarray(overall, dtype=np.float64)[None, :])

    def pooled(self) -> np.ndarray:
        """Equal-weight mixture of the groups' densities."""
        return density(self.groups).mean(axis=0)

    def draw(self, rng: np.random.Generator, replicates: int) -> np.ndarray:
        """Replicate densities: groups resampled (multinomial) and mixed with Dirichlet(1) weights."""
        totals = self.groups.sum(axis=1)
        resampled = np.stack([rng.multinomial(int(t), g / t, size=replicates) for g, t in zip(self.groups, totals)], axis=1)
        dens = density(resampled)  # (B, G, K)
        mix = rng.dirichlet(np.ones(self.groups.shape[0]), size=replicates)
        return np.einsum("bg,bgk->bk", mix, dens)


def calibration_error(profile: CalibrationProfile, estimate: float, confidence: float) -> tuple[float, float]:
    """How far below and above the estimate the truth may lie from calibration error alone.

    With the profile's held-out error quantiles (estimate - truth on sources from calibration groups the
    model did not see), the truth lies in [estimate - q_hi, estimate - q_lo] for the central
    `confidence` share of held-out errors (split conformal). Older profiles fall back to the held-out
    RMS error on pure sources, sigma(a) = hypot((1 - a) sigma_h, a sigma_s), times the normal quantile.
    """
    tail = (1 - confidence) / 2
    if profile.cv_errors:
        grid = np.linspace(0, 1, len(profile.cv_errors))
        q_lo, q_hi = np.interp([tail, 1 - tail], grid, profile.cv_errors)
        return max(float(q_hi), 0.0), max(-float(q_lo), 0.0)
    z = NormalDist().inv_cdf(1 - tail)
    sd = float(np.hypot((1 - estimate) * profile.shift_sd.get("human", 0.0), estimate * profile.shift_sd.get("synthetic", 0.0)))
    return z * sd, z * sd


@dataclass(frozen=True)
class CalibrationDraws:
    """The profile's pooled densities and their bootstrap replicates (shared by every source)."""

    human: np.ndarray
    synthetic: np.ndarray
    human_replicates: np.ndarray
    synthetic_replicates: np.ndarray


_DRAWS_CACHE: dict[tuple[int, int, int], tuple[CalibrationProfile, CalibrationDraws]] = {}


def calibration_draws(profile: CalibrationProfile, seed: int, replicates: int) -> CalibrationDraws:
    """Calibration replicates drawn once per (profile, seed, replicates) from their own random stream,
    so that a run with many sources does not redraw them for each source."""
    key = (id(profile), seed, replicates)
    hit = _DRAWS_CACHE.get(key)
    if hit is not None and hit[0] is profile:
        return hit[1]
    human = Densities.of(profile.human_hist, profile.human_group_hists)
    synth = Densities.of(profile.synthetic_hist, profile.synthetic_group_hists)
    rng = np.random.default_rng([seed, 1])  # a stream apart from the per-source document bootstrap
    draws = CalibrationDraws(human.pooled(), synth.pooled(), human.draw(rng, replicates), synth.draw(rng, replicates))
    _DRAWS_CACHE.clear()
    _DRAWS_CACHE[key] = (profile, draws)
    return draws


def estimate_fraction(
    counts: np.ndarray,
    profile: CalibrationProfile,
    confidence: float = 0.9,
    replicates: int = 400,
    seed: int = 1,
    min_documents: int = MIN_DOCUMENTS,
) -> dict[str, object]:
    """The `synthetic_fraction` report field of one source's score histogram."""
    counts = np.asarray(counts, dtype=np.float64)
    n = int(counts.sum())
    if n == 0:
        return {"estimate": None, "ci_low": None, "ci_high": None, "method": METHOD, "low_confidence": True}
    draws = calibration_draws(profile, seed, replicates)
    estimate = float(mle_alpha(counts, draws.human, draws.synthetic)[0])
    rng = np.random.default_rng(seed)
    boot_counts = rng.multinomial(n, counts / n, size=replicates)
    boot = mle_alpha(boot_counts, draws.human_replicates, draws.synthetic_replicates)
    tail = (1 - confidence) / 2
    lo_q, hi_q = np.quantile(boot, [tail, 1 - tail])
    below, above = calibration_error(profile, estimate, confidence)
    ci_low = estimate - float(np.hypot(max(estimate - lo_q, 0.0), below))
    ci_high = estimate + float(np.hypot(max(hi_q - estimate, 0.0), above))
    ci_low, ci_high = max(0.0, ci_low), min(1.0, ci_high)
    return {
        "estimate": round(estimate, 4),
        "ci_low": round(ci_low, 4),
        "ci_high": round(ci_high, 4),
        "method": METHOD,
        "low_confidence": bool(n < min_documents),
    }
