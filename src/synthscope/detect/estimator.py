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


def density(hist: np.ndarray, bandwidth: float = BANDWIDTH_BINS, pseudo: float = PSEUDO_COUNT, per_row: bool = False) -> np.ndarray:
    """Smoothed probabilities per bin: histogram plus a pseudo-count, Gaussian-smoothed across bins.

    Works on the last axis, so a stack of histograms gives a stack of densities; any number of bins
    (detect's are the profile's N_BINS logit bins). The pseudo-count is per document of the stack's mean
    total, or of each row's own total with `per_row` (rows of different sizes, e.g. human references).
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
    totals = hist.sum(axis=-1, keepdims=True) if per_row else float(hist.sum(axis=-1).mean())
    p = p + pseudo / np.maximum(totals, 1.0)
    return p / p.sum(axis=-1, keepdims=True)


def mle_alpha(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, tol: float = 1e-10, max_iterations: int = 60) -> np.ndarray:
    """Maximum-likelihood mixing weight of every histogram in `counts` (..., K).

    `p_h` and `p_s` broadcast against `counts` (one shared pair, one per row, or one per bootstrap
    replicate). A 1-d `counts` is one row: the result then has shape (1,). The log-likelihood is concave
    in alpha: safeguarded Newton steps inside a shrinking bracket (bisection when a step leaves it) reach
    the maximum to `tol` in a handful of iterations, for all rows at once.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim == 1:
        counts = counts[None, :]
    shape = np.broadcast_shapes(counts.shape, np.shape(p_h), np.shape(p_s))
    k = shape[-1]
    c = np.broadcast_to(counts, shape).reshape(-1, k)
    h = np.broadcast_to(np.asarray(p_h, dtype=np.float64), shape).reshape(-1, k)
    d = np.broadcast_to(np.asarray(p_s, dtype=np.float64), shape).reshape(-1, k) - h
    slope_0 = (c * d / h).sum(axis=1)
    slope_1 = (c * d / (h + d)).sum(axis=1)
    alpha = np.where(slope_0 <= 0, 0.0, 1.0)
    rows = np.flatnonzero((slope_0 > 0) & (slope_1 < 0))  # interior maximum
    if rows.size:
        c, h, d = c[rows], h[rows], d[rows]
        lo, hi = np.zeros(rows.size), np.ones(rows.size)
        a = np.full(rows.size, 0.5)
        active = np.arange(rows.size)
        for _ in range(max_iterations):
            ca, ha, da = c[active], h[active], d[active]
            ratio = da / (ha + a[active, None] * da)
            grad = (ca * ratio).sum(axis=1)
            curv = (ca * ratio * ratio).sum(axis=1)  # minus the second derivative (> 0)
            up = grad > 0
            lo[active] = np.where(up, a[active], lo[active])
            hi[active] = np.where(up, hi[active], a[active])
            step = a[active] + grad / np.maximum(curv, 1e-300)
            outside = (step <= lo[active]) | (step >= hi[active])
            step = np.where(outside, 0.5 * (lo[active] + hi[active]), step)
            done = (np.abs(step - a[active]) < tol) | (hi[active] - lo[active] < tol)
            a[active] = step
            active = active[~done]
            if not active.size:
                break
        alpha[rows] = a
    return alpha.reshape(shape[:-1])


def threshold_bin(profile: CalibrationProfile) -> int:
    """First bin at or above the profile's decision threshold."""
    logit = np.log(profile.threshold / (1 - profile.threshold))
    return int(np.clip(np.searchsorted(LOGIT_EDGES, logit - 1e-9), 0, N_BINS))


def adjusted_count(counts: np.ndarray, profile: CalibrationProfile) -> tuple[float, float]:
    """(flagged fraction, adjusted classify-and-count estimate) of one score histogram."""
    flagged, acc = adjusted_counts(np.asarray(counts)[None, :], profile)
    return float(flagged[0]), float(acc[0])


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


def calibration_error(profile: CalibrationProfile, estimate: np.ndarray | float, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """How far below and above each estimate the truth may lie from calibration error alone.

    With the profile's held-out error quantiles (estimate - truth on sources from calibration groups the
    model did not see), the truth lies in [estimate - q_hi, estimate - q_lo] for the central
    `confidence` share of held-out errors (split conformal). Older profiles fall back to the held-out
    RMS error on pure sources, sigma(a) = hypot((1 - a) sigma_h, a sigma_s), times the normal quantile.
    Vectorised over `estimate`.
    """
    estimate = np.asarray(estimate, dtype=np.float64)
    tail = (1 - confidence) / 2
    if profile.cv_errors:
        grid = np.linspace(0, 1, len(profile.cv_errors))
        q_lo, q_hi = np.interp([tail, 1 - tail], grid, profile.cv_errors)
        return np.full(estimate.shape, max(float(q_hi), 0.0)), np.full(estimate.shape, max(-float(q_lo), 0.0))
    z = NormalDist().inv_cdf(1 - tail)
    sd = np.hypot((1 - estimate) * profile.shift_sd.get("human", 0.0), estimate * profile.shift_sd.get("synthetic", 0.0))
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


# rows of bootstrap replicates fitted at once (sources x replicates): bounds finalize memory at any number of sources
BOOTSTRAP_ROWS = 16_384
LIKELIHOOD_GRID = np.linspace(0.0, 1.0, 201)  # alpha grid of the likelihood-ratio interval of small sources


@dataclass
class FractionEstimates:
    """Synthetic-fraction estimates of many sources at once (arrays aligned with the input rows)."""

    estimate: np.ndarray  # NaN where nothing can be said (no documents)
    ci_low: np.ndarray
    ci_high: np.ndarray
    documents: np.ndarray
    low_confidence: np.ndarray
    method: str = METHOD

    def record(self, i: int) -> dict[str, object]:
        """The `synthetic_fraction` report field of row i."""
        if not np.isfinite(self.estimate[i]):
            return {"estimate": None, "ci_low": None, "ci_high": None, "method": self.method, "low_confidence": True}
        return {
            "estimate": round(float(self.estimate[i]), 4),
            "ci_low": round(float(self.ci_low[i]), 4),
            "ci_high": round(float(self.ci_high[i]), 4),
            "method": self.method,
            "low_confidence": bool(self.low_confidence[i]),
        }

    def records(self) -> list[dict[str, object]]:
        return [self.record(i) for i in range(len(self.estimate))]


def _widen(estimate: np.ndarray, lo_q: np.ndarray, hi_q: np.ndarray, profile: CalibrationProfile, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The sampling interval [lo_q, hi_q] widened in quadrature by the profile's calibration error."""
    below, above = calibration_error(profile, estimate, confidence)
    ci_low = estimate - np.hypot(np.maximum(estimate - lo_q, 0.0), below)
    ci_high = estimate + np.hypot(np.maximum(hi_q - estimate, 0.0), above)
    return np.maximum(ci_low, 0.0), np.minimum(ci_high, 1.0)


def likelihood_interval(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Likelihood-ratio interval of alpha for each row of `counts`: the alphas on a fine grid whose
    log-likelihood is within chi2_1(confidence) / 2 of the best (one matrix product for all rows)."""
    grid = LIKELIHOOD_GRID
    log_mix = np.log(grid[:, None] * p_s[None, :] + (1 - grid[:, None]) * p_h[None, :])  # (A, K)
    ll = counts @ log_mix.T  # (S, A)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    inside = ll >= ll.max(axis=1, keepdims=True) - 0.5 * z * z
    lo = grid[np.argmax(inside, axis=1)]
    hi = grid[len(grid) - 1 - np.argmax(inside[:, ::-1], axis=1)]
    return lo, hi


def estimate_fractions(
    counts: np.ndarray,
    profile: CalibrationProfile,
    confidence: float = 0.9,
    replicates: int = 400,
    seed: int = 1,
    min_documents: int = MIN_DOCUMENTS,
) -> FractionEstimates:
    """Synthetic fractions of all sources at once from their (S, K) score histograms.

    Point estimates: one vectorised MLE over all rows. Sources of at least `min_documents` documents get
    the bootstrap interval (documents and calibration resampled, see the module docstring), fitted in
    chunks of `BOOTSTRAP_ROWS` replicate rows so memory stays bounded at any number of sources; each
    source's document bootstrap uses its own stream seeded by `seed`, so its interval does not depend on
    which other sources the corpus has. Smaller sources get a likelihood-ratio interval (no bootstrap:
    nothing per source beyond a matrix product) and `low_confidence`. Both intervals are widened by the
    profile's calibration error. Sources without documents get NaN (reported as null).
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    n = counts.sum(axis=1)
    draws = calibration_draws(profile, seed, replicates)
    estimate = np.full(len(n), np.nan)
    lo_q, hi_q = np.full(len(n), np.nan), np.full(len(n), np.nan)
    has = n > 0
    if has.any():
        estimate[has] = mle_alpha(counts[has], draws.human, draws.synthetic)
    small = np.flatnonzero(has & (n < min_documents))
    if small.size:
        lo_q[small], hi_q[small] = likelihood_interval(counts[small], draws.human, draws.synthetic, confidence)
    large = np.flatnonzero(n >= min_documents)
    tail = (1 - confidence) / 2
    per_chunk = max(1, BOOTSTRAP_ROWS // replicates)
    for start in range(0, large.size, per_chunk):
        rows = large[start:start + per_chunk]
        boot_counts = np.stack([
            np.random.default_rng(seed).multinomial(int(n[i]), counts[i] / n[i], size=replicates) for i in rows
        ])  # (chunk, B, K)
        boot = mle_alpha(boot_counts, draws.human_replicates[None], draws.synthetic_replicates[None])  # (chunk, B)
        lo_q[rows], hi_q[rows] = np.quantile(boot, [tail, 1 - tail], axis=1)
    ci_low, ci_high = np.full(len(n), np.nan), np.full(len(n), np.nan)
    if has.any():
        ci_low[has], ci_high[has] = _widen(estimate[has], lo_q[has], hi_q[has], profile, confidence)
    return FractionEstimates(estimate, ci_low, ci_high, n, n < min_documents)


def estimate_fraction(
    counts: np.ndarray,
    profile: CalibrationProfile,
    confidence: float = 0.9,
    replicates: int = 400,
    seed: int = 1,
    min_documents: int = MIN_DOCUMENTS,
) -> dict[str, object]:
    """The `synthetic_fraction` report field of one source's score histogram."""
    return estimate_fractions(np.asarray(counts)[None, :], profile, confidence, replicates, seed, min_documents).record(0)


def adjusted_counts(counts: np.ndarray, profile: CalibrationProfile) -> tuple[np.ndarray, np.ndarray]:
    """(flagged fractions, adjusted classify-and-count estimates) of (S, K) score histograms."""
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    t = threshold_bin(profile)
    human = np.asarray(profile.human_hist)
    synth = np.asarray(profile.synthetic_hist)
    fpr = human[t:].sum() / human.sum()
    tpr = synth[t:].sum() / synth.sum()
    flagged = counts[:, t:].sum(axis=1) / np.maximum(counts.sum(axis=1), 1)
    if tpr - fpr < 1e-6:
        return flagged, flagged
    return flagged, np.clip((flagged - fpr) / (tpr - fpr), 0.0, 1.0)
