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
human reference; how `revised` (LLM-polished human) text reads; and the detect map's documents per second.

    python benchmarks/detect_generalisation.py [--kinds genre dataset family] [--size 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits
from _heldout_data import OUT, cached_features, load_documents
from _record import recorded

from synthscope.detect.calibrate import LabelledFeatures, fit_profile
from synthscope.detect.estimator import Densities, adjusted_counts, density, estimate_fractions, mle_alpha
from synthscope.detect.features import FEATURE_NAMES, compute_features
from synthscope.detect.profile import LOGIT_EDGES, N_BINS, CalibrationProfile, default_profile, score_bins
from synthscope.detect.scorer import LinearModel
from synthscope.report.reference import Histogram, estimate_with_reference
from synthscope.text import N_TOKENS

FRACTIONS = (0.0, 0.1, 0.25, 0.5, 0.75)
GENRE_SPLITS = ("essays", "news", "reviews", "academic", "stories", "blogs", "medical", "wiki")
DATASET_SPLITS = ("fastdetect", "l2r", "imbd", "outfox")
FAMILY_SPLITS = ("gpt", "claude", "gemini", "llama", "mistral", "qwen", "deepseek", "t5")
MIN_POOL = 30


def base_features(batch: pl.DataFrame) -> pl.DataFrame:
    return compute_features(batch).with_columns(batch[N_TOKENS].cast(pl.Float64).alias("_n_words"))


TOPIC_DIM = 256


def topic_vectors(docs: pl.DataFrame) -> np.ndarray:
    """Per document: L2-normalised hashed counts of its content words (Zipf < 4.5, letters only), a
    description of what the text is about that rewriting or generating it does not change much."""
    path = OUT / f"topics-{docs.height}-{TOPIC_DIM}.npy"
    if path.exists():
        return np.load(path)
    from synthscope.detect import markers
    from synthscope.text import prepare as prep

    zipf = markers.word_zipf()
    tokens = prep(docs.select("text"))["tokens"]
    words = pl.DataFrame({"row": np.arange(docs.height), "tok": tokens}).explode("tok").drop_nulls()
    words = words.filter(pl.col("tok").str.contains(r"^[a-z]{3,}$")).join(zipf, left_on="tok", right_on="word", how="left")
    words = words.filter(pl.col("zipf").fill_null(0.0) < 4.5).with_columns((pl.col("tok").hash(seed=2) % TOPIC_DIM).cast(pl.Int64).alias("b"))
    cells = words.group_by("row", "b").len()
    out = np.zeros((docs.height, TOPIC_DIM), dtype=np.float32)
    out[cells["row"].to_numpy(), cells["b"].to_numpy()] = cells["len"].to_numpy()
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    np.save(path, out)
    return out


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


def labelled(docs: pl.DataFrame, feats: pl.DataFrame, mask: np.ndarray, group: str = "genre") -> LabelledFeatures:
    d, f = docs.filter(pl.Series(mask)), feats.filter(pl.Series(mask))
    return LabelledFeatures(f.select(FEATURE_NAMES), f["_n_words"].to_numpy(), (d["label"] == "machine").to_numpy().astype(int), d[group].to_numpy().astype(str))


def logits_of(profile: CalibrationProfile, data: LabelledFeatures) -> np.ndarray:
    model = LinearModel(profile.features, np.array(profile.mean), np.array(profile.scale), np.array(profile.weights), profile.bias, profile.clip, profile.shrink_words)
    return model.logits(model.standardise(data.features, data.n_words))


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


def group_centroids(topics: np.ndarray, train: pl.DataFrame) -> dict[str, np.ndarray]:
    """Per calibration group (genre): class-balanced mean topic vector, normalised."""
    genre = train["genre"].to_numpy()
    machine = (train["label"] == "machine").to_numpy()
    out = {}
    for g in np.unique(genre):
        parts = [topics[(genre == g) & (machine == m)].mean(axis=0) for m in (False, True) if ((genre == g) & (machine == m)).any()]
        c = np.mean(parts, axis=0)
        out[str(g)] = c / max(np.linalg.norm(c), 1e-9)
    return out


def matched_reference(counts: np.ndarray, members: list[np.ndarray], topics: np.ndarray, profile: CalibrationProfile,
                      centroids: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """MLE against calibration groups weighted by topic similarity to the source (softmax over cosines)."""
    groups = [g for g in profile.human_group_hists if g in profile.synthetic_group_hists and g in centroids]
    if not groups:
        return {}
    h = density(np.asarray([profile.human_group_hists[g] for g in groups], dtype=float), per_row=True)
    s_ = density(np.asarray([profile.synthetic_group_hists[g] for g in groups], dtype=float), per_row=True)
    c = np.stack([centroids[g] for g in groups])
    v = np.stack([topics[m].mean(axis=0) for m in members])
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
    sim = v @ c.T
    out = {}
    grid = np.linspace(0, 1, 201)
    dens = np.sqrt(density(counts, per_row=True))
    for tau in (0.005, 0.01, 0.02):
        w = np.exp((sim - sim.max(axis=1, keepdims=True)) / tau)
        w /= w.sum(axis=1, keepdims=True)
        hh, ss = w @ h, w @ s_
        out[f"matched-tau{tau}"] = mle_alpha(counts, hh, ss)
        mix = grid[None, :, None] * ss[:, None, :] + (1 - grid[None, :, None]) * hh[:, None, :]  # (S, A, K)
        out[f"matched-HDy-tau{tau}"] = grid[np.argmax((dens[:, None, :] * np.sqrt(mix)).sum(axis=2), axis=1)]
    return out


def evaluate_split(split: Split, docs: pl.DataFrame, feats: pl.DataFrame, args: argparse.Namespace, rng: np.random.Generator) -> list[dict]:
    profile = default_profile() if args.shipped else fit_profile(labelled(docs, feats, split.train), l2=args.l2)[0]
    test = docs.filter(pl.Series(split.test))
    logits = logits_of(profile, labelled(docs, feats, split.test))
    bins = score_bins(logits)
    y = (test["label"] == "machine").to_numpy()
    ref_half = (test["cluster"].hash(seed=5) % 2 == 0).to_numpy()
    rows = []
    topics = topic_vectors(docs)
    test_topics = topics[split.test]
    centroids = group_centroids(topics[split.train], docs.filter(pl.Series(split.train)))
    synthetic_refs = [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in profile.synthetic_group_hists.values()]
    calib_human = [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in profile.human_group_hists.values()]
    for genre in sorted(set(test["genre"])):
        here = (test["genre"] == genre).to_numpy()
        h_all, s_all = bins[here & ~y], bins[here & y]
        h_mix, h_ref = bins[here & ~y & ~ref_half], bins[here & ~y & ref_half]
        if len(h_mix) < MIN_POOL or len(h_ref) < MIN_POOL or len(s_all) < MIN_POOL:
            continue
        auc = auroc(logits[here & ~y], logits[here & y])
        others: dict[str, np.ndarray] = {}
        idx = np.arange(len(bins))
        counts, truth, members = mixtures(idx[here & ~y & ~ref_half], idx[here & y], bins, args.size, args.repeats, rng)
        others.update(matched_reference(counts, members, test_topics, profile, centroids))
        default = estimate_fractions(counts, profile, confidence=0.9, seed=1)
        acc = adjusted_counts(counts, profile)[1]
        others.update(other_quantifiers(counts, profile))
        reference = Histogram(LOGIT_EDGES, np.bincount(h_ref, minlength=N_BINS).astype(float))
        for i in range(len(truth)):
            with_ref = estimate_with_reference(reference, synthetic_refs, Histogram(LOGIT_EDGES, counts[i]), seed=i,
                                               calibration_human=calib_human, synthetic_shift_sd=profile.shift_sd["synthetic"])
            common = {"kind": split.kind, "split": split.name, "genre": genre, "auroc": auc, "truth": truth[i], "n": counts[i].sum(),
                      "reference_docs": len(h_ref)}
            rows.append({**common, "estimator": "default", "estimate": default.estimate[i], "lo": default.ci_low[i], "hi": default.ci_high[i]})
            rows.append({**common, "estimator": "adjusted-count", "estimate": acc[i], "lo": np.nan, "hi": np.nan})
            for name, values in others.items():
                rows.append({**common, "estimator": name, "estimate": values[i], "lo": np.nan, "hi": np.nan})
            rows.append({**common, "estimator": "human-reference", "estimate": with_ref["estimate"], "lo": with_ref["ci_low"], "hi": with_ref["ci_high"]})
    return rows


def summarise(rows: list[dict]) -> pl.DataFrame:
    t = pl.DataFrame(rows).with_columns(
        (pl.col("estimate") - pl.col("truth")).abs().alias("err"),
        ((pl.col("lo") <= pl.col("truth") + 1e-9) & (pl.col("truth") - 1e-9 <= pl.col("hi"))).alias("covered"),
        (pl.col("hi") - pl.col("lo")).alias("width"),
    )
    aggs = [
        pl.col("auroc").mean().alias("auroc"),
        pl.col("err").mean().alias("mae"),
        pl.col("covered").mean().alias("coverage"),
        pl.col("width").mean().alias("width"),
        pl.col("estimate").filter(pl.col("truth") == 0).max().alias("human_max"),
        pl.col("estimate").filter(pl.col("truth") == 0).mean().alias("human_mean"),
    ]
    with pl.Config(tbl_rows=200, tbl_cols=20, float_precision=3, tbl_width_chars=220, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, tbl_formatting="ASCII_MARKDOWN"):
        per_split = t.group_by("kind", "split", "estimator", maintain_order=True).agg(*aggs)
        print(per_split)
        per_kind = t.group_by("kind", "estimator", maintain_order=True).agg(*aggs)
        print(per_kind)
        overall = t.group_by("estimator", maintain_order=True).agg(*aggs)
        print(overall)
    return t


def revised_reading(docs: pl.DataFrame, feats: pl.DataFrame, pool: np.ndarray, args: argparse.Namespace) -> str:
    """How LLM-polished human text (`revised`) reads: its share flagged and the estimate of a source made
    only of it, by a profile fitted without its clusters (each revised text's human original held out too)."""
    revised = (docs["label"] == "revised").to_numpy()
    cluster = docs["cluster"]
    touched = cluster.is_in(cluster.filter(pl.Series(revised)).unique().implode()).to_numpy()
    profile = default_profile() if args.shipped else fit_profile(labelled(docs, feats, pool & ~touched), l2=args.l2)[0]
    bins = score_bins(logits_of(profile, labelled(docs, feats, revised)))
    human_bins = score_bins(logits_of(profile, labelled(docs, feats, touched & (docs["label"] == "human").to_numpy())))
    counts = np.stack([np.bincount(bins, minlength=N_BINS), np.bincount(human_bins, minlength=N_BINS)]).astype(float)
    est = estimate_fractions(counts, profile)
    flagged = adjusted_counts(counts, profile)[0]
    return (f"revised (polished human) text, {int(counts[0].sum())} documents: estimate {est.estimate[0]:.3f} "
            f"[{est.ci_low[0]:.3f}, {est.ci_high[0]:.3f}], flagged {flagged[0]:.3f}; their human originals: estimate "
            f"{est.estimate[1]:.3f}, flagged {flagged[1]:.3f}")


def map_speed(docs: pl.DataFrame, n: int = 4000) -> str:
    """Documents per second of the detect analyzer's map (features + score + state) on one core."""
    from synthscope.detect.analyzer import DetectAnalyzer
    from synthscope.text import prepare

    batch = prepare(docs.sort("id").head(n).select("text", pl.col("genre").alias("source")))
    analyzer = DetectAnalyzer(default_profile())
    analyzer.map(batch.head(200))  # warm caches (marker lists, wordfreq table)
    best = min(_timed(lambda: analyzer.map(batch)) for _ in range(3))
    return f"detect map: {n / best:,.0f} documents/s on one core (best of 3, {n} documents)"


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=["genre", "dataset", "family"])
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--l2", type=float, default=10.0)
    parser.add_argument("--no-rewrites", action="store_true", help="fit without machine rewrites of human text")
    parser.add_argument("--old-base", action="store_true", help="fit with the old base models too")
    parser.add_argument("--shipped", action="store_true", help="evaluate the shipped default profile (no refit) on every split")
    parser.add_argument("--name", default="detect_generalisation")
    with recorded(parser.parse_known_args()[0].name), threadpool_limits(1):
        args = parser.parse_args()
        started = time.perf_counter()
        docs = load_documents()
        feats = cached_features(docs, "base", base_features)
        label, task, fam = (docs[c].to_numpy() for c in ("label", "task", "family"))
        pool = (label == "human") | ((label == "machine") & (args.old_base | (fam != "old-base")))
        if args.no_rewrites:
            pool &= task != "rewrite"
        rng = np.random.default_rng(7)
        rows = []
        for split in splits(docs, args.kinds, pool):
            rows += evaluate_split(split, docs, feats, args, rng)
        summarise(rows)
        print(revised_reading(docs, feats, pool, args))
        print(map_speed(docs))
        print(f"elapsed {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
