"""Fit a calibration profile from labelled feature tables, with cross-validated quantification error.

Weights follow the published direction of each feature (features.DIRECTIONS): a feature whose fitted
weight contradicts it (a sign of topic confounding in the calibration data) is dropped and the model
refitted. Training weights every calibration group (a domain or source) equally within each class, so no single
domain's topic dominates. Score histograms are built from out-of-fold scores (random folds: documents
the model did not see, from the calibration domains). Leave-one-group-out runs measure the estimator's
cross-domain error: the profile's `shift_sd` (used to widen intervals) and the quantification error
printed by `synthscope calibrate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from synthscope.detect.estimator import Densities, adjusted_count, mle_alpha
from synthscope.detect.features import DIRECTIONS, FEATURE_NAMES, features_for
from synthscope.detect.profile import DEFAULT_LANGUAGES, LOGIT_EDGES, CalibrationProfile, histogram
from synthscope.detect.scorer import LinearModel, fit_logistic, fit_normalisation, sigmoid

MAX_HUMAN_FPR = 0.05
CV_FRACTIONS = tuple(round(0.1 * k, 1) for k in range(11))
CV_REPEATS = 3
RANDOM_FOLDS = 5
L2_GRID = (3.0, 10.0, 30.0, 100.0)  # candidate penalties, chosen by leave-one-group-out quantification error
ERROR_QUANTILES = 101  # stored quantiles (0, 0.01, ..., 1) of held-out estimate errors


@dataclass
class LabelledFeatures:
    """Feature table of labelled documents: features, word counts, label (1 = synthetic), group."""

    features: pl.DataFrame
    n_words: np.ndarray
    label: np.ndarray
    group: np.ndarray

    def subset(self, mask: np.ndarray) -> LabelledFeatures:
        return LabelledFeatures(self.features.filter(pl.Series(mask)), self.n_words[mask], self.label[mask], self.group[mask])


@dataclass
class CrossValidation:
    """Held-out results: per-fold estimates on pure and mixed held-out documents."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def mae(self) -> float:
        return float(np.mean([abs(r["estimate"] - r["truth"]) for r in self.rows])) if self.rows else float("nan")

    def error_quantiles(self) -> list[float]:
        """Quantiles 0, 0.01, ..., 1 of held-out (estimate - truth): a split-conformal error sample."""
        if not self.rows:
            return []
        errors = np.array([r["estimate"] - r["truth"] for r in self.rows])
        return [round(float(v), 5) for v in np.quantile(errors, np.linspace(0, 1, ERROR_QUANTILES))]

    def shift_sd(self) -> dict[str, float]:
        """RMS error of held-out estimates on pure human (truth 0) and pure synthetic (truth 1) groups."""
        out = {}
        for name, truth in (("human", 0.0), ("synthetic", 1.0)):
            errs = [r["estimate"] - truth for r in self.rows if r["truth"] == truth]
            out[name] = float(np.sqrt(np.mean(np.square(errs)))) if errs else 0.0
        return out


def group_weights(label: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Sample weights giving each class half the mass and each group an equal share within its class."""
    weight = np.zeros(len(label))
    for cls in (0, 1):
        in_cls = label == cls
        groups = np.unique(group[in_cls])
        for g in groups:
            members = in_cls & (group == g)
            weight[members] = 0.5 / len(groups) / members.sum()
    return weight * len(label)


def fit_model(data: LabelledFeatures, l2: float = 10.0, features: list[str] | None = None, shrink_words: float = 100.0) -> LinearModel:
    """Fit normalisation and logistic weights on labelled features."""
    names = features or list(FEATURE_NAMES)
    mean, scale = fit_normalisation(data.features, names)
    model = LinearModel(names, mean, scale, np.zeros(len(names)), 0.0, shrink_words=shrink_words)
    z = model.standardise(data.features, data.n_words)
    y, w = data.label.astype(np.float64), group_weights(data.label, data.group)
    signs = np.array([DIRECTIONS.get(n, 0) for n in names])
    active = np.ones(len(names), dtype=bool)
    weights = np.zeros(len(names))
    for _ in range(len(names)):  # active set: drop features whose weight contradicts the published direction
        weights[:] = 0.0
        weights[active], model.bias = fit_logistic(z[:, active], y, w, l2=l2)
        wrong = active & (signs * weights < 0)
        if not wrong.any():
            break
        active &= ~wrong
    model.weights = weights
    return model


def model_logits(model: LinearModel, data: LabelledFeatures) -> np.ndarray:
    return model.logits(model.standardise(data.features, data.n_words))


def _random_folds(n: int) -> list[np.ndarray]:
    assign = np.random.default_rng(0).integers(0, RANDOM_FOLDS, n)
    return [assign == k for k in range(RANDOM_FOLDS)]


def _folds(data: LabelledFeatures) -> list[np.ndarray]:
    """Held-out masks: one per group when at least two groups leave both classes to train on, else
    random folds."""
    folds = []
    for g in np.unique(data.group):
        held = data.group == g
        if len(np.unique(data.label[~held])) == 2:
            folds.append(held)
    return folds if len(folds) >= 2 else _random_folds(len(data.label))


def out_of_fold_logits(data: LabelledFeatures, l2: float = 10.0, features: list[str] | None = None) -> np.ndarray:
    """Scores of every document by a model fitted on the other random folds (in-domain, unseen)."""
    oof = np.zeros(len(data.label))
    for held in _random_folds(len(data.label)):
        if held.any():
            oof[held] = model_logits(fit_model(data.subset(~held), l2=l2, features=features), data.subset(held))
    return oof


def _profile_from(model: LinearModel, logits: np.ndarray, data: LabelledFeatures, shift: dict[str, float], training: dict[str, Any]) -> CalibrationProfile:
    human_z = model.standardise(data.features.filter(pl.Series(data.label == 0)), data.n_words[data.label == 0])
    human_logits, synth_logits = logits[data.label == 0], logits[data.label == 1]
    by_group = lambda cls: {str(g): histogram(logits[(data.label == cls) & (data.group == g)]).tolist()  # noqa: E731
                            for g in np.unique(data.group[data.label == cls])}
    cut = float(np.quantile(human_logits, 1 - MAX_HUMAN_FPR))
    edge = float(LOGIT_EDGES[min(np.searchsorted(LOGIT_EDGES, cut), len(LOGIT_EDGES) - 1)])
    return CalibrationProfile(
        features=list(model.features),
        mean=model.mean.tolist(),
        scale=model.scale.tolist(),
        weights=model.weights.tolist(),
        bias=model.bias,
        clip=model.clip,
        shrink_words=model.shrink_words,
        human_hist=histogram(human_logits).tolist(),
        synthetic_hist=histogram(synth_logits).tolist(),
        threshold=float(sigmoid(np.array(edge))),
        human_group_hists=by_group(0),
        synthetic_group_hists=by_group(1),
        human_mean_z=[round(float(v), 6) for v in human_z.mean(axis=0)],
        shift_sd=shift,
        training=training,
    )


def _simple_profile(model: LinearModel, data: LabelledFeatures) -> CalibrationProfile:
    """Profile from in-sample scores (used inside cross-validation)."""
    return _profile_from(model, model_logits(model, data), data, {"human": 0.0, "synthetic": 0.0}, {})


def _estimate(counts: np.ndarray, profile: CalibrationProfile) -> float:
    human = Densities.of(profile.human_hist, profile.human_group_hists)
    synth = Densities.of(profile.synthetic_hist, profile.synthetic_group_hists)
    return float(mle_alpha(counts, human.pooled(), synth.pooled())[0])


def cross_validate(data: LabelledFeatures, l2: float = 10.0, seed: int = 0, mix_size: int = 200, features: list[str] | None = None) -> CrossValidation:
    """Leave-one-group-out (or random-fold) estimates on held-out pure and mixed sets."""
    rng = np.random.default_rng(seed)
    result = CrossValidation()
    for held in _folds(data):
        model = fit_model(data.subset(~held), l2=l2, features=features)
        profile = _simple_profile(model, data.subset(~held))
        test = data.subset(held)
        logits = model_logits(model, test)
        h, s = logits[test.label == 0], logits[test.label == 1]
        fold = str(np.unique(test.group)[0]) if len(np.unique(test.group)) == 1 else "random"
        for frac in CV_FRACTIONS:
            if (frac < 1 and len(h) == 0) or (frac > 0 and len(s) == 0):
                continue
            n_s = int(round(frac * mix_size))
            for _ in range(CV_REPEATS):
                mixed = np.concatenate([rng.choice(s, n_s) if n_s else s[:0], rng.choice(h, mix_size - n_s) if n_s < mix_size else h[:0]])
                counts = histogram(mixed)
                result.rows.append({"fold": fold, "truth": frac, "estimate": _estimate(counts, profile),
                                    "adjusted_count": adjusted_count(counts, profile)[1]})
    return result


def fit_profile(
    data: LabelledFeatures, l2: float | None = 10.0, metadata: dict[str, Any] | None = None, languages: list[str] | None = None
) -> tuple[CalibrationProfile, CrossValidation]:
    """Fit the scorer on all documents; score histograms and held-out errors from left-out groups.

    `l2=None` chooses the penalty from L2_GRID by the leave-one-group-out quantification error (not
    random folds: the error that matters is on a domain the model has not seen). `languages` (default
    English) are the calibration text's languages: the profile records them, and only the features that
    apply to them are fitted (`features.features_for`).
    """
    if len(np.unique(data.label)) < 2:
        raise ValueError("calibration needs both human and synthetic documents")
    languages = list(languages or DEFAULT_LANGUAGES)
    features = features_for(languages)
    if l2 is None:
        l2, cv = min(((c, cross_validate(data, l2=c, features=features)) for c in L2_GRID), key=lambda t: t[1].mae())
    else:
        cv = cross_validate(data, l2=l2, features=features)
    model = fit_model(data, l2=l2, features=features)
    logits = out_of_fold_logits(data, l2=l2, features=features)
    training = {
        "human_documents": int((data.label == 0).sum()),
        "synthetic_documents": int((data.label == 1).sum()),
        "groups": sorted({str(g) for g in data.group}),
        "l2": l2,
        "cv_quantification_mae": cv.mae(),
        "histograms": f"out-of-fold scores ({RANDOM_FOLDS} random folds)",
        **(metadata or {}),
    }
    profile = _profile_from(model, logits, data, cv.shift_sd(), training)
    profile.cv_errors = cv.error_quantiles()
    profile.languages = languages
    return profile, cv
