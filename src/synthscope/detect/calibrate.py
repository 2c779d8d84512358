"""Fit a calibration profile from labelled feature tables, with cross-validated quantification error.

Weights follow the published direction of each feature (features.DIRECTIONS): a feature whose fitted
weight contradicts it (a sign of topic confounding in the calibration data) is dropped and the model
refitted. Training weights every calibration group (a domain or source) equally within each class, so no single
domain's topic dominates. With skeleton n-gram rates (`LabelledFeatures.grams`) a second, sparse model is
fitted on them and combined with the style model (detect/scoring.py). Score histograms are built from
out-of-fold scores (random folds of clusters: documents the model did not see, from the calibration
domains). With topic vectors (`LabelledFeatures.topics`) the profile stores each group's topic centroid,
so sources are estimated against the groups they resemble. Held-out runs measure the estimator's error:
leave-one-group-out (a source unlike its nearest group) and halves of every group's clusters (a source
of a calibration genre, documents never seen); their errors, by the source's similarity to its nearest
group, widen the intervals (split conformal), and `synthscope calibrate` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from synthscope.detect.estimator import (
    CV_REFERENCE_SIZE, DEFAULT_TAU, HUMAN_MOVE_PENALTY, Densities, adjusted_count, group_densities, human_move_penalty, matched_alpha, matched_weights, mle_alpha,
)
from synthscope.detect.features import DIRECTIONS, FEATURE_NAMES, features_for
from synthscope.detect.profile import DEFAULT_LANGUAGES, LOGIT_EDGES, CalibrationProfile, histogram
from synthscope.detect.scorer import LinearModel, fit_logistic, fit_normalisation, sigmoid
from synthscope.detect.scoring import Scorer, fit_combination, skeleton_fields
from synthscope.detect.skeleton_model import GramMatrix, fit_skeleton

MAX_HUMAN_FPR = 0.05
CV_FRACTIONS = tuple(round(0.1 * k, 1) for k in range(11))
CV_REPEATS = 3
RANDOM_FOLDS = 5
INNER_FOLDS = 2  # out-of-fold folds of the profiles fitted inside cross-validation
L2_GRID = (3.0, 10.0, 30.0, 100.0)  # candidate penalties, chosen by leave-one-group-out quantification error
ERROR_QUANTILES = 101  # stored quantiles (0, 0.01, ..., 1) of held-out estimate errors
SIMILARITY_BANDS = 3  # held-out errors are stored for this many bands of similarity to the nearest group
ESTIMATE_EDGES = (0.0,)  # ... and, within each, by the estimate (lower edges; (0.0, 0.1, 0.5) measured: see notes/detect.md)
MIN_BAND_ROWS = 30
# sizes (documents) of the held-out sources whose errors widen the intervals: a source's band is read at its own
# size (interpolated in 1/sqrt(documents)), since the sampling noise in the errors depends on it (notes/detect.md, round 7)
CV_SOURCE_SIZES = (50, 200, 1000)


@dataclass
class FitOptions:
    """What to fit: penalties, the skeleton model and its weight, topic matching."""

    l2: float = 10.0
    skeleton_l2: float = 3.0
    skeleton_keep: int = 10_000
    skeleton_weight: float = 0.6
    skeleton_min_documents: int = 20
    tau: float = DEFAULT_TAU
    quantifier: str = "mle"
    human_move_penalty: float | None = HUMAN_MOVE_PENALTY  # the default estimator's fitted human move (None: none)
    center_topics: bool = False
    max_group_folds: int = 8  # leave-groups-out folds of the cross-validation (0: one per group)
    # languages of the calibration text: only the features that apply to them are fitted (features_for);
    # the skeleton vocabulary and the topic vectors' common words are English, so other languages go without
    languages: tuple[str, ...] = DEFAULT_LANGUAGES

    @property
    def english(self) -> bool:
        return list(self.languages) == ["en"]
    folds: int = RANDOM_FOLDS
    cross_validate: bool = True


@dataclass
class LabelledFeatures:
    """Labelled documents: style features, word counts, label (1 = synthetic), calibration group, and
    optionally skeleton n-gram rates, topic vectors and clusters (documents that must share a fold)."""

    features: pl.DataFrame
    n_words: np.ndarray
    label: np.ndarray
    group: np.ndarray
    grams: GramMatrix | None = None
    topics: np.ndarray | None = None
    cluster: np.ndarray | None = None

    def subset(self, mask: np.ndarray) -> LabelledFeatures:
        rows = np.flatnonzero(mask)
        return LabelledFeatures(
            self.features.filter(pl.Series(mask)), self.n_words[mask], self.label[mask], self.group[mask],
            None if self.grams is None else self.grams.select(rows=rows),
            None if self.topics is None else self.topics[mask],
            None if self.cluster is None else self.cluster[mask],
        )


@dataclass
class CrossValidation:
    """Held-out results: per-fold estimates on pure and mixed held-out documents."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def at_size(self, documents: int = CV_REFERENCE_SIZE) -> CrossValidation:
        """The rows of held-out sources of `documents` documents (rows without a size count as 200)."""
        return CrossValidation([r for r in self.rows if r.get("documents", CV_REFERENCE_SIZE) == documents])

    def sizes(self) -> list[int]:
        return sorted({int(r.get("documents", CV_REFERENCE_SIZE)) for r in self.rows})

    def mae(self, kind: str | None = None) -> float:
        rows = [r for r in self.rows if kind is None or r.get("kind") == kind]
        return float(np.mean([abs(r["estimate"] - r["truth"]) for r in rows])) if rows else float("nan")

    def error_quantiles(self, rows: list[dict[str, Any]] | None = None) -> list[float]:
        """Quantiles 0, 0.01, ..., 1 of held-out (estimate - truth): a split-conformal error sample."""
        rows = self.rows if rows is None else rows
        if not rows:
            return []
        errors = np.array([r["estimate"] - r["truth"] for r in rows])
        return [round(float(v), 5) for v in np.quantile(errors, np.linspace(0, 1, ERROR_QUANTILES))]

    def errors_by_similarity(self) -> list[dict[str, Any]]:
        """`errors_by_size_and_similarity` of every source size held out, each band with its size
        (`documents`); rows without a size (older callers) give bands without it."""
        if not any("documents" in r for r in self.rows):
            return self._errors_by_similarity()
        out = []
        for size in self.sizes():
            out += [{**band, "documents": size} for band in self.at_size(size)._errors_by_similarity()]
        return out

    def _errors_by_similarity(self) -> list[dict[str, Any]]:
        """Error quantiles by the held-out source's similarity to its nearest calibration group
        (SIMILARITY_BANDS bands of equal size; lower edge of each, the first starts at 0) and by the
        estimate itself (lower edges ESTIMATE_EDGES; a cell of fewer than MIN_BAND_ROWS rows takes its
        similarity band's errors): Mondrian split conformal, since how far off an estimate may be depends
        on both (a high estimate of an unseen genre runs low, an estimate of 0 cannot run lower)."""
        rows = [r for r in self.rows if r.get("similarity") is not None]
        if len(rows) < MIN_BAND_ROWS * SIMILARITY_BANDS:
            return []
        sims = np.array([r["similarity"] for r in rows])
        estimates = np.array([r["estimate"] for r in rows])
        order = np.argsort(sims, kind="stable")
        out = []
        for i, band in enumerate(np.array_split(order, SIMILARITY_BANDS)):
            lower = 0.0 if i == 0 else round(float(sims[band[0]]), 5)
            pooled = self.error_quantiles([rows[j] for j in band])
            edges = list(ESTIMATE_EDGES) + [np.inf]
            for lo, hi in zip(edges[:-1], edges[1:]):
                cell = band[(estimates[band] >= lo) & (estimates[band] < hi)]
                errors = self.error_quantiles([rows[j] for j in cell]) if len(cell) >= MIN_BAND_ROWS else pooled
                out.append({"similarity": lower, "estimate": lo, "errors": errors})
        return out

    def shift_sd(self) -> dict[str, float]:
        """RMS error of held-out estimates on pure human (truth 0) and pure synthetic (truth 1) groups."""
        out = {}
        for name, truth in (("human", 0.0), ("synthetic", 1.0)):
            errs = [r["estimate"] - truth for r in self.rows if r["truth"] == truth and r.get("kind", "group") == "group"]
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


def _random_folds(data: LabelledFeatures | int, folds: int = RANDOM_FOLDS) -> list[np.ndarray]:
    """Random held-out masks; documents of one cluster (when known) share a fold."""
    rng = np.random.default_rng(0)
    if isinstance(data, int) or data.cluster is None:
        n = data if isinstance(data, int) else len(data.label)
        assign = rng.integers(0, folds, n)
    else:
        _, index = np.unique(data.cluster, return_inverse=True)
        assign = rng.integers(0, folds, index.max() + 1)[index]
    return [assign == k for k in range(folds)]


def _group_folds(data: LabelledFeatures, max_folds: int = 0) -> list[np.ndarray]:
    """Held-out masks: one per group when at least two groups leave both classes to train on (with more
    groups than `max_folds` > 0, groups are dealt round-robin into `max_folds` folds, which costs fewer
    refits and holds out a little more), else random folds."""
    names = np.unique(data.group)
    if max_folds and len(names) > max_folds:
        sets = [names[k::max_folds] for k in range(max_folds)]
    else:
        sets = [names[k:k + 1] for k in range(len(names))]
    folds = []
    for members in sets:
        held = np.isin(data.group, members)
        if len(np.unique(data.label[~held])) == 2:
            folds.append(held)
    return folds if len(folds) >= 2 else _random_folds(data)


def _half_folds(data: LabelledFeatures) -> list[np.ndarray]:
    """Two held-out masks: halves of every group's clusters (or documents), so the held-out sources are of
    calibration genres but their documents were never seen."""
    half = _random_folds(data, 2)[0]
    return [half, ~half]


def _fit_parts(data: LabelledFeatures, options: FitOptions) -> tuple[LinearModel, Any]:
    """Style model, and the skeleton model when the data has skeleton rates."""
    style = fit_model(data, l2=options.l2, features=features_for(list(options.languages)))
    if data.grams is None or not options.english:
        return style, None
    skeleton = fit_skeleton(data.grams, data.label.astype(np.float64), group_weights(data.label, data.group),
                            l2=options.skeleton_l2, keep=options.skeleton_keep, min_documents=options.skeleton_min_documents)
    return style, skeleton


def _part_logits(style: LinearModel, skeleton: Any, data: LabelledFeatures) -> tuple[np.ndarray, np.ndarray | None]:
    return model_logits(style, data), None if skeleton is None or data.grams is None else skeleton.logits_of_rates(data.grams)


def fit_scorer(data: LabelledFeatures, options: FitOptions, folds: int = RANDOM_FOLDS) -> tuple[Scorer, np.ndarray]:
    """The scorer fitted on all documents and every document's out-of-fold score logit (`folds` random
    folds of clusters; 0 = in-sample). The style/skeleton combination is fitted on out-of-fold logits."""
    n = len(data.label)
    style_oof, skeleton_oof = np.zeros(n), np.zeros(n)
    style, skeleton = _fit_parts(data, options)
    if folds:
        for held in _random_folds(data, folds):
            if held.any() and len(np.unique(data.label[~held])) == 2:
                fold_style, fold_skeleton = _fit_parts(data.subset(~held), options)
                style_oof[held], sk = _part_logits(fold_style, fold_skeleton, data.subset(held))
                if sk is not None:
                    skeleton_oof[held] = sk
    else:
        style_oof, sk = _part_logits(style, skeleton, data)
        if sk is not None:
            skeleton_oof = sk
    if skeleton is None:
        return Scorer(style), style_oof
    combination = fit_combination(style_oof, skeleton_oof, data.label, group_weights(data.label, data.group), options.skeleton_weight)
    return Scorer(style, skeleton, combination), combination.logits(style_oof, skeleton_oof)


def topic_centroids(data: LabelledFeatures) -> dict[str, list[float]]:
    """Per group with both classes: the class-balanced mean of its documents' topic vectors."""
    if data.topics is None:
        return {}
    out = {}
    for g in np.unique(data.group):
        parts = [data.topics[(data.group == g) & (data.label == c)].mean(axis=0) for c in (0, 1) if ((data.group == g) & (data.label == c)).any()]
        if len(parts) == 2:
            out[str(g)] = [round(float(v), 6) for v in np.mean(parts, axis=0)]
    return out


def _profile_from(scorer: Scorer, logits: np.ndarray, data: LabelledFeatures, options: FitOptions, shift: dict[str, float],
                  training: dict[str, Any]) -> CalibrationProfile:
    model = scorer.style
    human_z = model.standardise(data.features.filter(pl.Series(data.label == 0)), data.n_words[data.label == 0])
    human_logits, synth_logits = logits[data.label == 0], logits[data.label == 1]
    by_group = lambda cls: {str(g): histogram(logits[(data.label == cls) & (data.group == g)]).tolist()  # noqa: E731
                            for g in np.unique(data.group[data.label == cls])}
    cut = float(np.quantile(human_logits, 1 - MAX_HUMAN_FPR))
    edge = float(LOGIT_EDGES[min(np.searchsorted(LOGIT_EDGES, cut), len(LOGIT_EDGES) - 1)])
    profile = CalibrationProfile(
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
    if scorer.skeleton is not None and scorer.combination is not None:
        profile.skeleton, profile.combine = skeleton_fields(scorer.skeleton, scorer.combination)
    profile.languages = list(options.languages)
    profile.topic_centroids = topic_centroids(data) if options.english else {}
    if profile.topic_centroids:
        profile.matching = {"tau": options.tau, "quantifier": options.quantifier}
        if options.human_move_penalty is not None:
            profile.matching["human_move_penalty"] = options.human_move_penalty
        if options.center_topics:
            center = np.mean([np.asarray(c) for c in profile.topic_centroids.values()], axis=0)
            profile.matching["center"] = [round(float(v), 6) for v in center]
    return profile


def point_estimates(counts: np.ndarray, profile: CalibrationProfile, topic_sums: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Point estimates of (S, K) histograms as the profile's estimator makes them (matched to calibration
    groups when the profile and `topic_sums` allow), and each source's similarity to its nearest group."""
    groups = group_densities(profile) if topic_sums is not None else None
    if groups is None:
        human = Densities.of(profile.human_hist, profile.human_group_hists).pooled()
        synth = Densities.of(profile.synthetic_hist, profile.synthetic_group_hists).pooled()
        return mle_alpha(counts, human, synth), None
    w, best = matched_weights(groups, topic_sums, counts.sum(axis=1))
    return matched_alpha(counts, w @ groups.human, w @ groups.synthetic, groups.quantifier, human_move_penalty(profile))[0], best


def _mixtures(test: LabelledFeatures, logits: np.ndarray, rng: np.random.Generator, mix_size: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(S, K) histograms of sources mixing the held-out documents at CV_FRACTIONS (CV_REPEATS draws each),
    their topic sums (None without topic vectors) and truths."""
    h, s = np.flatnonzero(test.label == 0), np.flatnonzero(test.label == 1)
    rows, topics, truth = [], [], []
    for frac in CV_FRACTIONS:
        if (frac < 1 and len(h) == 0) or (frac > 0 and len(s) == 0):
            continue
        n_s = int(round(frac * mix_size))
        for _ in range(CV_REPEATS):
            picked = np.concatenate([rng.choice(s, n_s) if n_s else s[:0], rng.choice(h, mix_size - n_s) if n_s < mix_size else h[:0]])
            rows.append(histogram(logits[picked]))
            if test.topics is not None:
                topics.append(test.topics[picked].sum(axis=0))
            truth.append(frac)
    return np.asarray(rows), (np.asarray(topics) if topics else None), np.asarray(truth)


def cross_validate(data: LabelledFeatures, options: FitOptions | None = None, seed: int = 0,
                   mix_size: int | tuple[int, ...] = CV_SOURCE_SIZES) -> CrossValidation:
    """Held-out estimates on pure and mixed sets: leave-one-group-out folds (kind `group`), and, with topic
    vectors, halves of every group (kind `half`: sources of calibration genres). Sources of every size in
    `mix_size` (documents drawn with replacement from the held-out group) are made from the same held-out
    scores; each row records its size (`documents`). Each size draws from its own random stream (the
    200-document one from `seed` itself, as when it was the only size)."""
    options = options or FitOptions()
    sizes = (mix_size,) if isinstance(mix_size, int) else tuple(mix_size)
    streams = {size: np.random.default_rng(seed if size == CV_REFERENCE_SIZE else [seed, size]) for size in sizes}
    result = CrossValidation()
    folds = [("group", m) for m in _group_folds(data, options.max_group_folds)]
    if data.topics is not None and options.english:
        folds += [("half", m) for m in _half_folds(data)]
    inner = INNER_FOLDS if data.grams is not None and options.english else 0
    for kind, held in folds:
        train = data.subset(~held)
        scorer, oof = fit_scorer(train, options, folds=inner)
        profile = _profile_from(scorer, oof, train, options, {"human": 0.0, "synthetic": 0.0}, {})
        test = data.subset(held)
        style, skeleton = _part_logits(scorer.style, scorer.skeleton, test)
        logits = scorer.combine(style, skeleton)
        for g in np.unique(test.group):
            part = test.subset(test.group == g)
            fold = str(g) if kind == "group" or len(np.unique(test.group)) > 1 else "random"
            for size in sizes:
                counts, topics, truth = _mixtures(part, logits[test.group == g], streams[size], size)
                if not len(truth):
                    continue
                estimate, similarity = point_estimates(counts, profile, topics)
                acc = [adjusted_count(c, profile)[1] for c in counts]
                for i in range(len(truth)):
                    result.rows.append({"kind": kind, "fold": fold, "truth": float(truth[i]), "estimate": float(estimate[i]),
                                        "similarity": None if similarity is None else float(similarity[i]),
                                        "adjusted_count": float(acc[i]), "documents": size})
    return result


def fit_profile(data: LabelledFeatures, l2: float | None = 10.0, metadata: dict[str, Any] | None = None,
                options: FitOptions | None = None, languages: list[str] | None = None) -> tuple[CalibrationProfile, CrossValidation]:
    """Fit the scorer on all documents; score histograms from out-of-fold scores and held-out errors
    from left-out groups (and halves of groups, with topic vectors).

    `l2=None` chooses the style penalty from L2_GRID by the leave-one-group-out quantification error (not
    random folds: the error that matters is on a domain the model has not seen). `languages` (default
    English, or the options') are the calibration text's languages: the profile records them, and only
    the features that apply to them are fitted (`features.features_for`).
    """
    if len(np.unique(data.label)) < 2:
        raise ValueError("calibration needs both human and synthetic documents")
    options = options or FitOptions()
    if languages is not None:
        options = FitOptions(**{**options.__dict__, "languages": tuple(languages)})
    if l2 is None:
        choices = []
        for c in L2_GRID:
            trial = FitOptions(**{**options.__dict__, "l2": c})
            choices.append((c, cross_validate(data, trial)))
        l2, cv = min(choices, key=lambda t: t[1].at_size().mae("group"))
        options = FitOptions(**{**options.__dict__, "l2": l2})
    else:
        options = FitOptions(**{**options.__dict__, "l2": l2})
        cv = cross_validate(data, options) if options.cross_validate else CrossValidation()
    scorer, logits = fit_scorer(data, options, folds=options.folds)
    reference_cv = cv.at_size() if CV_REFERENCE_SIZE in cv.sizes() else cv  # 200-document sources, as in earlier profiles
    training = {
        "human_documents": int((data.label == 0).sum()),
        "synthetic_documents": int((data.label == 1).sum()),
        "groups": sorted({str(g) for g in data.group}),
        "l2": l2,
        "cv_quantification_mae": reference_cv.mae(),
        "histograms": f"out-of-fold scores ({options.folds} random folds)",
        **({"skeleton_l2": options.skeleton_l2, "skeleton_weight": options.skeleton_weight} if scorer.skeleton is not None else {}),
        **(metadata or {}),
    }
    profile = _profile_from(scorer, logits, data, options, reference_cv.shift_sd(), training)
    profile.cv_errors = reference_cv.error_quantiles([r for r in reference_cv.rows if r.get("kind", "group") == "group"])
    if profile.topic_centroids:
        profile.cv_errors_by_similarity = cv.errors_by_similarity()
        sims = [r["similarity"] for r in reference_cv.rows if r.get("similarity") is not None]  # 200-document sources, as before
        if sims:
            profile.matching["min_similarity"] = round(float(min(sims)), 5)
    return profile, cv
