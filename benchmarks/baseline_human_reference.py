"""Baseline as human reference (--baseline-is-human) vs. the default estimator, on the dev data.

For each held-out domain of ../shared/data/detect_dev.jsonl.gz, a detect calibration profile is fitted
on the OTHER domains (synthscope.detect.calibrate.fit_profile, machine text of the modern generators
davinci / gpt-3.5-turbo / gpt-4 the default profile targets), as a shipped profile would be. The held-out
domain's pairs are split in two by a hash of `pair` (documents of one pair stay on one side): half A's
human documents are the pre-LLM baseline snapshot; half B's human and machine documents are mixed into
new snapshots at known machine shares. Every snapshot is scored by the profile and estimated twice:
- default: detect's `estimate_fraction` (calibration human and synthetic histograms);
- baseline-is-human: `synthscope.report.reference.estimate_with_reference` with the baseline's score
  histogram as human reference and the profile's per-domain synthetic histograms, moved by half the
  baseline's median offset from the profile's human histograms, interval widened by the profile's
  `shift_sd["synthetic"]` (what `audit --baseline X --baseline-is-human` does);
- ablations of the synthetic reference's move: transfer 0 (not moved) and 1 (moved by the whole offset,
  the previous behaviour).
Calibration groups are domains, as in the shipped profile (scripts/fit_default_profile.py).
Printed per domain and overall: mean absolute error, 90% interval coverage, mean estimate on purely
human snapshots.

    python benchmarks/baseline_human_reference.py [--snapshot-docs 150] [--repeats 20] [--ablations]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

from synthscope.detect.analyzer import model_of
from synthscope.detect.calibrate import LabelledFeatures, fit_profile
from synthscope.detect.estimator import estimate_fraction
from synthscope.detect.features import compute_features
from synthscope.detect.profile import LOGIT_EDGES, N_BINS, score_bins
from synthscope.report.reference import Histogram, estimate_with_reference
from synthscope.text import N_TOKENS, prepare

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MODERN = ("davinci", "gpt-3.5-turbo", "gpt-4")
FRACTIONS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)


def hist(bins: np.ndarray) -> np.ndarray:
    return np.bincount(bins, minlength=N_BINS).astype(float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot-docs", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--ablations", action="store_true", help="also the synthetic reference moved by 0x and 1x the offset")
    args = parser.parse_args()
    started = time.perf_counter()
    dev = pl.read_ndjson(DATA / "detect_dev.jsonl.gz").filter((pl.col("label") == "human") | pl.col("generator").is_in(MODERN))
    batch = prepare(dev.rename({"domain": "source"}))
    features = compute_features(batch)
    n_words = batch[N_TOKENS].to_numpy().astype(float)
    y = (dev["label"] == "machine").to_numpy().astype(int)
    domain = dev["domain"].to_numpy()
    half_a = (dev["pair"].cast(pl.String).hash(seed=0) % 2 == 0).to_numpy()
    rng = np.random.default_rng(1)
    rows = []
    for held in sorted(set(domain)):
        if not ((domain == held) & (y == 1)).any():
            print(f"{held}: no machine text of {', '.join(MODERN)}; not held out (stays in training)")
            continue
        train = domain != held
        data = LabelledFeatures(features.filter(pl.Series(train)), n_words[train], y[train], domain[train])
        profile, _ = fit_profile(data)
        model = model_of(profile)
        bins = score_bins(model.logits(model.standardise(features, n_words)))
        here = domain == held
        baseline = Histogram(LOGIT_EDGES, hist(bins[here & half_a & (y == 0)]))
        synthetic = [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in profile.synthetic_group_hists.values()]
        calib_human = [Histogram(LOGIT_EDGES, np.asarray(h, dtype=float)) for h in profile.human_group_hists.values()]
        sd = profile.shift_sd["synthetic"]
        human_b, machine_b = bins[here & ~half_a & (y == 0)], bins[here & ~half_a & (y == 1)]
        n = min(args.snapshot_docs, len(human_b))
        for alpha in FRACTIONS:
            k = int(round(alpha * n))
            for rep in range(args.repeats):
                counts = hist(np.concatenate([rng.choice(human_b, n - k, replace=False), rng.choice(machine_b, k, replace=False)]))
                truth = k / n
                target = Histogram(LOGIT_EDGES, counts)
                results = {
                    "default (detect, calibration human)": estimate_fraction(counts, profile, seed=rep),
                    "baseline-is-human": estimate_with_reference(
                        baseline, synthetic, target, seed=rep, calibration_human=calib_human, synthetic_shift_sd=sd,
                    ),
                }
                if args.ablations:
                    for transfer in (0.0, 1.0):
                        results[f"ablation: synthetic moved x{transfer:g}"] = estimate_with_reference(
                            baseline, synthetic, target, seed=rep, calibration_human=calib_human,
                            synthetic_shift_sd=sd, shift_transfer=transfer,
                        )
                for name, r in results.items():
                    rows.append({"domain": held, "estimator": name, "alpha": truth, "estimate": r["estimate"],
                                 "covered": r["ci_low"] <= truth <= r["ci_high"], "width": r["ci_high"] - r["ci_low"],
                                 "baseline_docs": int(baseline.total), "snapshot_docs": n})
    res = pl.DataFrame(rows).with_columns((pl.col("estimate") - pl.col("alpha")).abs().alias("abs_error"))
    aggs = [
        pl.col("abs_error").mean().round(3).alias("MAE"),
        pl.col("covered").mean().round(3).alias("coverage_90"),
        pl.col("width").mean().round(3).alias("ci_width"),
        pl.col("estimate").filter(pl.col("alpha") == 0).mean().round(3).alias("est_on_human"),
    ]
    pl.Config.set_tbl_rows(40)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_fmt_str_lengths(40)
    pl.Config.set_tbl_width_chars(200)
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    pl.Config.set_tbl_hide_column_data_types(True)
    print(f"snapshots of up to {args.snapshot_docs} documents, {args.repeats} draws per (domain, fraction), fractions {FRACTIONS}")
    print(res.group_by("domain", "estimator").agg(pl.col("baseline_docs").first(), pl.col("snapshot_docs").first(), *aggs).sort("domain", "estimator"))
    print(res.group_by("estimator").agg(*aggs).sort("estimator"))
    print(f"elapsed {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
