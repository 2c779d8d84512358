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
# the source size (documents) of the held-out errors behind the intervals of profiles fitted before errors were
# measured at several sizes; `calibrate` still prints and chooses L2 on this size
CV_REFERENCE_SIZE = 200
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
    return _concave_argmax(counts, p_h, p_s, "log", tol, max_iterations)


def hdy_alpha(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, tol: float = 1e-10, max_iterations: int = 60) -> np.ndarray:
    """HDy (Gonzalez-Castro et al. 2013): the mixing weight whose mixture is closest in Hellinger distance
    to each row's smoothed score density, i.e. the maximum of sum_k sqrt(q_k) sqrt(m_k(alpha)), concave in
    alpha (solved as `mle_alpha`). Less sensitive than the likelihood to bins where the calibration
    density is near zero, which is where a new domain's scores disagree with it most."""
    counts = np.asarray(counts, dtype=np.float64)
    q = density(counts if counts.ndim > 1 else counts[None, :], per_row=True)
    return _concave_argmax(np.sqrt(q), p_h, p_s, "sqrt", tol, max_iterations)


def _as_rows(values: np.ndarray, p_h: np.ndarray, p_s: np.ndarray) -> tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray]:
    """`values` (..., K; a 1-d array is one row) broadcast with the human and synthetic densities: their
    common shape, then each as contiguous float64 rows of K."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[None, :]
    shape = np.broadcast_shapes(values.shape, np.shape(p_h), np.shape(p_s))

    def rows(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), shape).reshape(-1, shape[-1]))

    return shape, rows(values), rows(p_h), rows(p_s)


def _concave_argmax(weights: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, kind: str, tol: float, max_iterations: int) -> np.ndarray:
    """argmax over alpha in [0, 1] of sum_k weights_k f(h_k + alpha d_k), f = log or sqrt (concave), per row."""
    shape, c, h, s = _as_rows(weights, p_h, p_s)
    d = s - h
    power = -1.0 if kind == "log" else -0.5  # f'(m) is m ** power (up to a constant factor)
    slope_0 = (c * d * h ** power).sum(axis=1)
    slope_1 = (c * d * (h + d) ** power).sum(axis=1)
    alpha = np.where(slope_0 <= 0, 0.0, 1.0)
    rows = np.flatnonzero((slope_0 > 0) & (slope_1 < 0))  # interior maximum
    if rows.size:
        c, h, d = c[rows], h[rows], d[rows]
        lo, hi = np.zeros(rows.size), np.ones(rows.size)
        a = np.full(rows.size, 0.5)
        active = np.arange(rows.size)
        for _ in range(max_iterations):
            ca, ha, da = c[active], h[active], d[active]
            m = ha + a[active, None] * da
            ratio = da * m ** power
            grad = (ca * ratio).sum(axis=1)
            curv = (ca * ratio * da / m).sum(axis=1) * -power  # minus the second derivative (> 0)
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


QUANTIFIERS = {"mle": mle_alpha, "hdy": hdy_alpha}


def shift_densities(dens: np.ndarray, edges: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Rows of bin probabilities moved by `deltas` on the score axis (overflow kept in the end bins)."""
    dens = np.atleast_2d(dens)
    deltas = np.broadcast_to(np.asarray(deltas, dtype=float), dens.shape[:1])
    cdf = np.concatenate([np.zeros((dens.shape[0], 1)), np.cumsum(dens, axis=1)], axis=1)
    at = np.clip(edges[None, :] - deltas[:, None], edges[0], edges[-1])  # where each moved edge reads the old CDF
    i = np.clip(np.searchsorted(edges, at, side="right") - 1, 0, len(edges) - 2)
    t = (at - edges[i]) / (edges[i + 1] - edges[i])
    moved = np.take_along_axis(cdf, i, axis=1) * (1 - t) + np.take_along_axis(cdf, i + 1, axis=1) * t
    moved[:, 0], moved[:, -1] = 0.0, cdf[:, -1]
    out = np.diff(moved, axis=1) + 1e-9  # no empty bin: a zero density would make the likelihood -inf
    return out / out.sum(axis=1, keepdims=True)


def shift_replicates(dens: np.ndarray, edges: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """`shift_densities` of (S, B, K) replicate densities, all B of row s moved by `deltas[s]`: the same
    figures, with where each moved edge reads the old CDF found once per row instead of once per replicate."""
    cdf = np.concatenate([np.zeros(dens.shape[:-1] + (1,)), np.cumsum(dens, axis=-1)], axis=-1)
    at = np.clip(edges[None, :] - np.asarray(deltas, dtype=float)[:, None], edges[0], edges[-1])
    i = np.clip(np.searchsorted(edges, at, side="right") - 1, 0, len(edges) - 2)
    t = ((at - edges[i]) / (edges[i + 1] - edges[i]))[:, None, :]
    moved = np.take_along_axis(cdf, i[:, None, :], axis=-1) * (1 - t) + np.take_along_axis(cdf, i[:, None, :] + 1, axis=-1) * t
    moved[..., 0], moved[..., -1] = 0.0, cdf[..., -1]
    out = np.diff(moved, axis=-1) + 1e-9
    return out / out.sum(axis=-1, keepdims=True)


def moved_mle_alpha(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, edges: np.ndarray, which: str,
                    grid: np.ndarray, penalty: float) -> tuple[np.ndarray, np.ndarray]:
    """Mixing weight of every histogram in `counts` (..., K) with one of the two densities (`which`:
    "human" or "synthetic") moved on the score axis: the maximum over moves d on `grid` (in bins of
    `edges`) of the MLE mixture's log-likelihood minus `penalty` * d**2 (a Gaussian prior on the move).
    `p_h`, `p_s` broadcast against `counts`. Returns (alpha, move on the score axis), each of shape
    counts.shape[:-1]; a 1-d `counts` is one row."""
    shape, c, h, s = _as_rows(counts, p_h, p_s)
    width = float(edges[-1] - edges[0]) / (len(edges) - 1)
    best_a, best_d = np.zeros(len(c)), np.zeros(len(c))
    best_ll = np.full(len(c), -np.inf)
    for d in grid:
        mh, ms = h, s
        if d != 0:
            moved = shift_densities(h if which == "human" else s, edges, np.full(len(c), d * width))
            mh, ms = (moved, s) if which == "human" else (h, moved)
        a = mle_alpha(c, mh, ms)
        ll = (c * np.log(a[:, None] * ms + (1 - a[:, None]) * mh)).sum(axis=1) - penalty * d * d
        better = ll > best_ll
        best_a, best_d, best_ll = np.where(better, a, best_a), np.where(better, d, best_d), np.where(better, ll, best_ll)
    return best_a.reshape(shape[:-1]), (best_d * width).reshape(shape[:-1])


# The default estimator's human move (profiles whose `matching` has `human_move_penalty`): a new domain's
# human text sits a little elsewhere on the score axis than its calibration genres' (stories read machine-
# like when stories were never seen). Grid -3..3 logits in detect's 0.25-logit bins; the penalty is per
# squared bin (32 per squared logit: prior sd 0.125 logit). Measured on held-out genres and generator
# families (notes/detect.md, round 5).
HUMAN_MOVE_GRID = np.arange(-12, 13, dtype=np.float64)
HUMAN_MOVE_PENALTY = 32.0


def human_move_penalty(profile: CalibrationProfile) -> float | None:
    """The profile's penalty on the human density's move (per squared logit), None: no move (older profiles, HDy)."""
    value = profile.matching.get("human_move_penalty")
    if value is None or profile.matching.get("quantifier", "mle") != "mle":
        return None
    return float(value)


def matched_alpha(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, quantifier: str, penalty: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Point estimates against matched densities and the human density's fitted move (logits; 0 without a penalty)."""
    if penalty is None:
        return QUANTIFIERS[quantifier](counts, p_h, p_s), np.zeros(np.shape(counts)[:-1])
    bin_width = float(LOGIT_EDGES[1] - LOGIT_EDGES[0])
    return moved_mle_alpha(counts, p_h, p_s, LOGIT_EDGES, "human", HUMAN_MOVE_GRID, penalty * bin_width ** 2)


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

    def replicates(self, rng: np.random.Generator, replicates: int, per_row: bool = False) -> np.ndarray:
        """(B, G, K) densities of every group's histogram resampled (multinomial) B times."""
        totals = self.groups.sum(axis=1)
        resampled = np.stack([rng.multinomial(int(t), g / t, size=replicates) for g, t in zip(self.groups, totals)], axis=1)
        return density(resampled, per_row=per_row)

    def draw(self, rng: np.random.Generator, replicates: int) -> np.ndarray:
        """Replicate densities: groups resampled (multinomial) and mixed with Dirichlet(1) weights."""
        totals = self.groups.sum(axis=1)
        resampled = np.stack([rng.multinomial(int(t), g / t, size=replicates) for g, t in zip(self.groups, totals)], axis=1)
        dens = density(resampled)  # (B, G, K)
        mix = rng.dirichlet(np.ones(self.groups.shape[0]), size=replicates)
        return np.einsum("bg,bgk->bk", mix, dens)


def calibration_error(profile: CalibrationProfile, estimate: np.ndarray | float, confidence: float,
                      similarity: np.ndarray | None = None, documents: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """How far below and above each estimate the truth may lie from calibration error alone.

    With the profile's held-out error quantiles (estimate - truth on sources from calibration groups the
    model did not see), the truth lies in [estimate - q_hi, estimate - q_lo] for the central
    `confidence` share of held-out errors (split conformal). With `similarity` (each source's cosine to
    its nearest calibration group) and errors recorded by similarity and estimate, each source takes the
    errors of held-out sources as close to their nearest group as it is and estimated as high (Mondrian
    conformal; the least similar band below the lowest edge). When the bands were measured at several
    source sizes (`documents` in each band) and `documents` (each source's size) is given, each source
    reads them at its own size: the quantiles interpolated linearly in 1/sqrt(documents) between the two
    measured sizes around it (the nearest measured size outside their range). Older profiles fall back
    to the held-out RMS error on pure sources, sigma(a) = hypot((1 - a) sigma_h, a sigma_s), times the
    normal quantile. Vectorised over `estimate`.
    """
    estimate = np.asarray(estimate, dtype=np.float64)
    tail = (1 - confidence) / 2
    if similarity is not None and profile.cv_errors_by_similarity:
        bands = profile.cv_errors_by_similarity
        sim = np.broadcast_to(np.asarray(similarity, dtype=np.float64), estimate.shape)
        sizes = band_sizes(profile)
        if not sizes:
            return _band_error(bands, estimate, sim, tail)
        if documents is None:  # no sizes given: the bands of the size earlier profiles were measured at
            at = min(sizes, key=lambda m: abs(m - CV_REFERENCE_SIZE))
            return _band_error([b for b in bands if b["documents"] == at], estimate, sim, tail)
        per_size = np.stack([np.stack(_band_error([b for b in bands if b["documents"] == m], estimate, sim, tail)) for m in sizes])  # (M, 2, ...)
        x = 1 / np.sqrt(np.asarray(sizes, dtype=np.float64))[::-1]  # increasing
        at = 1 / np.sqrt(np.maximum(np.broadcast_to(np.asarray(documents, dtype=np.float64), estimate.shape), 1.0))
        hats = np.eye(len(sizes))[:, ::-1]  # hat function of each size on x (linear interpolation, constant outside)
        weights = np.stack([np.interp(at, x, hat) for hat in hats])  # (M, ...)
        value = (weights[:, None] * per_size).sum(axis=0)
        return value[0], value[1]
    if profile.cv_errors:
        grid = np.linspace(0, 1, len(profile.cv_errors))
        q_lo, q_hi = np.interp([tail, 1 - tail], grid, profile.cv_errors)
        return np.full(estimate.shape, max(float(q_hi), 0.0)), np.full(estimate.shape, max(-float(q_lo), 0.0))
    z = NormalDist().inv_cdf(1 - tail)
    sd = np.hypot((1 - estimate) * profile.shift_sd.get("human", 0.0), estimate * profile.shift_sd.get("synthetic", 0.0))
    return z * sd, z * sd


def band_sizes(profile: CalibrationProfile) -> list[int]:
    """The source sizes (documents) the profile's held-out error bands were measured at ([] for older profiles)."""
    return sorted({int(b["documents"]) for b in profile.cv_errors_by_similarity if "documents" in b})


def _band_error(bands: list[dict], estimate: np.ndarray, sim: np.ndarray, tail: float) -> tuple[np.ndarray, np.ndarray]:
    """(below, above) of each source from the Mondrian bands of one source size (see `calibration_error`)."""
    sim_edges = np.array([b["similarity"] for b in bands])
    est_edges = np.array([b.get("estimate", 0.0) for b in bands])
    # the band of each source: the largest similarity edge at or below it, then the largest estimate edge
    sim_at = np.max(np.where(sim_edges[None, :] <= sim[..., None], sim_edges[None, :], sim_edges.min()), axis=-1)
    fits = (sim_edges[None, :] == sim_at[..., None]) & (est_edges[None, :] <= estimate[..., None] + 1e-12)
    score = np.where(fits, est_edges[None, :], -np.inf)
    which = np.argmax(score, axis=-1)
    grid = np.linspace(0, 1, len(bands[0]["errors"]))
    q = np.array([np.interp([tail, 1 - tail], grid, b["errors"]) for b in bands])  # (bands, 2)
    return np.maximum(q[which, 1], 0.0), np.maximum(-q[which, 0], 0.0)


def sampling_share(profile: CalibrationProfile, documents: np.ndarray | None) -> np.ndarray | float:
    """The share of a source's bootstrap interval to add (in quadrature) to its held-out error band: all of
    it when the band was measured at one size (older profiles: quadrature), else only the sampling noise
    beyond that of the smallest held-out sources, sqrt(1 - n / smallest size) (0 for sources at least that
    large: their band, read at their own size, holds their sampling noise already)."""
    sizes = band_sizes(profile)
    if not sizes or documents is None:
        return 1.0
    return np.sqrt(np.clip(1 - np.asarray(documents, dtype=np.float64) / sizes[0], 0.0, 1.0))


@dataclass(frozen=True)
class GroupDensities:
    """The calibration groups a source can be matched to: smoothed human and synthetic score densities
    and the unit topic centroid of each, and the softmax temperature over cosine similarities."""

    names: list[str]
    human: np.ndarray  # (G, K)
    synthetic: np.ndarray  # (G, K)
    human_counts: np.ndarray  # (G, K) histograms (for the bootstrap)
    synthetic_counts: np.ndarray
    centroids: np.ndarray  # (G, DIM) mean topic vectors
    tau: float
    quantifier: str
    center: np.ndarray | None = None  # (DIM,) subtracted from centroids and source means before the cosine


DEFAULT_TAU = 0.01


def group_densities(profile: CalibrationProfile) -> GroupDensities | None:
    """The profile's matchable groups (those with a topic centroid), or None for a profile without any."""
    names = [g for g in profile.topic_centroids if g in profile.human_group_hists and g in profile.synthetic_group_hists]
    if not names:
        return None
    h = np.asarray([profile.human_group_hists[g] for g in names], dtype=np.float64)
    s = np.asarray([profile.synthetic_group_hists[g] for g in names], dtype=np.float64)
    return GroupDensities(
        names, density(h, per_row=True), density(s, per_row=True), h, s,
        np.asarray([profile.topic_centroids[g] for g in names], dtype=np.float64),
        float(profile.matching.get("tau", DEFAULT_TAU)), str(profile.matching.get("quantifier", "mle")),
        np.asarray(profile.matching["center"], dtype=np.float64) if profile.matching.get("center") else None,
    )


def matched_weights(groups: GroupDensities, topic_sums: np.ndarray, documents: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(S, G) weights of the calibration groups for each source, and each source's cosine to its nearest
    group: a softmax over the cosines between the source's mean topic vector and the group centroids
    with temperature `tau` (0.01: a group 0.05 less similar than the best weighs e^-5 as much). With a
    `center` (the mean of the group centroids), both are taken relative to it, so that what the
    cosine compares is how each departs from the average calibration text (`documents`, each source's
    number of documents, then turns sums into means). A source without content words gets equal weights
    and similarity 0."""
    sums = np.atleast_2d(np.asarray(topic_sums, dtype=np.float64))
    empty = ~np.any(sums != 0, axis=1)
    centroids = groups.centroids
    if groups.center is not None:
        n = np.ones(len(sums)) if documents is None else np.maximum(np.asarray(documents, dtype=np.float64), 1.0)
        sums = sums / n[:, None] - groups.center
        centroids = centroids - groups.center
    norm = np.linalg.norm(sums, axis=1, keepdims=True)
    unit = np.divide(sums, norm, out=np.zeros_like(sums), where=norm > 0)
    c_norm = np.linalg.norm(centroids, axis=1, keepdims=True)
    c_unit = np.divide(centroids, c_norm, out=np.zeros_like(centroids), where=c_norm > 0)
    sim = unit @ c_unit.T  # (S, G)
    logits = (sim - sim.max(axis=1, keepdims=True)) / groups.tau
    w = np.exp(logits)
    w /= w.sum(axis=1, keepdims=True)
    w[empty] = 1.0 / len(groups.names)
    best = np.where(empty, 0.0, sim.max(axis=1))
    return w, best


def source_densities(profile: CalibrationProfile, topic_sums: np.ndarray | None = None,
                     documents: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(S, K) human and synthetic score densities each source is estimated against, and its similarity to
    the nearest calibration group (None when sources are not matched: a profile without topic centroids,
    or no topic sums given; the pooled calibration densities then serve every source)."""
    groups = group_densities(profile) if topic_sums is not None else None
    if groups is None:
        human = Densities.of(profile.human_hist, profile.human_group_hists).pooled()
        synth = Densities.of(profile.synthetic_hist, profile.synthetic_group_hists).pooled()
        rows = 1 if topic_sums is None else len(np.atleast_2d(topic_sums))
        return np.broadcast_to(human, (rows, len(human))), np.broadcast_to(synth, (rows, len(synth))), None
    w, best = matched_weights(groups, topic_sums, documents)
    return w @ groups.human, w @ groups.synthetic, best


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
    similarity: np.ndarray | None = None  # matched estimates: cosine to the nearest calibration group
    human_shift: np.ndarray | None = None  # matched estimates: the human density's fitted move (logits)

    def record(self, i: int) -> dict[str, object]:
        """The `synthetic_fraction` report field of row i."""
        if not np.isfinite(self.estimate[i]):
            return {"estimate": None, "ci_low": None, "ci_high": None, "method": self.method, "low_confidence": True}
        record: dict[str, object] = {
            "estimate": round(float(self.estimate[i]), 4),
            "ci_low": round(float(self.ci_low[i]), 4),
            "ci_high": round(float(self.ci_high[i]), 4),
            "method": self.method,
            "low_confidence": bool(self.low_confidence[i]),
        }
        return record

    def records(self) -> list[dict[str, object]]:
        return [self.record(i) for i in range(len(self.estimate))]


def _widen(estimate: np.ndarray, lo_q: np.ndarray, hi_q: np.ndarray, profile: CalibrationProfile, confidence: float,
           similarity: np.ndarray | None = None, documents: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The sampling interval [lo_q, hi_q] widened in quadrature by the profile's calibration error (read at
    each source's size when the profile has bands by size; then only the sampling noise the band lacks is added)."""
    below, above = calibration_error(profile, estimate, confidence, similarity, documents if similarity is not None else None)
    share = sampling_share(profile, documents) if similarity is not None else 1.0
    ci_low = estimate - np.hypot(share * np.maximum(estimate - lo_q, 0.0), below)
    ci_high = estimate + np.hypot(share * np.maximum(hi_q - estimate, 0.0), above)
    return np.maximum(ci_low, 0.0), np.minimum(ci_high, 1.0)


def likelihood_interval(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Likelihood-ratio interval of alpha for each row of `counts`: the alphas on a fine grid whose
    log-likelihood is within chi2_1(confidence) / 2 of the best. `p_h`, `p_s` are shared (K,) densities
    (one matrix product for all rows) or one row each (S, K)."""
    grid = LIKELIHOOD_GRID
    p_h, p_s = np.asarray(p_h, dtype=np.float64), np.asarray(p_s, dtype=np.float64)
    if p_h.ndim == 1 and p_s.ndim == 1:
        log_mix = np.log(grid[:, None] * p_s[None, :] + (1 - grid[:, None]) * p_h[None, :])  # (A, K)
        ll = counts @ log_mix.T  # (S, A)
    else:  # per row: the log-likelihood over the row's occupied bins only (a small source fills a few of the K)
        p_h, p_s = np.broadcast_to(p_h, counts.shape), np.broadcast_to(p_s, counts.shape)
        rows, bins = np.nonzero(counts)
        log_mix = np.log(grid[None, :] * p_s[rows, bins][:, None] + (1 - grid[None, :]) * p_h[rows, bins][:, None])  # (cells, A)
        ll = np.zeros((counts.shape[0], grid.size))
        if rows.size:
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            ll[rows[starts]] = np.add.reduceat(counts[rows, bins][:, None] * log_mix, starts, axis=0)
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
    topic_sums: np.ndarray | None = None,
) -> FractionEstimates:
    """Synthetic fractions of all sources at once from their (S, K) score histograms.

    With `topic_sums` (S, DIM: each source's summed document topic vectors) and a profile that has topic
    centroids, each source is estimated against the calibration groups it resembles (`estimate_matched`).
    Otherwise against the pooled calibration densities: point estimates by one vectorised MLE over all
    rows. Sources of at least `min_documents` documents get the bootstrap interval (documents and
    calibration resampled, see the module docstring), fitted in chunks of `BOOTSTRAP_ROWS` replicate rows
    so memory stays bounded at any number of sources; each source's document bootstrap uses its own
    stream seeded by `seed`, so its interval does not depend on which other sources the corpus has.
    Smaller sources get a likelihood-ratio interval (no bootstrap: nothing per source beyond a matrix
    product) and `low_confidence`. Both intervals are widened by the profile's calibration error. Sources
    without documents get NaN (reported as null).
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    if topic_sums is not None and group_densities(profile) is not None:
        return estimate_matched(counts, profile, topic_sums, confidence, replicates, seed, min_documents)
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
        boot_counts = _document_bootstrap(counts[rows], n[rows], seed, replicates)
        boot = mle_alpha(boot_counts, draws.human_replicates[None], draws.synthetic_replicates[None])  # (chunk, B)
        lo_q[rows], hi_q[rows] = np.quantile(boot, [tail, 1 - tail], axis=1)
    ci_low, ci_high = np.full(len(n), np.nan), np.full(len(n), np.nan)
    if has.any():
        ci_low[has], ci_high[has] = _widen(estimate[has], lo_q[has], hi_q[has], profile, confidence)
    return FractionEstimates(estimate, ci_low, ci_high, n, n < min_documents)


def _document_bootstrap(counts: np.ndarray, n: np.ndarray, seed: int, replicates: int) -> np.ndarray:
    """(rows, B, K) multinomial resamples of each row's histogram, each row from its own stream seeded by `seed`."""
    return np.stack([np.random.default_rng(seed).multinomial(int(t), c / t, size=replicates) for c, t in zip(counts, n)])


MATCHED_METHODS = {"mle": "mle-matched", "hdy": "hdy-matched"}
_GROUP_DRAWS_CACHE: dict[tuple[int, int, int], tuple[CalibrationProfile, np.ndarray, np.ndarray]] = {}


def group_draws(profile: CalibrationProfile, groups: GroupDensities, seed: int, replicates: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, G, K) bootstrap densities of every matchable group, human and synthetic, drawn once per
    (profile, seed, replicates) from their own stream and shared by every source."""
    key = (id(profile), seed, replicates)
    hit = _GROUP_DRAWS_CACHE.get(key)
    if hit is not None and hit[0] is profile:
        return hit[1], hit[2]
    rng = np.random.default_rng([seed, 4])
    human = Densities(groups.human_counts).replicates(rng, replicates, per_row=True)
    synth = Densities(groups.synthetic_counts).replicates(rng, replicates, per_row=True)
    _GROUP_DRAWS_CACHE.clear()
    _GROUP_DRAWS_CACHE[key] = (profile, human, synth)
    return human, synth


MATCHED_INTERVAL_ROWS = 256  # sources per matrix product of the likelihood-ratio interval (rows x alphas x bins)


def estimate_matched(
    counts: np.ndarray,
    profile: CalibrationProfile,
    topic_sums: np.ndarray,
    confidence: float = 0.9,
    replicates: int = 400,
    seed: int = 1,
    min_documents: int = MIN_DOCUMENTS,
) -> FractionEstimates:
    """Each source against the calibration groups it resembles (`matched_weights`): its own human and
    synthetic densities (the groups' densities mixed by its weights), the profile's quantifier (MLE or
    HDy). The bootstrap resamples the source's documents and every group's calibration scores (mixed by
    the same weights); the interval is widened by the held-out errors of sources as similar to their
    nearest group as this one. With the profile's `human_move_penalty` (MLE only) the human density's
    move on the score axis is fitted with the mixing weight (`moved_mle_alpha`, `HUMAN_MOVE_GRID`) for
    sources of at least `min_documents`; the bootstrap keeps each source's fitted move. A source below the profile's `min_similarity` (unlike every calibration
    group) is `low_confidence`."""
    groups = group_densities(profile)
    assert groups is not None
    counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    fit = QUANTIFIERS[groups.quantifier]
    n = counts.sum(axis=1)
    w, similarity = matched_weights(groups, topic_sums, n)
    p_h, p_s = w @ groups.human, w @ groups.synthetic
    estimate, moves = np.full(len(n), np.nan), np.zeros(len(n))
    lo_q, hi_q = np.full(len(n), np.nan), np.full(len(n), np.nan)
    has = n > 0
    # the human move only where it can be measured (sources of >= min_documents; below, the prior holds it near 0
    # anyway and the long tail of tiny sources would pay the grid for nothing)
    movable, fixed = has & (n >= min_documents), has & (n < min_documents)
    if movable.any():
        estimate[movable], moves[movable] = matched_alpha(counts[movable], p_h[movable], p_s[movable], groups.quantifier, human_move_penalty(profile))
    if fixed.any():
        estimate[fixed] = fit(counts[fixed], p_h[fixed], p_s[fixed])
    p_h = shift_densities(p_h, LOGIT_EDGES, moves) if np.any(moves) else p_h
    small = np.flatnonzero(has & (n < min_documents))
    for start in range(0, small.size, MATCHED_INTERVAL_ROWS):
        rows = small[start:start + MATCHED_INTERVAL_ROWS]
        lo_q[rows], hi_q[rows] = likelihood_interval(counts[rows], p_h[rows], p_s[rows], confidence)
    large = np.flatnonzero(n >= min_documents)
    if large.size:
        human_b, synth_b = group_draws(profile, groups, seed, replicates)
    tail = (1 - confidence) / 2
    per_chunk = max(1, BOOTSTRAP_ROWS // replicates)
    for start in range(0, large.size, per_chunk):
        rows = large[start:start + per_chunk]
        boot_counts = _document_bootstrap(counts[rows], n[rows], seed, replicates)
        h_b = np.einsum("sg,bgk->sbk", w[rows], human_b)
        if np.any(moves[rows]):  # each source's human replicates moved as its point estimate's
            h_b = shift_replicates(h_b, LOGIT_EDGES, moves[rows])
        s_b = np.einsum("sg,bgk->sbk", w[rows], synth_b)
        boot = fit(boot_counts, h_b, s_b)
        lo_q[rows], hi_q[rows] = np.quantile(boot, [tail, 1 - tail], axis=1)
    lo_q, hi_q = np.fmin(lo_q, estimate), np.fmax(hi_q, estimate)  # HDy's point may sit outside the likelihood interval
    ci_low, ci_high = np.full(len(n), np.nan), np.full(len(n), np.nan)
    if has.any():
        ci_low[has], ci_high[has] = _widen(estimate[has], lo_q[has], hi_q[has], profile, confidence, similarity[has], n[has])
    low = (n < min_documents) | (similarity < float(profile.matching.get("min_similarity", 0.0)))
    return FractionEstimates(estimate, ci_low, ci_high, n, low, MATCHED_METHODS[groups.quantifier], similarity, moves)


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
