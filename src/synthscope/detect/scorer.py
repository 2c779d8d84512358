"""A small linear model over the style features: logistic regression fitted with Newton's method.

Features are shrunk toward the calibration mean by document length (short texts carry little
evidence), standardised and clipped, then combined linearly into a logit; score = sigmoid(logit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from synthscope.detect.features import FEATURE_NAMES


@dataclass
class LinearModel:
    """Normalisation and weights of the scorer."""

    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    clip: float = 4.0
    shrink_words: float = 100.0

    def standardise(self, features: pl.DataFrame, n_words: np.ndarray) -> np.ndarray:
        """Length-shrunk, standardised, clipped feature matrix (nulls count as the mean: no evidence)."""
        x = features.select(self.features).to_numpy().astype(np.float64)
        x = np.where(np.isnan(x), self.mean, x)
        keep = (n_words / (n_words + self.shrink_words))[:, None] if self.shrink_words > 0 else 1.0
        x = self.mean + keep * (x - self.mean)
        return np.clip((x - self.mean) / self.scale, -self.clip, self.clip)

    def logits(self, z: np.ndarray) -> np.ndarray:
        """Logit score of standardised features. A row-wise sum, not a BLAS product: a document's
        logit is then the same to the last bit in any batch (BLAS rounds rows differently by batch
        size), so rankings of documents (the examples) do not depend on how the corpus was cut."""
        return (np.ascontiguousarray(z) * self.weights).sum(axis=-1) + self.bias


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, numerically safe."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def fit_normalisation(features: pl.DataFrame, names: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and a robust scale (standard deviation, floored) of calibration features."""
    x = features.select(names or list(FEATURE_NAMES)).to_numpy().astype(np.float64)
    mean = np.nanmean(x, axis=0)
    scale = np.nanstd(x, axis=0)
    return mean, np.where(scale > 1e-9, scale, 1.0)


def fit_logistic(z: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, l2: float = 1.0, iterations: int = 50) -> tuple[np.ndarray, float]:
    """Weighted L2-regularised logistic regression by Newton's method; returns (weights, bias)."""
    n, d = z.shape
    x = np.hstack([z, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    w = sample_weight / sample_weight.sum() * n
    for _ in range(iterations):
        p = sigmoid(x @ beta)
        grad = x.T @ (w * (p - y)) + penalty * beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta[:-1], float(beta[-1])
