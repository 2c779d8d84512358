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
from _heldout_data import cached_features, load_documents
from _record import recorded

from synthscope.detect.calibrate import LabelledFeatures, fit_profile
from synthscope.detect.estimator import adjusted_counts, estimate_fractions
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


def mixtures(bins_h: np.ndarray, bins_s: np.ndarray, size: int, repeats: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(S, K) histograms of sources mixing human and machine score bins at FRACTIONS, and their truths."""
    n = min(size, len(bins_h))
    rows, truth = [], []
    for frac in FRACTIONS:
        k = int(round(frac * n))
        if k > len(bins_s):
            continue
        for _ in range(repeats):
            picked = np.concatenate([rng.choice(bins_s, k, replace=False), rng.choice(bins_h, n - k, replace=False)])
            rows.append(np.bincount(picked, minlength=N_BINS))
            truth.append(k / n)
    return np.asarray(rows, dtype=np.float64), np.asarray(truth)


def evaluate_split(split: Split, docs: pl.DataFrame, feats: pl.DataFrame, args: argparse.Namespace, rng: np.random.Generator) -> list[dict]:
    profile = default_profile() if args.shipped else fit_profile(labelled(docs, feats, split.train), l2=args.l2)[0]
    test = docs.filter(pl.Series(split.test))
    logits = logits_of(profile, labelled(docs, feats, split.test))
    bins = score_bins(logits)
    y = (test["label"] == "machine").to_numpy()
    ref_half = (test["cluster"].hash(seed=5) % 2 == 0).to_numpy()
    rows = []
    synthetic_refs = [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in profile.synthetic_group_hists.values()]
    calib_human = [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in profile.human_group_hists.values()]
    for genre in sorted(set(test["genre"])):
        here = (test["genre"] == genre).to_numpy()
        h_all, s_all = bins[here & ~y], bins[here & y]
        h_mix, h_ref = bins[here & ~y & ~ref_half], bins[here & ~y & ref_half]
        if len(h_mix) < MIN_POOL or len(h_ref) < MIN_POOL or len(s_all) < MIN_POOL:
            continue
        auc = auroc(logits[here & ~y], logits[here & y])
        counts, truth = mixtures(h_mix, s_all, args.size, args.repeats, rng)
        default = estimate_fractions(counts, profile, confidence=0.9, seed=1)
        acc = adjusted_counts(counts, profile)[1]
        reference = Histogram(LOGIT_EDGES, np.bincount(h_ref, minlength=N_BINS).astype(float))
        for i in range(len(truth)):
            with_ref = estimate_with_reference(reference, synthetic_refs, Histogram(LOGIT_EDGES, counts[i]), seed=i,
                                               calibration_human=calib_human, synthetic_shift_sd=profile.shift_sd["synthetic"])
            common = {"kind": split.kind, "split": split.name, "genre": genre, "auroc": auc, "truth": truth[i], "n": counts[i].sum(),
                      "reference_docs": len(h_ref)}
            rows.append({**common, "estimator": "default", "estimate": default.estimate[i], "lo": default.ci_low[i], "hi": default.ci_high[i]})
            rows.append({**common, "estimator": "adjusted-count", "estimate": acc[i], "lo": np.nan, "hi": np.nan})
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
        print(f"elapsed {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
