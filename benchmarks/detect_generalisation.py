"""Held-out evaluation of the synthetic fraction on genres, datasets and generator families never fitted on.

Data: ../shared/data/detect_dev + detect_train, deduplicated (benchmarks/_heldout_data.py); documents of
one cluster (a pair, joined with pairs sharing text) always on one side. Splits:
- genre: hold out one genre (news = xsum + l2r news, stories = writing + literature, essays, reviews,
  academic, blogs, medical, wiki) from every dataset; fit on the rest;
- dataset: hold out one dataset (fastdetect = detect_dev, l2r, imbd, outfox);
- family: hold out one generator family (gpt, claude, gemini, llama, mistral, qwen, deepseek, t5): the
  clusters are halved by hash, the profile is fitted on one half without the family, tested on the
  other half with only that family's machine text.
Per split, sources are built per test genre at known machine fractions (FRACTIONS, sources of up to
--size documents, --repeats draws each; machine text of every held-out task, rewrites included).
The held-out genre's human documents are halved by cluster: one half is the `--human-reference` (older
human documents of the same source), the other feeds the mixtures, so both estimators read the same
sources. Printed per split and per kind of split: document AUROC, per-source MAE, 90% interval
coverage, mean width, largest estimate on a purely human source, for the default estimator and with the
human reference; how `revised` (LLM-polished human) text reads; and the detect map's documents per second
(style features alone, and the whole scorer with skeleton n-grams and topic vectors, in the same run).

Profiles are fitted as `synthscope calibrate` / scripts/fit_default_profile.py fit them (calibrate.fit_profile):
style features, skeleton n-grams (`--no-skeleton` to leave them out), topic centroids per calibration
group (`--group genre|domain`), and, with `--cv`, the held-out errors that widen the intervals (slow:
every split refits leave-one-group-out). Estimators compared on the same sources: `default` (what the
profile ships: matched to calibration groups by topic when it has centroids), `pooled` (MLE against the
pooled calibration densities), matched MLE / HDy at other temperatures, the adjusted count, QuaPy-style
quantifiers on the pooled densities (`--quantifiers`), and `--human-reference`.

    python benchmarks/detect_generalisation.py [--kinds genre dataset family] [--size 200] [--repeats 3] [--cv]
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import dataclass

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits
from _heldout_data import base_features, cached_features, gram_matrix, load_documents, topics as topic_table
from _record import recorded

from synthscope.detect.calibrate import FitOptions, LabelledFeatures, fit_profile, point_estimates
from synthscope.detect.estimator import Densities, adjusted_counts, density, estimate_fractions, group_densities, matched_weights
from synthscope.detect.features import FEATURE_NAMES
from synthscope.detect.profile import LOGIT_EDGES, N_BINS, CalibrationProfile, default_profile, score_bins
from synthscope.detect.reference import Histogram, SyntheticReference, estimate_with_references
from synthscope.detect.scoring import scorer_of
from synthscope.detect.skeleton_model import GramMatrix

FRACTIONS = (0.0, 0.1, 0.25, 0.5, 0.75)
GENRE_SPLITS = ("essays", "news", "reviews", "academic", "stories", "blogs", "medical", "wiki")
DATASET_SPLITS = ("fastdetect", "l2r", "imbd", "outfox")
FAMILY_SPLITS = ("gpt", "claude", "gemini", "llama", "mistral", "qwen", "deepseek", "t5")
MIN_POOL = 30
TAUS = (0.005, 0.01, 0.02)


@dataclass
class Corpus:
    """Every labelled document with its cached style features, skeleton rates and topic vectors."""

    docs: pl.DataFrame
    feats: pl.DataFrame
    grams: GramMatrix | None
    topics: np.ndarray


@dataclass
class Split:
    kind: str
    name: str
    train: np.ndarray  # mask over documents
    test: np.ndarray


def splits(docs: pl.DataFrame, kinds: list[str], pool: np.ndarray) -> list[Split]:
    """Held-out splits; `pool` masks the documents a profile may be fitted on."""
    genre, dataset, fam = (docs[c].to_numpy() for c in ("genre", "dataset", "family"))
    cluster = docs["cluster"]
    out = []

    def clusters_of(mask: np.ndarray) -> np.ndarray:
        return cluster.is_in(cluster.filter(pl.Series(mask)).unique().implode()).to_numpy()

    evaluable = np.isin(docs["label"].to_numpy(), ["human", "machine"]) & (fam != "old-base")
    if "genre" in kinds:
        for g in GENRE_SPLITS:
            touched = clusters_of(genre == g)
            out.append(Split("genre", g, pool & ~touched, evaluable & (genre == g)))
    if "dataset" in kinds:
        for d in DATASET_SPLITS:
            touched = clusters_of(dataset == d)
            out.append(Split("dataset", d, pool & ~touched, evaluable & (dataset == d)))
    if "family" in kinds:
        half = (cluster.hash(seed=11) % 2 == 0).to_numpy()
        human = docs["label"].to_numpy() == "human"
        for f in FAMILY_SPLITS:
            out.append(Split("family", f, pool & ~half & (fam != f), evaluable & half & (human | (fam == f))))
    return out


def labelled(corpus: Corpus, mask: np.ndarray, group: str = "genre") -> LabelledFeatures:
    d, f = corpus.docs.filter(pl.Series(mask)), corpus.feats.filter(pl.Series(mask))
    groups = d["genre"] if group == "genre" else d.select(pl.format("{}/{}", "dataset", "domain")).to_series()
    rows = np.flatnonzero(mask)
    return LabelledFeatures(
        f.select(FEATURE_NAMES), f["_n_words"].to_numpy(), (d["label"] == "machine").to_numpy().astype(int),
        groups.to_numpy().astype(str), None if corpus.grams is None else corpus.grams.select(rows=rows),
        corpus.topics[mask], d["cluster"].to_numpy(),
    )


def logits_of(profile: CalibrationProfile, data: LabelledFeatures) -> np.ndarray:
    """Score logits of labelled documents under a profile (style, and skeleton when it has one)."""
    scorer = scorer_of(profile)
    style = scorer.style.logits(scorer.style.standardise(data.features, data.n_words))
    skeleton = None if scorer.skeleton is None or data.grams is None else scorer.skeleton.logits_of_rates(data.grams)
    return scorer.combine(style, skeleton)


def auroc(human: np.ndarray, synth: np.ndarray) -> float:
    if not len(human) or not len(synth):
        return float("nan")
    ranks = pl.Series(np.concatenate([human, synth])).rank("average").to_numpy()
    return float((ranks[len(human):].sum() - len(synth) * (len(synth) + 1) / 2) / (len(human) * len(synth)))


def mixtures(idx_h: np.ndarray, idx_s: np.ndarray, bins: np.ndarray, size: int, repeats: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(S, K) histograms of sources mixing human and machine documents at FRACTIONS, their truths and
    the documents (indices) of each source."""
    n = min(size, len(idx_h))
    rows, truth, members = [], [], []
    for frac in FRACTIONS:
        k = int(round(frac * n))
        if k > len(idx_s):
            continue
        for _ in range(repeats):
            picked = np.concatenate([rng.choice(idx_s, k, replace=False), rng.choice(idx_h, n - k, replace=False)])
            rows.append(np.bincount(bins[picked], minlength=N_BINS))
            truth.append(k / n)
            members.append(picked)
    return np.asarray(rows, dtype=np.float64), np.asarray(truth), members


CENTERS = 0.5 * (LOGIT_EDGES[1:] + LOGIT_EDGES[:-1])


def other_quantifiers(counts: np.ndarray, profile: CalibrationProfile) -> dict[str, np.ndarray]:
    """Established quantifiers on the same binned scores (QuaPy's names), calibration densities pooled
    over groups with equal weight (as the mixture fit uses them)."""
    human = Densities.of(profile.human_hist, profile.human_group_hists).pooled()
    synth = Densities.of(profile.synthetic_hist, profile.synthetic_group_hists).pooled()
    n = counts.sum(axis=1, keepdims=True)
    q = counts / n
    post = 1 / (1 + np.exp(-CENTERS))
    out = {}
    # PACC: probabilistic adjusted count
    m, m_h, m_s = q @ post, human @ post, synth @ post
    out["PACC"] = np.clip((m - m_h) / (m_s - m_h), 0, 1)
    # median sweep of adjusted counts over thresholds where tpr - fpr > 0.25 (Forman 2008)
    fpr = np.cumsum(human[::-1])[::-1]
    tpr = np.cumsum(synth[::-1])[::-1]
    flagged = np.cumsum(q[:, ::-1], axis=1)[:, ::-1]
    ok = (tpr - fpr) > 0.25
    acc = np.clip((flagged[:, ok] - fpr[ok]) / (tpr[ok] - fpr[ok]), 0, 1)
    out["MS"] = np.median(acc, axis=1)
    # HDy: Hellinger distance between the source's density and the mixture, on an alpha grid
    grid = np.linspace(0, 1, 201)
    mix = grid[:, None] * synth + (1 - grid[:, None]) * human
    dens = density(counts, per_row=True)
    hd = (np.sqrt(dens)[:, None, :] * np.sqrt(mix)[None]).sum(axis=2)
    out["HDy"] = grid[np.argmax(hd, axis=1)]
    # EMQ (Saerens et al. 2002): posteriors re-weighted to a new prior, training prior 0.5
    prior = np.full(len(counts), 0.5)
    for _ in range(200):
        w1 = prior[:, None] * post
        w0 = (1 - prior[:, None]) * (1 - post)
        prior = (q * w1 / (w1 + w0)).sum(axis=1)
    out["EMQ"] = prior
    return out


def mpe_alpha(targets: np.ndarray, references: np.ndarray, min_reference: int = 20, z: float = 1.0) -> np.ndarray:
    """Mixture-proportion estimate from the source and its human reference alone (Blanchard & Scott
    style, no synthetic reference): 1 - min over score thresholds t of P_source(score < t) /
    P_reference(score < t), each CDF moved by z binomial standard errors against the ratio (source up,
    reference down) and thresholds with fewer than `min_reference` reference documents below them
    skipped. Vectorised over (S, K) histograms. Measured, not shipped (notes/detect.md, round 5)."""
    n_t, n_r = targets.sum(axis=1, keepdims=True), references.sum(axis=1, keepdims=True)
    below_t, below_r = np.cumsum(targets, axis=1), np.cumsum(references, axis=1)
    f_t, f_r = below_t / n_t, below_r / n_r
    upper_t = f_t + z * np.sqrt(f_t * (1 - f_t) / n_t)
    lower_r = f_r - z * np.sqrt(f_r * (1 - f_r) / n_r)
    ratio = np.where((below_r >= min_reference) & (lower_r > 0), upper_t / np.maximum(lower_r, 1e-12), np.inf)
    return np.clip(1 - ratio.min(axis=1), 0.0, 1.0)


QUAPY_METHODS = ("ACC", "PACC", "HDy", "DyS", "SMM", "KDEyML", "EMQ")


def quapy_quantifiers(profile: CalibrationProfile) -> dict[str, object]:
    """QuaPy's quantifiers (the `bench` extra) fitted on the profile's pooled out-of-fold calibration
    scores (bin centres of its histograms), with synthscope's score as the already trained classifier."""
    from quapy.method import aggregative
    from sklearn.base import BaseEstimator, ClassifierMixin

    class Scores(ClassifierMixin, BaseEstimator):
        """synthscope's logit score as a fitted binary classifier (column 0 of X is the logit)."""

        def __init__(self) -> None:
            self.classes_ = np.array([0, 1])

        def fit(self, x: np.ndarray, y: np.ndarray) -> Scores:
            return self

        def predict_proba(self, x: np.ndarray) -> np.ndarray:
            p = 1 / (1 + np.exp(-np.asarray(x)[:, 0]))
            return np.column_stack([1 - p, p])

        def predict(self, x: np.ndarray) -> np.ndarray:
            return (np.asarray(x)[:, 0] > 0).astype(int)

    human = np.repeat(CENTERS, np.asarray(profile.human_hist, dtype=int))
    synth = np.repeat(CENTERS, np.asarray(profile.synthetic_hist, dtype=int))
    x = np.concatenate([human, synth])[:, None]
    y = np.r_[np.zeros(len(human), dtype=int), np.ones(len(synth), dtype=int)]
    out = {}
    for name in QUAPY_METHODS:
        q = getattr(aggregative, name)(classifier=Scores(), fit_classifier=False, val_split=None)
        q.fit(x, y)
        out[name] = q
    return out


def fit_options(args: argparse.Namespace) -> FitOptions:
    return FitOptions(l2=args.l2, skeleton_l2=args.skeleton_l2, skeleton_keep=args.skeleton_keep, skeleton_weight=args.skeleton_weight,
                      tau=args.tau, quantifier=args.quantifier, cross_validate=args.cv, center_topics=args.center_topics)


PROFILE_CODE = ("calibrate.py", "scoring.py", "skeleton_model.py", "scorer.py", "features.py", "estimator.py", "topics.py")


def _profile_key(train: np.ndarray, args: argparse.Namespace) -> str:
    """Cache key of a fitted profile: the training documents, the fit options and the fitting code."""
    import hashlib
    from pathlib import Path

    import synthscope.detect as detect

    if args.profile_code:  # the fitting code of another revision (profiles cached by an earlier run; see --profile-code)
        import subprocess

        root = Path(detect.__file__).parent
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        rel = root.resolve().relative_to(Path(top).resolve())
        code = b"".join(subprocess.run(["git", "show", f"{args.profile_code}:{rel.as_posix()}/{name}"], cwd=root, capture_output=True,
                                       check=True).stdout for name in PROFILE_CODE)
    else:
        code = b"".join((Path(detect.__file__).parent / name).read_bytes() for name in PROFILE_CODE)
    options = repr(fit_options(args))
    if args.profile_code:  # fields added to FitOptions since that revision are left out of the key, as they were then
        import dataclasses
        import re

        then = subprocess.run(["git", "show", f"{args.profile_code}:{rel.as_posix()}/calibrate.py"], cwd=root, capture_output=True, text=True,
                              check=True).stdout
        for f in dataclasses.fields(FitOptions):
            if not re.search(rf"^    {f.name}:", then, flags=re.M):
                options = re.sub(rf", {f.name}=[^,)]*", "", options)
    h = hashlib.sha1(np.packbits(train).tobytes() + f"({options}, {args.group!r})".encode() + code)
    return h.hexdigest()[:16]


def fitted_profile(corpus: Corpus, train: np.ndarray, args: argparse.Namespace) -> CalibrationProfile:
    """The profile fitted on the training documents (cached under benchmarks/out/profiles/ with
    `--profile-cache`: estimator trials then skip the refits)."""
    if args.shipped:
        return default_profile()
    if not args.profile_cache:
        return fit_profile(labelled(corpus, train, args.group), l2=args.l2, options=fit_options(args))[0]
    from _heldout_data import OUT

    path = OUT / "profiles" / f"{_profile_key(train, args)}.json"
    if path.exists():
        return CalibrationProfile.load(path)
    profile = fit_profile(labelled(corpus, train, args.group), l2=args.l2, options=fit_options(args))[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    profile.save(path)
    return profile


def with_matching(profile: CalibrationProfile, tau: float, quantifier: str) -> CalibrationProfile:
    other = copy.copy(profile)
    other.matching = {**profile.matching, "tau": tau, "quantifier": quantifier}
    return other


@dataclass
class Case:
    """The sources of one test genre of one split, and what every estimator needs to read them."""

    kind: str
    split: str
    genre: str
    auroc: float
    profile: CalibrationProfile
    counts: np.ndarray  # (S, K) score histograms of the sources
    truth: np.ndarray  # (S,) machine fractions
    members: list[np.ndarray]  # documents of each source (indices into the split's test documents)
    reference: np.ndarray  # (K,) histogram of the genre's human reference half
    topic_sums: np.ndarray  # (S, DIM)
    test_bins: np.ndarray  # score bins of the split's test documents


def split_cases(split: Split, corpus: Corpus, args: argparse.Namespace, rng: np.random.Generator) -> list[Case]:
    """Fit (or load) the split's profile, score its test documents and build the mixed sources per genre."""
    started = time.perf_counter()
    profile = fitted_profile(corpus, split.train, args)
    fitted = time.perf_counter() - started
    test = corpus.docs.filter(pl.Series(split.test))
    logits = logits_of(profile, labelled(corpus, split.test, args.group))
    bins = score_bins(logits)
    y = (test["label"] == "machine").to_numpy()
    ref_half = (test["cluster"].hash(seed=5) % 2 == 0).to_numpy()
    test_topics = corpus.topics[split.test]
    cases = []
    for genre in sorted(set(test["genre"])):
        here = (test["genre"] == genre).to_numpy()
        h_mix, h_ref = bins[here & ~y & ~ref_half], bins[here & ~y & ref_half]
        if len(h_mix) < MIN_POOL or len(h_ref) < MIN_POOL or (here & y).sum() < MIN_POOL:
            continue
        idx = np.arange(len(bins))
        counts, truth, members = mixtures(idx[here & ~y & ~ref_half], idx[here & y], bins, args.size, args.repeats, rng)
        cases.append(Case(split.kind, split.name, genre, auroc(logits[here & ~y], logits[here & y]), profile, counts, truth, members,
                          np.bincount(h_ref, minlength=N_BINS).astype(float), np.stack([test_topics[m].sum(axis=0) for m in members]), bins))
    print(f"  {split.kind}/{split.name}: fitted in {fitted:.0f} s, scored in {time.perf_counter() - started - fitted:.0f} s", flush=True)
    return cases


def case_estimates(case: Case, args: argparse.Namespace) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every compared estimator's (estimate, ci_low, ci_high) on the case's sources (NaN: no interval)."""
    profile, counts, topic_sums = case.profile, case.counts, case.topic_sums
    matched = bool(profile.topic_centroids)
    estimates: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    nan = np.full(len(case.truth), np.nan)
    default = estimate_fractions(counts, profile, topic_sums=topic_sums)
    estimates["default"] = (default.estimate, default.ci_low, default.ci_high)
    if matched:
        pooled = estimate_fractions(counts, profile)
        estimates["pooled"] = (pooled.estimate, pooled.ci_low, pooled.ci_high)
        for tau in args.taus:
            for q in ("mle", "hdy"):
                estimates[f"matched-{q}-tau{tau}"] = (point_estimates(counts, with_matching(profile, tau, q), topic_sums)[0], nan, nan)
    estimates["adjusted-count"] = (adjusted_counts(counts, profile)[1], nan, nan)
    if args.quantifiers:
        estimates.update({k: (v, nan, nan) for k, v in other_quantifiers(counts, profile).items()})
    if args.quapy:
        for name, q in quapy_quantifiers(profile).items():
            values = np.array([q.quantify(CENTERS[case.test_bins[m]][:, None])[1] for m in case.members])
            estimates[f"quapy-{name}"] = (values, nan, nan)
    synthetic = SyntheticReference.of(
        [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in profile.synthetic_group_hists.values()], LOGIT_EDGES,
        [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in profile.human_group_hists.values()],
        float(profile.shift_sd.get("synthetic", 0.0)),
    )
    reference = np.broadcast_to(case.reference, counts.shape)
    with_ref, _ = estimate_with_references(counts, reference, synthetic, confidence=0.9, seed=1)
    estimates["human-reference"] = (with_ref.estimate, with_ref.ci_low, with_ref.ci_high)
    if matched:
        groups = group_densities(profile)
        matched_synthetic = SyntheticReference.of(
            [Histogram(LOGIT_EDGES, h) for h in groups.synthetic_counts], LOGIT_EDGES,
            [Histogram(LOGIT_EDGES, h) for h in groups.human_counts], float(profile.shift_sd.get("synthetic", 0.0)),
        )
        w = matched_weights(groups, topic_sums, counts.sum(axis=1))[0]
        with_ref, _ = estimate_with_references(counts, reference, matched_synthetic, confidence=0.9, seed=1, weights=w)
        estimates["human-reference-matched"] = (with_ref.estimate, with_ref.ci_low, with_ref.ci_high)
        fixed, _ = estimate_with_references(counts, reference, matched_synthetic, confidence=0.9, seed=1, weights=w, shift_penalty=None)
        estimates["human-reference-matched-fixed"] = (fixed.estimate, fixed.ci_low, fixed.ci_high)
        mpe = mpe_alpha(counts, reference)
        estimates["human-reference-mpe"] = (mpe, nan, nan)
        estimates["human-reference-max-mpe"] = (np.maximum(with_ref.estimate, mpe), nan, nan)
    return estimates


def case_rows(case: Case, estimates: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[dict]:
    """One row per (estimator, source)."""
    similarity = np.full(len(case.truth), np.nan)
    if "default" in estimates and case.profile.topic_centroids:
        groups = group_densities(case.profile)
        similarity = matched_weights(groups, case.topic_sums, case.counts.sum(axis=1))[1]
    common = {"kind": case.kind, "split": case.split, "genre": case.genre, "auroc": case.auroc, "reference_docs": int(case.reference.sum())}
    rows = []
    for name, (est, lo, hi) in estimates.items():
        for i in range(len(case.truth)):
            rows.append({**common, "estimator": name, "truth": case.truth[i], "estimate": float(est[i]), "lo": float(lo[i]), "hi": float(hi[i]),
                         "similarity": float(similarity[i])})
    return rows


def evaluate_split(split: Split, corpus: Corpus, args: argparse.Namespace, rng: np.random.Generator) -> list[dict]:
    rows = []
    for case in split_cases(split, corpus, args, rng):
        rows += case_rows(case, case_estimates(case, args))
    return rows


def summarise(rows: list[dict], detail: bool = True) -> pl.DataFrame:
    t = pl.DataFrame(rows).with_columns(
        (pl.col("estimate") - pl.col("truth")).abs().alias("err"),
        ((pl.col("lo") <= pl.col("truth") + 1e-9) & (pl.col("truth") - 1e-9 <= pl.col("hi"))).alias("covered"),
        (pl.col("hi") - pl.col("lo")).alias("width"),
    )
    aggs = [
        pl.col("auroc").mean().alias("auroc"),
        pl.col("err").mean().alias("mae"),
        pl.col("covered").filter(pl.col("lo").is_not_nan()).mean().alias("coverage"),
        pl.col("width").filter(pl.col("lo").is_not_nan()).mean().alias("width"),
        pl.col("estimate").filter(pl.col("truth") == 0).max().alias("human_max"),
        pl.col("estimate").filter(pl.col("truth") == 0).mean().alias("human_mean"),
        pl.col("similarity").mean().alias("similarity"),
    ]
    with pl.Config(tbl_rows=400, tbl_cols=20, float_precision=3, tbl_width_chars=220, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, tbl_formatting="ASCII_MARKDOWN"):
        if detail:
            print(t.group_by("kind", "split", "estimator", maintain_order=True).agg(*aggs))
        print(t.group_by("kind", "estimator", maintain_order=True).agg(*aggs))
        print(t.group_by("estimator", maintain_order=True).agg(*aggs))
    return t


def revised_reading(corpus: Corpus, pool: np.ndarray, args: argparse.Namespace) -> str:
    """How LLM-polished human text (`revised`) reads: its share flagged and the estimate of a source made
    only of it, by a profile fitted without its clusters (each revised text's human original held out too)."""
    docs = corpus.docs
    revised = (docs["label"] == "revised").to_numpy()
    cluster = docs["cluster"]
    touched = cluster.is_in(cluster.filter(pl.Series(revised)).unique().implode()).to_numpy()
    profile = fitted_profile(corpus, pool & ~touched, args)
    originals = touched & (docs["label"] == "human").to_numpy()
    bins = score_bins(logits_of(profile, labelled(corpus, revised)))
    human_bins = score_bins(logits_of(profile, labelled(corpus, originals)))
    counts = np.stack([np.bincount(bins, minlength=N_BINS), np.bincount(human_bins, minlength=N_BINS)]).astype(float)
    topic_sums = np.stack([corpus.topics[revised].sum(axis=0), corpus.topics[originals].sum(axis=0)])
    est = estimate_fractions(counts, profile, topic_sums=topic_sums)
    flagged = adjusted_counts(counts, profile)[0]
    return (f"revised (polished human) text, {int(counts[0].sum())} documents: estimate {est.estimate[0]:.3f} "
            f"[{est.ci_low[0]:.3f}, {est.ci_high[0]:.3f}], flagged {flagged[0]:.3f}; their human originals: estimate "
            f"{est.estimate[1]:.3f}, flagged {flagged[1]:.3f}")


def map_speed(docs: pl.DataFrame, profile: CalibrationProfile, n: int = 4000) -> str:
    """Documents per second of the detect analyzer's map on one core: with the style features alone (a
    format-1 profile) and with the given profile (skeleton n-grams, topic vectors), in the same run."""
    from synthscope.detect.analyzer import DetectAnalyzer
    from synthscope.text import prepare

    batch = prepare(docs.sort("id").head(n).select("text", pl.col("genre").alias("source")))
    style_only = copy.copy(profile)
    style_only.skeleton, style_only.combine, style_only.topic_centroids, style_only.matching = {}, {}, {}, {}
    lines = []
    for name, p in (("style features only", style_only), ("style + skeleton + topics", profile)):
        analyzer = DetectAnalyzer(p)
        analyzer.map(batch.head(200))  # warm caches (marker lists, wordfreq table)
        best = min(_timed(lambda: analyzer.map(batch.clone())) for _ in range(5))  # a new frame each call, as in a run (the analyzer reuses the scores of the batch it has just seen)
        lines.append(f"detect map, {name}: {n / best:,.0f} documents/s on one core (best of 5, {n} documents)")
    return "\n".join(lines)


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=["genre", "dataset", "family"])
    parser.add_argument("--splits", nargs="*", help="only these split names")
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--l2", type=float, default=10.0)
    parser.add_argument("--skeleton-l2", type=float, default=FitOptions.skeleton_l2)
    parser.add_argument("--skeleton-keep", type=int, default=FitOptions.skeleton_keep)
    parser.add_argument("--skeleton-weight", type=float, default=FitOptions.skeleton_weight)
    parser.add_argument("--no-skeleton", action="store_true", help="fit the style features only")
    parser.add_argument("--tau", type=float, default=FitOptions.tau)
    parser.add_argument("--taus", type=float, nargs="*", default=list(TAUS), help="temperatures of the matched MLE / HDy compared")
    parser.add_argument("--quantifier", choices=["mle", "hdy"], default=FitOptions.quantifier)
    parser.add_argument("--center-topics", action="store_true", help="topic cosines relative to the mean of the group centroids")
    parser.add_argument("--group", choices=["genre", "domain"], default="genre", help="calibration groups of the fitted profiles")
    parser.add_argument("--cv", action="store_true", help="fit the held-out errors that widen the intervals (slow)")
    parser.add_argument("--quantifiers", action="store_true", help="also PACC, median sweep, HDy, EMQ on pooled densities (own numpy versions)")
    parser.add_argument("--quapy", action="store_true", help="also QuaPy's ACC, PACC, HDy, DyS, SMM, KDEyML, EMQ on pooled densities (pip install '.[bench]')")
    parser.add_argument("--no-rewrites", action="store_true", help="fit without machine rewrites of human text")
    parser.add_argument("--old-base", action="store_true", help="fit with the old base models too")
    parser.add_argument("--shipped", action="store_true", help="evaluate the shipped default profile (no refit) on every split")
    parser.add_argument("--brief", action="store_true", help="print only the per-kind and overall tables")
    parser.add_argument("--profile-cache", action="store_true", help="keep fitted profiles under benchmarks/out/profiles/ (keyed by data, options and code)")
    parser.add_argument("--profile-code", metavar="REV", help="with --profile-cache: key the cache by the fitting code of git revision REV "
                        "(reuse the profiles an earlier run fitted when the fitting code changed since without changing what it fits; "
                        "say so with the figures)")
    parser.add_argument("--name", default="detect_generalisation")
    with recorded(parser.parse_known_args()[0].name), threadpool_limits(1):
        args = parser.parse_args()
        started = time.perf_counter()
        docs = load_documents()
        corpus = Corpus(docs, cached_features(docs, "base", base_features), None if args.no_skeleton else gram_matrix(docs), topic_table(docs))
        label, task, fam = (docs[c].to_numpy() for c in ("label", "task", "family"))
        pool = (label == "human") | ((label == "machine") & (args.old_base | (fam != "old-base")))
        if args.no_rewrites:
            pool &= task != "rewrite"
        rng = np.random.default_rng(7)
        rows = []
        for split in splits(docs, args.kinds, pool):
            if args.splits and split.name not in args.splits:
                continue
            rows += evaluate_split(split, corpus, args, rng)
        summarise(rows, detail=not args.brief)
        print(revised_reading(corpus, pool, args))
        print(map_speed(docs, fitted_profile(corpus, pool, args) if not args.shipped else default_profile()))
        print(f"elapsed {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
