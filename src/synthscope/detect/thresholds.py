"""Per-source score thresholds that bring a source's synthetic share down to a target, within a human floor.

The estimator models a source's score histogram c (K bins) as the mixture (1 - a) p_h + a p_s of a
human and a synthetic score density. Given its estimate a, a document in bin k is machine-written with
probability w_k = a p_s[k] / (a p_s[k] + (1 - a) p_h[k]) (the mixture's posterior), so the expected
machine-written documents in bin k are c_k w_k and the human ones c_k (1 - w_k). At the maximum-likelihood
a these sum to n a and n (1 - a): the expectations agree with the estimate.

Dropping every document in bins k >= j (a "cut" at bin j; j = K drops nothing) then leaves an expected
synthetic share sum_{k<j} c_k w_k / sum_{k<j} c_k and loses sum_{k>=j} c_k (1 - w_k) of the
sum_k c_k (1 - w_k) expected human documents. Both are cumulative sums, so every cut of every source is
evaluated at once on (S, K + 1) arrays, and the choice per source is two arg-maxes: the highest cut whose
expected share meets the target, unless it loses more than 1 - floor of the human documents, in which
case the lowest cut the floor allows (and the target is not met).

Because w_k rises with a, the share left rises and the human documents lost fall with a: the interval of
a maps to an interval of each (monotone), which is how the filter report states their uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-9


def synthetic_posterior(alpha: np.ndarray, p_h: np.ndarray, p_s: np.ndarray) -> np.ndarray:
    """(S, K) probability that a document of each source's bin k is machine-written, given the source's
    synthetic fraction `alpha` (S,) and its score densities (S, K); 0 where alpha is NaN (no documents)."""
    a = np.nan_to_num(np.asarray(alpha, dtype=np.float64), nan=0.0)[:, None]
    synthetic = a * np.asarray(p_s, dtype=np.float64)
    mixture = synthetic + (1.0 - a) * np.asarray(p_h, dtype=np.float64)
    return np.divide(synthetic, mixture, out=np.zeros_like(synthetic), where=mixture > 0)


def remaining_share(kept: np.ndarray, posterior: np.ndarray) -> np.ndarray:
    """Expected synthetic share of the kept documents (S,) from their (S, K) histogram; NaN when none is kept."""
    kept = np.asarray(kept, dtype=np.float64)
    n = kept.sum(axis=1)
    synthetic = (kept * posterior).sum(axis=1)
    return np.divide(synthetic, n, out=np.full(len(n), np.nan), where=n > 0)


def human_documents(counts: np.ndarray, posterior: np.ndarray) -> np.ndarray:
    """Expected human-written documents (S,) of (S, K) histograms."""
    return (np.asarray(counts, dtype=np.float64) * (1.0 - posterior)).sum(axis=1)


@dataclass
class Cuts:
    """Per source: the first dropped bin (K: none), whether the target was met, and the expected outcome."""

    cut: np.ndarray  # (S,) int
    target_met: np.ndarray  # (S,) bool
    expected_share: np.ndarray  # (S,) expected synthetic share of what the cut keeps (NaN: nothing kept)
    expected_human_loss: np.ndarray  # (S,) expected share of the human documents the cut drops


def human_loss_by_cut(counts: np.ndarray, posterior: np.ndarray) -> np.ndarray:
    """(S, K + 1): the expected share of each source's human documents that a cut at bin j drops."""
    c = np.asarray(counts, dtype=np.float64)
    human = np.concatenate([np.zeros((len(c), 1)), np.cumsum(c * (1.0 - posterior), axis=1)], axis=1)
    total = human[:, -1:]
    return np.divide(total - human, total, out=np.zeros_like(human), where=total > _EPS)


def choose_cuts(counts: np.ndarray, posterior: np.ndarray, target: float, floor: float, floor_posterior: np.ndarray | None = None) -> Cuts:
    """For every source at once: the highest cut whose expected synthetic share is at most `target`, if
    it drops at most 1 - `floor` of the expected human documents; otherwise the lowest cut the floor
    allows, with `target_met` False. `floor_posterior` (default `posterior`) is the posterior the human
    documents are counted with, e.g. one at the lower end of the synthetic fraction's interval."""
    c = np.asarray(counts, dtype=np.float64)
    s, k = c.shape
    zero = np.zeros((s, 1))
    kept_docs = np.concatenate([zero, np.cumsum(c, axis=1)], axis=1)  # (S, K+1): kept by cut j
    kept_synthetic = np.concatenate([zero, np.cumsum(c * posterior, axis=1)], axis=1)
    share = np.divide(kept_synthetic, kept_docs, out=np.zeros_like(kept_docs), where=kept_docs > 0)
    loss = human_loss_by_cut(c, posterior if floor_posterior is None else floor_posterior)
    meets = share <= target + _EPS  # cut 0 keeps nothing: always meets
    within = loss <= (1.0 - floor) + _EPS  # cut K drops nothing: always within
    highest_meeting = k - np.argmax(meets[:, ::-1], axis=1)
    lowest_within = np.argmax(within, axis=1)
    met = highest_meeting >= lowest_within
    cut = np.where(met, highest_meeting, lowest_within)
    rows = np.arange(s)
    kept_n = kept_docs[rows, cut]
    expected = np.divide(kept_synthetic[rows, cut], kept_n, out=np.full(s, np.nan), where=kept_n > 0)
    return Cuts(cut.astype(np.int64), met, expected, loss[rows, cut])
