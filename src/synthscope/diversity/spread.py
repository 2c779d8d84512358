"""Embedding spread from mergeable sums: mean pairwise cosine distance and the Vendi score.

For unit vectors x_1..x_n the sums n, Σx and Σxxᵀ are enough:
- mean cosine similarity over ordered pairs i != j is (|Σx|² - n) / (n (n - 1));
- the Vendi score (Friedman & Dieng 2023) is exp of the Shannon entropy of the eigenvalues of K/n,
  K = XXᵀ; XᵀX/n = Σxxᵀ/n has the same non-zero eigenvalues (the dual form), so a d x d matrix
  replaces the n x n kernel and partial sums from any split of the documents simply add up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EmbeddingSums:
    """n, Σx and Σxxᵀ of unit-norm embeddings (float64)."""

    n: int
    total: np.ndarray
    outer: np.ndarray

    @classmethod
    def empty(cls, dim: int) -> EmbeddingSums:
        return cls(0, np.zeros(dim), np.zeros((dim, dim)))

    @classmethod
    def of(cls, vectors: np.ndarray) -> EmbeddingSums:
        """Sums of the rows of `vectors` (rows are L2-normalised; zero rows are dropped)."""
        x = unit_rows(vectors)
        return cls(int(x.shape[0]), x.sum(axis=0), x.T @ x)

    def merge(self, other: EmbeddingSums) -> EmbeddingSums:
        return EmbeddingSums(self.n + other.n, self.total + other.total, self.outer + other.outer)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, rows of zero length removed."""
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1)
    keep = norms > 0
    return x[keep] / norms[keep, None]


def mean_cosine_distance(sums: EmbeddingSums) -> float | None:
    """1 - mean cosine similarity over all pairs of distinct documents; None below two documents."""
    if sums.n < 2:
        return None
    similarity = (float(sums.total @ sums.total) - sums.n) / (sums.n * (sums.n - 1))
    return 1.0 - similarity


def entropy_score(eigenvalues: np.ndarray) -> float:
    """exp(Shannon entropy, nats) of non-negative eigenvalues summing to one."""
    lam = eigenvalues[eigenvalues > 1e-12]
    lam = lam / lam.sum()
    return float(np.exp(-(lam * np.log(lam)).sum()))


def vendi_score(sums: EmbeddingSums) -> float | None:
    """Vendi score with the cosine kernel, from Σxxᵀ (dual form); None without documents."""
    if sums.n < 1:
        return None
    return entropy_score(np.linalg.eigvalsh(sums.outer / sums.n))


def vendi_score_kernel(vectors: np.ndarray) -> float:
    """Vendi score from the n x n kernel matrix (reference form, for tests and small n)."""
    x = unit_rows(vectors)
    return entropy_score(np.linalg.eigvalsh(x @ x.T / x.shape[0]))
