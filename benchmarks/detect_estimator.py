"""Honest evaluation of the synthetic-fraction estimator on held-out domains and generators.

Leave-one-domain-out: calibrate on the other domains, then build sources from the held-out domain's
human and machine documents mixed at known fractions 0, 0.1, ..., 1. Leave-one-generator-out: hold out
one generator together with every document of its `pair`s (so pairs never straddle the split), calibrate
on the rest, mix the held-out generator's documents with the held-out human documents. Prints mean
absolute error, interval coverage, interval width and the estimate on purely human sources.

    python benchmarks/detect_estimator.py [--data PATH] [--old-generators] [--repeats 4] [--size 200]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

from synthscope.detect.calibrate import LabelledFeatures, fit_profile
from synthscope.detect.estimator import adjusted_count, estimate_fraction
from synthscope.detect.features import compute_features
from synthscope.detect.profile import histogram
from synthscope.detect.scorer import LinearModel
from synthscope.text import prepare

MODERN = ("davinci", "gpt-3.5-turbo", "gpt-4")
FRACTIONS = tuple(np.round(np.linspace(0, 1, 11), 2))
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "detect_dev.jsonl.gz"


def load(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    docs = pl.read_ndjson(path)
    prepared = prepare(docs)
    return docs, compute_features(prepared).with_columns(prepared["n_tokens"].cast(pl.Float64).alias("_n_words"))


def labelled(docs: pl.DataFrame, feats: pl.DataFrame, mask: np.ndarray) -> LabelledFeatures:
    d = docs.filter(pl.Series(mask))
    f = feats.filter(pl.Series(mask))
    return LabelledFeatures(f.drop("_n_words"), f["_n_words"].to_numpy(), (d["label"] == "machine").to_numpy().astype(int), d["domain"].to_numpy())


def logits_of(profile, data: LabelledFeatures) -> np.ndarray:
    model = LinearModel(profile.features, np.array(profile.mean), np.array(profile.scale), np.array(profile.weights), profile.bias, profile.clip, profile.shrink_words)
    return model.logits(model.standardise(data.features, data.n_words))


def score_auc(human: np.ndarray, synth: np.ndarray) -> float:
    """Probability that a machine document scores above a human one (Mann-Whitney AUC, ties half)."""
    if not len(human) or not len(synth):
        return float("nan")
    ranks = pl.Series(np.concatenate([human, synth])).rank("average").to_numpy()
    return float((ranks[len(human):].sum() - len(synth) * (len(synth) + 1) / 2) / (len(human) * len(synth)))


def evaluate(name: str, profile, human: np.ndarray, synth: np.ndarray, size: int, repeats: int, rng: np.random.Generator, confidence: float) -> list[dict]:
    rows = []
    fractions = FRACTIONS if len(synth) else (0.0,)
    n = min(size, len(human), len(synth)) if len(synth) else min(size, len(human))
    for frac in fractions:
        for r in range(repeats):
            k = int(round(frac * n))
            scores = np.concatenate([rng.choice(synth, k, replace=False), rng.choice(human, n - k, replace=False)])
            counts = histogram(scores)
            est = estimate_fraction(counts, profile, confidence=confidence, seed=int(rng.integers(1 << 30)))
            truth = k / n
            rows.append({"split": name, "truth": truth, "n": n, "estimate": est["estimate"], "ci_low": est["ci_low"], "ci_high": est["ci_high"],
                         "acc": adjusted_count(counts, profile)[1], "flagged": adjusted_count(counts, profile)[0]})
    return rows


def summarise(label: str, rows: list[dict]) -> None:
    t = pl.DataFrame(rows).with_columns(
        (pl.col("estimate") - pl.col("truth")).abs().alias("err"),
        (pl.col("acc") - pl.col("truth")).abs().alias("acc_err"),
        ((pl.col("ci_low") <= pl.col("truth") + 1e-9) & (pl.col("truth") - 1e-9 <= pl.col("ci_high"))).alias("covered"),
        (pl.col("ci_high") - pl.col("ci_low")).alias("width"),
    )
    per = t.group_by("split", maintain_order=True).agg(
        pl.col("n").first(), pl.col("err").mean().alias("mae"), pl.col("acc_err").mean().alias("acc_mae"),
        pl.col("covered").mean().alias("coverage"), pl.col("width").mean().alias("ci_width"),
        pl.col("estimate").filter(pl.col("truth") == 0).mean().alias("human_mean"),
        pl.col("estimate").filter(pl.col("truth") == 0).max().alias("human_max"),
        pl.col("flagged").filter(pl.col("truth") == 0).mean().alias("human_flagged"),
    )
    with pl.Config(tbl_rows=50, tbl_cols=20, float_precision=3, tbl_width_chars=200):
        print(f"\n== {label}")
        print(per)
    mixed = t.filter(pl.col("split").str.contains("squad").not_())
    human = t.filter(pl.col("truth") == 0)
    print(f"{label}: MAE {mixed['err'].mean():.3f} (adjusted count {mixed['acc_err'].mean():.3f}), "
          f"CI coverage {t['covered'].mean():.3f}, mean CI width {t['width'].mean():.3f}, "
          f"purely human estimate mean {human['estimate'].mean():.3f} max {human['estimate'].max():.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--old-generators", action="store_true", help="also calibrate on gpt2/neo/j/neox/opt")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--size", type=int, default=200, help="documents per mixed source")
    parser.add_argument("--confidence", type=float, default=0.9)
    parser.add_argument("--l2", type=float, default=10.0)
    parser.add_argument("--choose-l2", action="store_true", help="choose the L2 penalty by leave-one-domain-out error")
    args = parser.parse_args()
    started = time.perf_counter()
    docs, feats = load(args.data)
    rng = np.random.default_rng(7)
    gen = docs["generator"].to_numpy()
    is_human = (docs["label"] == "human").to_numpy()
    train_gen = is_human | np.isin(gen, MODERN + (() if not args.old_generators else tuple(set(gen) - {"human"})))
    domain = docs["domain"].to_numpy()
    pair = docs["pair"].to_numpy()

    lodo = []
    for d in ("xsum", "writing", "pubmed", "squad"):
        profile, _ = fit_profile(labelled(docs, feats, train_gen & (domain != d)), l2=None if args.choose_l2 else args.l2)
        test = labelled(docs, feats, (domain == d) & (is_human | np.isin(gen, MODERN)))
        s = logits_of(profile, test)
        print(f"held-out score AUC, domain={d}: {score_auc(s[test.label == 0], s[test.label == 1]):.3f}")
        lodo += evaluate(f"domain={d}", profile, s[test.label == 0], s[test.label == 1], args.size, args.repeats, rng, args.confidence)
    summarise("leave-one-domain-out", lodo)

    logo = []
    # The modern generators continue the same human openings (shared pairs), so hold out half of all
    # pairs at random: test on the held-out generator within that half, train on the other generators
    # within the other half. No pair is on both sides and the test generator is never trained on.
    pairs = np.unique(pair)
    held = np.isin(pair, np.random.default_rng(11).choice(pairs, len(pairs) // 2, replace=False))
    for g in MODERN:
        profile, _ = fit_profile(labelled(docs, feats, train_gen & ~held & (gen != g)), l2=None if args.choose_l2 else args.l2)
        test = labelled(docs, feats, held & (is_human | (gen == g)))
        s = logits_of(profile, test)
        print(f"held-out score AUC, generator={g}: {score_auc(s[test.label == 0], s[test.label == 1]):.3f}")
        logo += evaluate(f"generator={g}", profile, s[test.label == 0], s[test.label == 1], args.size, args.repeats, rng, args.confidence)
    summarise("leave-one-generator-out", logo)
    summarise("overall", lodo + logo)
    print(f"\n{len(lodo) + len(logo)} mixed sources, {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
