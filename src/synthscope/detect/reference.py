"""Synthetic fraction against a human reference: `--human-reference` corpora and `--baseline-is-human`.

A source's document scores are modelled as a mixture (1 - a) * H + a * S of a human score distribution H
and a synthetic one S. Here H is the human reference's histogram: the same source's documents in the reference (text known
to predate LLMs), or the whole reference pooled when the source is not in it, and S comes from the calibration profile. The estimate is detect's maximum-likelihood
mixing weight (`detect.estimator.mle_alpha` on `detect.estimator.density` smoothed histograms).

The synthetic reference. A new domain moves human scores (the baseline's median sits `offset` logits
from the calibration human median). Whether its machine text moves with it is unknown: in the calibration
data it does not (per-domain synthetic medians do not follow the human ones), and held-out domains go
both ways. The point estimate moves S by half the offset (`SHIFT_TRANSFER`, the midpoint of "machine
text keeps its calibration scores" and "machine text moves with the domain's human text"), and the
bootstrap treats the transfer as unknown, uniform on [0, 1]. Beyond the transfer, the synthetic density's
own move is fitted per source with the mixing weight (profile likelihood over moves of -4..4 logits with a
Gaussian prior of sd 0.41 logit, `shift_mle_alpha`): with the human side known from the reference, the
synthetic side is the remaining error, and its location is what the data can tell (round 5: held-out MAE
0.071 -> 0.061 on unseen genres, 0.074 -> 0.064 on unseen generator families).

The interval is a percentile bootstrap over everything that is a finite sample or an assumption:
- the target's documents (multinomial on its histogram);
- the baseline's documents (it is a finite sample too: a small baseline gives a wide interval);
- the synthetic reference: per calibration group histograms resampled and mixed with Dirichlet weights
  (`detect.estimator.Densities.draw`, as the default estimator does), moved by a random transfer;
then widened in quadrature by the profile's measured cross-domain synthetic error: leave-one-domain-out
estimates on purely synthetic held-out text miss 1 by an RMS `shift_sd["synthetic"]`, so a fraction a
may be read off by about a * shift_sd["synthetic"], applied at each end of the bootstrap interval (the human part of detect's sigma(a) is dropped: the
human reference is the source's own). Below `MIN_DOCUMENTS` documents in the target or the reference the
estimate is flagged `low_confidence`.

All sources are estimated at once (`estimate_with_references`): the synthetic replicates are drawn once
and shared, each source's target and reference bootstrap has its own stream seeded by `seed`, and the
fit runs in chunks of bounded size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from synthscope.detect.estimator import (  # noqa: F401  (shift_densities: re-exported, used by callers of this module)
    BOOTSTRAP_ROWS, MIN_DOCUMENTS, Densities, FractionEstimates, density, likelihood_interval, mle_alpha, moved_mle_alpha, shift_densities,
)
from synthscope.detect.profile import LOGIT_EDGES
from synthscope.errors import InputError, UsageError

METHOD = "mle-baseline-reference"
SOURCE_REFERENCE = "mle-human-reference-source"  # --human-reference: the source's own reference documents
POOLED_REFERENCE = "mle-human-reference-pooled"  # --human-reference: the source is not in it; the whole reference
SHIFT_TRANSFER = 0.5  # share of the baseline's human offset applied to the synthetic reference (point estimate)
# The synthetic reference's own move, fitted per source: profile likelihood over a grid of moves beyond
# the transfer, in bins (detect's bins are 0.25 logit: -16..16 bins is -4..4 logits), with a Gaussian prior:
# a move of d bins costs SHIFT_PENALTY * d**2 of log-likelihood (3 per squared logit: prior sd 1 / sqrt(6) =
# 0.41 logit). Chosen on held-out genres and generator families (notes/detect.md, round 5).
SHIFT_GRID = np.arange(-16, 17, dtype=np.float64)
SHIFT_GRID_BOOTSTRAP = SHIFT_GRID[::2]  # coarser in the bootstrap replicates (half the cost)
SHIFT_PENALTY = 3.0 / 16.0
N_BOOT = 400
# prior mass of the baseline's density, in documents, spread evenly over the bins (detect's density adds
# 0.5 per bin, sized for calibration histograms of hundreds of documents: on a 30-document baseline that
# would make the human reference mostly uniform and any peaked synthetic reference would win)
BASELINE_PRIOR_DOCUMENTS = 1.0


@dataclass
class ReferenceEstimates(FractionEstimates):
    """Estimates against human references, with the synthetic density's fitted move of each row (logits)."""

    shift: np.ndarray | None = None


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

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def quantile(self, q: float) -> float:
        """The q-quantile, with mass spread uniformly inside each bin."""
        cdf = np.concatenate([[0.0], np.cumsum(self.counts)]) / max(self.total, 1e-12)
        return float(np.interp(q, cdf, self.bin_edges))

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


def _medians(dens: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Median of each row of bin probabilities (mass spread uniformly inside each bin)."""
    dens = np.atleast_2d(dens)
    cdf = np.concatenate([np.zeros((len(dens), 1)), np.cumsum(dens, axis=1)], axis=1) / dens.sum(axis=1, keepdims=True)
    i = np.clip((cdf < 0.5).sum(axis=1) - 1, 0, len(edges) - 2)
    rows = np.arange(len(dens))
    lo, hi = cdf[rows, i], cdf[rows, i + 1]
    t = np.where(hi > lo, (0.5 - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0)
    return edges[i] + t * (edges[i + 1] - edges[i])


@dataclass(frozen=True)
class SyntheticReference:
    """The calibration's synthetic score distribution (per group), its human one, and their bins."""

    synthetic: Densities
    calibration_human: Densities | None
    edges: np.ndarray
    shift_sd: float = 0.0  # the profile's held-out RMS error on purely synthetic text

    @classmethod
    def of(cls, synthetic: Histogram | Sequence[Histogram], edges: np.ndarray,
           calibration_human: Histogram | Sequence[Histogram] | None = None, shift_sd: float = 0.0) -> SyntheticReference:
        human = None if calibration_human is None else _groups(calibration_human, edges)
        return cls(_groups(synthetic, edges), human, np.asarray(edges, dtype=float), shift_sd)


def shift_mle_alpha(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, edges: np.ndarray,
                    grid: np.ndarray = SHIFT_GRID, penalty: float = SHIFT_PENALTY) -> tuple[np.ndarray, np.ndarray]:
    """Mixing weight and synthetic move of every histogram in `counts` (..., K): the maximum over moves d
    on `grid` (in bins of `edges`) of the MLE mixture's log-likelihood with the synthetic density moved
    by d bins, minus `penalty` * d**2 (the human density is the source's reference, known; the synthetic
    one comes from other text and may sit elsewhere on the score axis in this domain). Returns (alpha,
    move on the score axis), each of shape counts.shape[:-1] (`detect.estimator.moved_mle_alpha`)."""
    return moved_mle_alpha(counts, p_h, p_s, edges, "synthetic", grid, penalty)


def reference_densities(
    references: np.ndarray, synthetic: SyntheticReference, shift_transfer: float = SHIFT_TRANSFER, weights: np.ndarray | None = None,
    moves: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The human and synthetic score densities of each row's point estimate, (S, K) each, and each
    reference's median offset from the calibration human text: the reference histogram smoothed, and
    the calibration's synthetic density moved by `shift_transfer` times that offset.

    With `weights` (S, G: each row's weights over the synthetic reference's groups, e.g. the topic
    matching of detect.estimator.matched_weights), each row's calibration densities are its own mix of
    the groups (the genres it resembles) instead of the equal-weight pool. `moves` (S,: the fitted
    synthetic moves of `estimate_with_references`, `ReferenceEstimates.shift`) move each row's synthetic
    density further."""
    references = np.atleast_2d(np.asarray(references, dtype=np.float64))
    edges = synthetic.edges
    h = density(references, pseudo=BASELINE_PRIOR_DOCUMENTS / references.shape[1], per_row=True)
    if weights is None:
        s_base = np.broadcast_to(synthetic.synthetic.pooled(), h.shape)
        calibration_human = None if synthetic.calibration_human is None else synthetic.calibration_human.pooled()[None, :]
    else:
        s_base = weights @ density(synthetic.synthetic.groups, per_row=True)
        calibration_human = None if synthetic.calibration_human is None else weights @ density(synthetic.calibration_human.groups, per_row=True)
    offset = np.zeros(len(references))
    if calibration_human is not None:
        offset = _medians(h, edges) - _medians(calibration_human, edges)
    s_point = shift_densities(s_base, edges, shift_transfer * offset + (0.0 if moves is None else np.asarray(moves, dtype=np.float64)))
    return h, s_point, offset


def estimate_with_references(
    targets: np.ndarray,
    references: np.ndarray,
    synthetic: SyntheticReference,
    *,
    confidence: float = 0.9,
    n_boot: int = N_BOOT,
    seed: int = 1,
    resample_human: bool = True,
    min_documents: int = MIN_DOCUMENTS,
    method: str = METHOD,
    shift_transfer: float = SHIFT_TRANSFER,
    weights: np.ndarray | None = None,
    shift_penalty: float | None = SHIFT_PENALTY,
) -> tuple[ReferenceEstimates, np.ndarray]:
    """Synthetic fractions of (S, K) target histograms, row i against human reference row i (S, K).

    Returns the estimates and the reference documents per row. Targets of at least `min_documents`
    documents get the bootstrap interval (target, reference and synthetic reference resampled; chunks
    of bounded size); smaller ones a likelihood-ratio interval. Both are widened by the synthetic
    reference's held-out error at the interval's ends. With `weights` (S, G) each row's synthetic
    reference is its own mix of the calibration groups (`reference_densities`), resampled group by group.
    The synthetic density's move on the score axis is fitted with the mixing weight (`shift_mle_alpha`,
    in the point estimate and in every bootstrap replicate; the fitted moves are the estimates' `shift`)
    on detect's logit bins (`LOGIT_EDGES`, where grid and penalty were measured, and what reports carry);
    on other bins (e.g. probability histograms, where a move of the density is not a move in logits) and with
    `shift_penalty=None` it stays where the transfer puts it (round-4 behaviour).
    """
    if not 0 < confidence < 1:
        raise UsageError(f"confidence must be between 0 and 1, got {confidence}")
    targets = np.atleast_2d(np.asarray(targets, dtype=np.float64))
    references = np.atleast_2d(np.asarray(references, dtype=np.float64))
    if np.any(references.sum(axis=1) <= 0):
        raise InputError("a reference score histogram is empty")
    edges, k = synthetic.edges, targets.shape[1]
    n, n_ref = targets.sum(axis=1), references.sum(axis=1)
    pseudo = BASELINE_PRIOR_DOCUMENTS / k
    if weights is not None:
        weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        if weights.shape != (len(targets), synthetic.synthetic.groups.shape[0]):
            raise ValueError(f"weights must be (sources, groups) = {(len(targets), synthetic.synthetic.groups.shape[0])}, got {weights.shape}")
    h, s_point, offset = reference_densities(references, synthetic, shift_transfer, weights)
    if len(edges) != len(LOGIT_EDGES) or not np.allclose(edges, LOGIT_EDGES):
        shift_penalty = None

    def fit(c: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, grid: np.ndarray = SHIFT_GRID) -> tuple[np.ndarray, np.ndarray]:
        if shift_penalty is None:
            return mle_alpha(c, p_h, p_s), np.zeros(np.shape(c)[:-1])
        return shift_mle_alpha(c, p_h, p_s, edges, grid, shift_penalty)

    estimate, moves = np.full(len(n), np.nan), np.zeros(len(n))
    lo_q, hi_q = np.full(len(n), np.nan), np.full(len(n), np.nan)
    has = n > 0
    if has.any():
        estimate[has], moves[has] = fit(targets[has], h[has], s_point[has])
    s_fitted = shift_densities(s_point, edges, moves)
    small = np.flatnonzero(has & (n < min_documents))
    for i in small:  # small targets: likelihood-ratio interval at the fitted move (a matrix product each, no bootstrap)
        lo_q[i], hi_q[i] = (v[0] for v in likelihood_interval(targets[i][None, :], h[i], s_fitted[i], confidence))
    # shared by all sources: mixed replicates, or per-group replicates each row mixes with its weights
    s_rng = np.random.default_rng([seed, 2])
    s_draws = synthetic.synthetic.draw(s_rng, n_boot) if weights is None else synthetic.synthetic.replicates(s_rng, n_boot, per_row=True)
    transfers = np.random.default_rng([seed, 3]).uniform(0.0, 1.0, n_boot)
    large = np.flatnonzero(n >= min_documents)
    tail = (1 - confidence) / 2
    per_chunk = max(1, BOOTSTRAP_ROWS // n_boot)
    for start in range(0, large.size, per_chunk):
        rows = large[start:start + per_chunk]
        boot_t, boot_h = [], []
        for i in rows:
            rng = np.random.default_rng(seed)
            boot_t.append(rng.multinomial(int(n[i]), targets[i] / n[i], size=n_boot))
            boot_h.append(rng.multinomial(int(round(n_ref[i])), references[i] / n_ref[i], size=n_boot) if resample_human else np.broadcast_to(references[i], (n_boot, k)))
        h_boot = density(np.asarray(boot_h, dtype=np.float64), pseudo=pseudo, per_row=True) if resample_human else np.broadcast_to(h[rows][:, None, :], (len(rows), n_boot, k))
        s_rows = np.broadcast_to(s_draws, (len(rows), n_boot, k)) if weights is None else np.einsum("sg,bgk->sbk", weights[rows], s_draws)
        s_boot = shift_densities(s_rows.reshape(-1, k), edges,
                                 (transfers[None, :] * offset[rows, None]).reshape(-1)).reshape(len(rows), n_boot, k)
        boots = fit(np.asarray(boot_t, dtype=np.float64), h_boot, s_boot, SHIFT_GRID_BOOTSTRAP)[0]
        lo_q[rows], hi_q[rows] = np.quantile(boots, [tail, 1 - tail], axis=1)
    lo_q, hi_q = np.fmin(lo_q, estimate), np.fmax(hi_q, estimate)
    z = NormalDist().inv_cdf(1 - tail)
    sd = synthetic.shift_sd
    ci_low = estimate - np.hypot(np.maximum(estimate - lo_q, 0.0), z * lo_q * sd)
    ci_high = estimate + np.hypot(np.maximum(hi_q - estimate, 0.0), z * hi_q * sd)
    low = (n < min_documents) | (n_ref < min_documents)
    return ReferenceEstimates(estimate, np.maximum(ci_low, 0.0), np.minimum(ci_high, 1.0), n, low, method, shift=moves), n_ref


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
    weights: np.ndarray | None = None,
    shift_penalty: float | None = SHIFT_PENALTY,
) -> dict[str, Any]:
    """Synthetic fraction of one `target` (a histogram, or raw scores) with `human` as its human reference.

    `synthetic` is the calibration's synthetic histogram, or one per calibration group (resampled and
    mixed in the bootstrap). With `calibration_human` (the calibration's human histogram(s)), the
    synthetic reference is moved by `shift_transfer` times the baseline's median offset from it, the
    bootstrap drawing the transfer uniformly on [0, 1]. `synthetic_shift_sd` (the profile's
    `shift_sd["synthetic"]`) widens each end of the bootstrap interval by z * end * sd in quadrature.
    `weights` (one per histogram of `synthetic`, aligned with `calibration_human`'s) mixes the groups
    as the source's topic match does (`estimate_with_references`) instead of pooling them equally.
    `shift_penalty` (None: no fitted move) as in `estimate_with_references`.
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
    reference = SyntheticReference.of(synthetic, edges, calibration_human, synthetic_shift_sd)
    estimates, n_ref = estimate_with_references(
        target.counts[None, :], human.counts[None, :], reference, confidence=confidence, n_boot=n_boot, seed=seed,
        resample_human=resample_human, min_documents=min_documents, method=method, shift_transfer=shift_transfer,
        weights=None if weights is None else np.asarray(weights, dtype=np.float64)[None, :], shift_penalty=shift_penalty,
    )
    return {**estimates.record(0), "confidence": confidence, "reference_documents": int(round(n_ref[0]))}
