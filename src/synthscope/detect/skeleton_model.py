"""A sparse logistic model over skeleton n-gram rates (see skeleton.py), fitted with L-BFGS (scipy).

A document's value for n-gram j is its count per skeleton token (a rate: length-free); the model keeps
the `keep` n-grams of largest |weight| (scaled to unit standard deviation) and is refitted on those, so
the stored model is exactly the fitted one: a sorted table of packed n-gram ids with a weight each.
Scoring a batch looks every n-gram up in that table (numpy searchsorted) and sums the weights per
document; short documents are shrunk toward the calibration mean logit, as the style features are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from synthscope.detect.skeleton import BITS, ORDERS, SkeletonTokens, describe, ngram_ids

if TYPE_CHECKING:
    import scipy.sparse as sp

# scipy is imported where fitting or rate matrices need it: scoring (every audit's workers) does not,
# and importing scipy.sparse and scipy.optimize is a noticeable part of every process's start-up.

DENSE_ORDER = 2  # n-grams up to this order are looked up in a dense array (2 ** (BITS * n) entries)
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: slot = (id * m) >> (64 - log2(size))
SEPARATOR = (1 << BITS) - 1  # a token id no vocabulary uses (skeleton.py keeps it below): never in a kept n-gram


@dataclass(frozen=True)
class GramTable:
    """Open-addressing hash table (linear probing, load <= 1/8) from packed n-gram id to weight: a
    vectorised lookup of millions of n-grams costs about one gather each (most are misses that stop at
    the first empty slot)."""

    keys: np.ndarray  # int64, 0 = empty
    values: np.ndarray
    shift: np.uint64
    max_probe: int

    @classmethod
    def of(cls, grams: np.ndarray, weights: np.ndarray) -> GramTable:
        bits = max(4, int(np.ceil(np.log2(max(len(grams), 1) * 8))))
        size = 1 << bits
        keys, values = np.zeros(size, dtype=np.int64), np.zeros(size)
        shift = np.uint64(64 - bits)
        start = cls._slots(np.asarray(grams, dtype=np.int64), shift)
        max_probe = 0
        for gram, weight, slot in zip(grams.tolist(), weights.tolist(), start.tolist()):  # once per model, not per document
            probe = 0
            while keys[(slot + probe) & (size - 1)] != 0:
                probe += 1
            keys[(slot + probe) & (size - 1)], values[(slot + probe) & (size - 1)] = gram, weight
            max_probe = max(max_probe, probe)
        return cls(keys, values, shift, max_probe)

    @staticmethod
    def _slots(grams: np.ndarray, shift: np.uint64) -> np.ndarray:
        """The first slot of each id: below the table's size (the top bits of a 64-bit product)."""
        with np.errstate(over="ignore"):
            product = np.asarray(grams, dtype=np.int64).view(np.uint64) * _MULTIPLIER
            product >>= shift
            return product.view(np.int64)

    def lookup(self, grams: np.ndarray) -> np.ndarray:
        """The weight of each n-gram id (0 for ids not in the table)."""
        mask = len(self.keys) - 1
        slot = self._slots(grams, self.shift)
        found = self.keys[slot]
        # an empty slot's value is 0: only ids that met another id's slot need zeroing and probing
        out = self.values[slot]
        pending = np.flatnonzero(found != grams)
        pending = pending[found[pending] != 0]
        out[pending] = 0.0
        for probe in range(1, self.max_probe + 1):
            if not pending.size:
                break
            at = (slot[pending] + probe) & mask
            found = self.keys[at]
            hit = found == grams[pending]
            out[pending[hit]] = self.values[at[hit]]
            pending = pending[(found != 0) & ~hit]
        return out


@dataclass
class SkeletonModel:
    """Kept n-grams (sorted packed ids), their weights per unit rate, the bias, and length shrinkage."""

    grams: np.ndarray  # int64, sorted
    weights: np.ndarray  # float64, per unit of rate (count / skeleton tokens)
    bias: float
    mean_logit: float = 0.0  # calibration mean logit: what a text without evidence scores
    shrink_tokens: float = 100.0
    orders: tuple[int, ...] = ORDERS
    _table: GramTable | None = field(default=None, repr=False, compare=False)

    _dense: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def table(self) -> GramTable:
        """Hash table of the n-grams longer than DENSE_ORDER."""
        if self._table is None:
            long = self.grams >= (1 << (BITS * DENSE_ORDER))
            self._table = GramTable.of(self.grams[long], self.weights[long])
        return self._table

    def dense(self, n: int) -> np.ndarray:
        """Weights of every possible n-gram of order n <= DENSE_ORDER, indexed by packed id."""
        if n not in self._dense:
            table = np.zeros(1 << (BITS * n))
            short = self.grams < len(table)
            table[self.grams[short]] = self.weights[short]  # ids of a lower order are smaller: kept apart by order below
            self._dense[n] = table
        return self._dense[n]

    def _lookup(self, packed: np.ndarray, n: int) -> np.ndarray:
        return self.dense(n)[packed] if n <= DENSE_ORDER else self.table.lookup(packed)

    def raw_logits(self, tokens: SkeletonTokens) -> np.ndarray:
        """Bias + sum of weights x rates per document, before length shrinkage (numpy, no loop over
        documents). The documents' ids are laid back to back with `max(orders) - 1` SEPARATOR ids after
        each, so an n-gram that would run past its document's end contains a separator, which no kept
        n-gram does: it weighs 0 without a mask, and one segment sum per order gives each document's sum."""
        ids, counts = tokens.ids, tokens.counts
        span = max(self.orders)
        gap = max(span - 1, 1)  # at least 1: an empty document still owns a (zero) segment
        starts = tokens.starts + gap * np.arange(len(counts), dtype=np.int64)
        padded = np.full(len(ids) + gap * len(counts) + span, SEPARATOR, dtype=np.int64)
        padded[np.arange(len(ids), dtype=np.int64) + np.repeat(starts - tokens.starts, counts)] = ids
        sums = np.zeros(len(counts))
        if not len(counts):
            return sums + self.bias
        packed = padded
        for n in range(1, span + 1):
            if n > 1:
                packed = (packed[:-1] << BITS) | padded[n - 1:]
            if n in self.orders:
                sums += np.add.reduceat(self._lookup(packed, n), starts)
        return self.bias + sums / np.maximum(counts, 1)

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
        import scipy.sparse as sp

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

    @classmethod
    def stack(cls, parts: list[GramMatrix]) -> GramMatrix:
        """The rows of several matrices (each with its own columns) under the union of their columns."""
        import scipy.sparse as sp

        grams = np.unique(np.concatenate([p.grams for p in parts])) if parts else np.zeros(0, dtype=np.int64)
        mats = []
        for p in parts:
            cols = np.searchsorted(grams, p.grams)
            m = p.rates.tocoo()
            mats.append(sp.csr_matrix((m.data, (m.row, cols[m.col])), shape=(m.shape[0], len(grams))))
        rates = sp.vstack(mats).tocsr() if mats else sp.csr_matrix((0, 0))
        return cls(rates, grams, np.concatenate([p.n_tokens for p in parts]) if parts else np.zeros(0))

    def select(self, rows: np.ndarray | None = None, columns: np.ndarray | None = None) -> GramMatrix:
        rates, grams, n = self.rates, self.grams, self.n_tokens
        if rows is not None:
            rates, n = rates[rows], n[rows]
        if columns is not None:
            rates, grams = rates[:, columns], grams[columns]
        return GramMatrix(rates.tocsr(), grams, n)


def _fit_logistic(x: sp.csr_matrix, y: np.ndarray, w: np.ndarray, l2: float, iterations: int = 300) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression on a sparse matrix (L-BFGS); weights normalised to mean 1."""
    import scipy.optimize

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
    import scipy.sparse as sp

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
