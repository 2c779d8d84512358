"""A sparse logistic model over skeleton n-gram rates (see skeleton.py), fitted with L-BFGS (scipy).

A document's value for n-gram j is its count per skeleton token (a rate: length-free); the model keeps
the `keep` n-grams of largest |weight| (scaled to unit standard deviation) and is refitted on those, so
the stored model is exactly the fitted one: a sorted table of packed n-gram ids with a weight each.
Scoring a batch looks every n-gram up in that table (numpy searchsorted) and sums the weights per
document; short documents are shrunk toward the calibration mean logit, as the style features are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from synthscope.detect.skeleton import ORDERS, SkeletonTokens, describe, ngram_ids


@dataclass
class SkeletonModel:
    """Kept n-grams (sorted packed ids), their weights per unit rate, the bias, and length shrinkage."""

    grams: np.ndarray  # int64, sorted
    weights: np.ndarray  # float64, per unit of rate (count / skeleton tokens)
    bias: float
    mean_logit: float = 0.0  # calibration mean logit: what a text without evidence scores
    shrink_tokens: float = 100.0
    orders: tuple[int, ...] = ORDERS

    def raw_logits(self, tokens: SkeletonTokens) -> np.ndarray:
        """Bias + sum of weights x rates per document, before length shrinkage."""
        grams, docs = ngram_ids(tokens, self.orders)
        at = np.searchsorted(self.grams, grams)
        at = np.minimum(at, len(self.grams) - 1)
        hit = self.grams[at] == grams
        sums = np.bincount(docs[hit], weights=self.weights[at[hit]], minlength=len(tokens.counts))
        return self.bias + sums / np.maximum(tokens.counts, 1)

    def logits(self, tokens: SkeletonTokens) -> np.ndarray:
        """Length-shrunk logits: a document of n tokens keeps n / (n + shrink_tokens) of its evidence."""
        return self._shrink(self.raw_logits(tokens), tokens.counts)

    def _shrink(self, raw: np.ndarray, n_tokens: np.ndarray) -> np.ndarray:
        n = np.asarray(n_tokens, dtype=np.float64)
        keep = n / (n + self.shrink_tokens) if self.shrink_tokens > 0 else 1.0
        return self.mean_logit + keep * (raw - self.mean_logit)

    def raw_logits_of_rates(self, matrix: GramMatrix) -> np.ndarray:
        """Raw logits of documents given as a rate matrix (any columns; only the kept n-grams count)."""
        at = np.minimum(np.searchsorted(self.grams, matrix.grams), len(self.grams) - 1)
        hit = self.grams[at] == matrix.grams
        w = np.where(hit, self.weights[at], 0.0)
        return self.bias + matrix.rates @ w

    def logits_of_rates(self, matrix: GramMatrix) -> np.ndarray:
        """Length-shrunk logits of documents given as a rate matrix."""
        return self._shrink(self.raw_logits_of_rates(matrix), matrix.n_tokens)

    def describe_top(self, n: int = 10, sign: int = 1) -> list[tuple[str, float]]:
        """The n n-grams of largest weight in the direction `sign` (+1: machine-like), readable."""
        order = np.argsort(-sign * self.weights, kind="stable")[:n]
        return [(describe(int(self.grams[i])), float(self.weights[i])) for i in order]


@dataclass
class GramMatrix:
    """Documents x n-grams rate matrix (CSR) with the packed id of each column."""

    rates: sp.csr_matrix
    grams: np.ndarray
    n_tokens: np.ndarray

    @classmethod
    def of(cls, tokens: SkeletonTokens, orders: tuple[int, ...] = ORDERS, grams: np.ndarray | None = None) -> GramMatrix:
        """Rates of every n-gram (or only of `grams`, sorted) in each document."""
        ids, docs = ngram_ids(tokens, orders)
        if grams is None:
            grams, cols = np.unique(ids, return_inverse=True)
        else:
            cols = np.minimum(np.searchsorted(grams, ids), len(grams) - 1)
            hit = grams[cols] == ids
            cols, docs = cols[hit], docs[hit]
        n = tokens.counts.astype(np.float64)
        counts = sp.csr_matrix((np.ones(len(cols)), (docs, cols)), shape=(len(n), len(grams)))
        counts.sum_duplicates()
        rates = sp.diags(1.0 / np.maximum(n, 1.0)) @ counts
        return cls(rates.tocsr(), grams, n)

    def select(self, rows: np.ndarray | None = None, columns: np.ndarray | None = None) -> GramMatrix:
        rates, grams, n = self.rates, self.grams, self.n_tokens
        if rows is not None:
            rates, n = rates[rows], n[rows]
        if columns is not None:
            rates, grams = rates[:, columns], grams[columns]
        return GramMatrix(rates.tocsr(), grams, n)


def _fit_logistic(x: sp.csr_matrix, y: np.ndarray, w: np.ndarray, l2: float, iterations: int = 300) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression on a sparse matrix (L-BFGS); weights normalised to mean 1."""
    n, d = x.shape
    w = w / w.mean()
    xt = x.T.tocsr()

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ beta[:d] + beta[d]
        # log(1 + exp(z)) - y z, stably
        nll = np.logaddexp(0.0, z) - y * z
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        g = w * (p - y)
        value = float(w @ nll) / n + 0.5 * l2 * float(beta[:d] @ beta[:d])
        grad = np.empty(d + 1)
        grad[:d] = xt @ g / n + l2 * beta[:d]
        grad[d] = g.sum() / n
        return value, grad

    result = scipy.optimize.minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": iterations, "gtol": 1e-7})
    return result.x[:d], float(result.x[d])


def fit_skeleton(
    matrix: GramMatrix,
    y: np.ndarray,
    sample_weight: np.ndarray,
    l2: float = 1e-3,
    keep: int = 3000,
    min_documents: int = 20,
    shrink_tokens: float = 100.0,
) -> SkeletonModel:
    """Fit on n-grams found in at least `min_documents` documents, keep the `keep` of largest scaled
    |weight|, refit on those. Columns are scaled to unit standard deviation while fitting (the stored
    weights are per unit rate)."""
    df = np.asarray((matrix.rates > 0).sum(axis=0)).ravel()
    cols = np.flatnonzero(df >= min_documents)
    sub = matrix.select(columns=cols)
    mean = np.asarray(sub.rates.mean(axis=0)).ravel()
    sq = np.asarray(sub.rates.multiply(sub.rates).mean(axis=0)).ravel()
    sd = np.sqrt(np.maximum(sq - mean * mean, 1e-12))
    scaled = sub.rates @ sp.diags(1.0 / sd)
    beta, _ = _fit_logistic(scaled.tocsr(), y, sample_weight, l2)
    top = np.sort(np.argsort(-np.abs(beta), kind="stable")[:keep])
    final = scaled[:, top].tocsr()
    beta, bias = _fit_logistic(final, y, sample_weight, l2)
    weights = beta / sd[top]
    order = np.argsort(sub.grams[top])
    model = SkeletonModel(sub.grams[top][order], weights[order], bias, shrink_tokens=shrink_tokens)
    raw = bias + sub.rates[:, top] @ weights
    model.mean_logit = float(np.average(raw, weights=sample_weight))
    return model
