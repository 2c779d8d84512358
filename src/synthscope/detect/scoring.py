"""A profile's document scorer: the style model, the skeleton n-gram model, and how their logits combine.

The score logit is `scale * ((1 - lam) * z_style + lam * z_skeleton) + offset`, where z_* are each model's
logit standardised by its calibration mean and standard deviation, `lam` is the skeleton's weight (chosen
by held-out AUROC, see notes/detect.md) and scale/offset (Platt scaling on out-of-fold logits) put the sum
back on a logit scale, so the profile's logit bins and decision threshold keep their meaning. A profile
without a skeleton model (format version 1) scores with the style model alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from synthscope.detect.features import compute_features
from synthscope.detect.profile import CalibrationProfile
from synthscope.detect.scorer import LinearModel, fit_logistic
from synthscope.detect.skeleton import ORDERS, VOCABULARY_NAME, describe, parse, skeleton_tokens
from synthscope.detect.skeleton_model import SkeletonModel
from synthscope.text import N_TOKENS


@dataclass(frozen=True)
class Combination:
    """How the style and skeleton logits make the score logit."""

    skeleton_weight: float
    style_mean: float
    style_sd: float
    skeleton_mean: float
    skeleton_sd: float
    scale: float
    offset: float
    skeleton_human_mean: float = 0.0  # calibration human mean of the skeleton logit (for explanations)

    def logits(self, style: np.ndarray, skeleton: np.ndarray) -> np.ndarray:
        lam = self.skeleton_weight
        z = (1 - lam) * (style - self.style_mean) / self.style_sd + lam * (skeleton - self.skeleton_mean) / self.skeleton_sd
        return self.scale * z + self.offset

    @property
    def style_factor(self) -> float:
        """d(score logit) / d(style logit)."""
        return self.scale * (1 - self.skeleton_weight) / self.style_sd

    @property
    def skeleton_factor(self) -> float:
        """d(score logit) / d(skeleton logit)."""
        return self.scale * self.skeleton_weight / self.skeleton_sd


def fit_combination(style: np.ndarray, skeleton: np.ndarray, y: np.ndarray, weight: np.ndarray, skeleton_weight: float) -> Combination:
    """Standardise both logits (weighted), average them with `skeleton_weight`, and Platt-scale the sum."""
    w = weight / weight.sum()
    mean = lambda v: float(w @ v)  # noqa: E731
    sd = lambda v: float(np.sqrt(max(w @ (v - mean(v)) ** 2, 1e-12)))  # noqa: E731
    raw = Combination(skeleton_weight, mean(style), sd(style), mean(skeleton), sd(skeleton), 1.0, 0.0)
    z = raw.logits(style, skeleton)
    (a,), b = fit_logistic(z[:, None], y.astype(np.float64), weight, l2=0.0)
    # the two models' logits point the same way (higher = more machine-like): a combination whose
    # out-of-fold scores run backwards is not separation, and must not become one by a negative scale
    a = max(float(a), 1e-6)
    human = y == 0
    return Combination(raw.skeleton_weight, raw.style_mean, raw.style_sd, raw.skeleton_mean, raw.skeleton_sd, float(a), float(b),
                       float(np.average(skeleton[human], weights=weight[human])) if human.any() else 0.0)


@dataclass
class BatchScores:
    """A batch's scores: raw style features, their standardised values, each model's logit, the score logit."""

    features: pl.DataFrame
    z: np.ndarray  # (n, F) standardised style features
    style_logits: np.ndarray
    skeleton_logits: np.ndarray | None
    logits: np.ndarray


@dataclass
class Scorer:
    """The style model, and optionally the skeleton model and their combination."""

    style: LinearModel
    skeleton: SkeletonModel | None = None
    combination: Combination | None = None
    frequency_language: str | None = "en"  # wordfreq table of the word-frequency features

    def score(self, batch: pl.DataFrame) -> BatchScores:
        """Score a prepared batch (vectorised: polars and numpy over the whole batch)."""
        features = compute_features(batch, self.frequency_language)
        z = self.style.standardise(features, batch[N_TOKENS].to_numpy().astype(np.float64))
        style = self.style.logits(z)
        if self.skeleton is None or self.combination is None:
            return BatchScores(features, z, style, None, style)
        skeleton = self.skeleton.logits(skeleton_tokens(batch))
        return BatchScores(features, z, style, skeleton, self.combination.logits(style, skeleton))

    def combine(self, style: np.ndarray, skeleton: np.ndarray | None) -> np.ndarray:
        """Score logits from the two models' logits (the style logit alone without a skeleton model)."""
        if self.skeleton is None or self.combination is None or skeleton is None:
            return style
        return self.combination.logits(style, skeleton)


def style_model_of(profile: CalibrationProfile) -> LinearModel:
    """The style scorer stored in a profile."""
    return LinearModel(
        list(profile.features), np.asarray(profile.mean), np.asarray(profile.scale), np.asarray(profile.weights),
        float(profile.bias), float(profile.clip), float(profile.shrink_words),
    )


def scorer_of(profile: CalibrationProfile, frequency_language: str | None = "en") -> Scorer:
    """The whole scorer stored in a profile (word frequencies from `frequency_language`'s table, the
    profile's `features.frequency_language`)."""
    style = style_model_of(profile)
    if not profile.skeleton:
        return Scorer(style, frequency_language=frequency_language)
    sk = profile.skeleton
    grams = np.array([parse(g) for g in sk["grams"]], dtype=np.int64)
    order = np.argsort(grams, kind="stable")
    model = SkeletonModel(grams[order], np.asarray(sk["weights"], dtype=np.float64)[order], float(sk["bias"]),
                          float(sk["mean_logit"]), float(sk["shrink_tokens"]), tuple(int(o) for o in sk["orders"]))
    return Scorer(style, model, Combination(**profile.combine), frequency_language)


def skeleton_fields(model: SkeletonModel, combination: Combination) -> tuple[dict[str, Any], dict[str, float]]:
    """The profile's `skeleton` and `combine` entries of a fitted skeleton model (n-grams by weight)."""
    order = np.argsort(-model.weights, kind="stable")
    skeleton = {
        "vocabulary": VOCABULARY_NAME,
        "orders": list(model.orders or ORDERS),
        "bias": round(float(model.bias), 6),
        "mean_logit": round(float(model.mean_logit), 6),
        "shrink_tokens": float(model.shrink_tokens),
        "grams": [describe(int(model.grams[i])) for i in order],
        "weights": [float(f"{model.weights[i]:.6g}") for i in order],
    }
    return skeleton, {k: float(f"{v:.12g}") for k, v in asdict(combination).items()}  # stable across summation orders
