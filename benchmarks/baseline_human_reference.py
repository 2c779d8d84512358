"""Baseline as human reference vs. the calibration profile's human reference, on the dev data.

For each held-out domain of ../shared/data/detect_dev.jsonl.gz: a document scorer and its calibration
histograms (human and synthetic scores) are fitted on the OTHER domains, as a shipped profile would be.
The held-out domain's pairs are split in two (documents of one `pair` stay on one side): half A's human
documents are the pre-LLM baseline snapshot; half B's human and machine documents are mixed into new
snapshots at known machine shares. Both estimators use the same scorer, the same synthetic reference
and the same mixture MLE + bootstrap (synthscope.report.reference.estimate_with_reference); they differ
only in the human reference: the calibration's (default) or the baseline's own (--baseline-is-human);
the shipped baseline variant also moves the synthetic reference by the baseline's median shift from
the calibration human scores (a domain that scores high for its human text does so for machine text).

Printed: mean absolute error, 90% interval coverage, and the mean estimate on purely human snapshots.

The scorer is a small logistic regression on six vectorised style features defined here, because the
detect analyzer is not on main yet; swap in its scores once it is (the estimator code is unchanged).

    python benchmarks/baseline_human_reference.py [--snapshot-docs 150] [--repeats 20]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

from synthscope.report.reference import Histogram, estimate_with_reference
from synthscope.text import prepare

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
EDGES = np.linspace(0.0, 1.0, 41)
FRACTIONS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)


def features(frame: pl.DataFrame) -> np.ndarray:
    """Six per-document style features (polars expressions over the whole frame)."""
    style = pl.read_csv(DATA / "markers" / "kobak_excess_words.csv").filter(pl.col("type") == "style")["word"]
    phrases = [p.strip().lower() for p in (DATA / "markers" / "hc3_indicators_chatgpt_en.txt").read_text().splitlines() if p.strip()]
    prepared = prepare(frame)
    n = pl.col("n_tokens").clip(1)
    sentences = pl.col("text").str.split(by=".").list.eval(pl.element().str.count_matches(r"\w+")).list.eval(pl.element().filter(pl.element() > 0))
    cols = prepared.select(
        (pl.col("tokens").list.eval(pl.element().is_in(style.implode())).list.sum() / n).alias("marker_rate"),
        (pl.sum_horizontal([pl.col("norm").str.count_matches(p, literal=True) for p in phrases]) / n * 100).alias("phrase_rate"),
        (pl.col("tokens").list.eval(pl.element().str.len_chars()).list.mean()).alias("word_length"),
        (pl.col("tokens").list.n_unique() / n).alias("type_token"),
        (sentences.list.std() / sentences.list.mean().clip(1)).fill_null(0).alias("burstiness"),
        (pl.col("text").str.count_matches(",") / n).alias("comma_rate"),
    )
    return cols.fill_null(0).fill_nan(0).to_numpy()


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardise, then Newton steps on the L2-penalised log-likelihood; returns (mean, scale, weights)."""
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    sample = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))  # balance the classes
    for _ in range(25):
        p = 1 / (1 + np.exp(-z @ w))
        grad = z.T @ (sample * (p - y)) + l2 * np.r_[0, w[1:]]
        hess = (z * (sample * p * (1 - p))[:, None]).T @ z + l2 * np.diag(np.r_[0, np.ones(len(w) - 1)])
        w -= np.linalg.solve(hess, grad)
    return mean, scale, w


def score(x: np.ndarray, model: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    mean, scale, w = model
    return 1 / (1 + np.exp(-(w[0] + ((x - mean) / scale) @ w[1:])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot-docs", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    dev = pl.read_ndjson(DATA / "detect_dev.jsonl.gz")
    x = features(dev)
    y = (dev["label"] == "machine").to_numpy().astype(float)
    domain = dev["domain"].to_numpy()
    half_a = (dev["pair"].cast(pl.String).hash(seed=0) % 2 == 0).to_numpy()
    rng = np.random.default_rng(1)
    rows = []
    for held in sorted(set(domain)):
        train = domain != held
        model = fit_logistic(x[train], y[train])
        s_all = score(x, model)
        calib_h = Histogram.from_scores(s_all[train & (y == 0)], EDGES)
        calib_s = Histogram.from_scores(s_all[train & (y == 1)], EDGES)
        here = domain == held
        baseline = Histogram.from_scores(s_all[here & half_a & (y == 0)], EDGES)
        human_b = s_all[here & ~half_a & (y == 0)]
        machine_b = s_all[here & ~half_a & (y == 1)]
        n = min(args.snapshot_docs, len(human_b))
        for alpha in FRACTIONS:
            k = int(round(alpha * n))
            for rep in range(args.repeats):
                snap = np.concatenate([rng.choice(human_b, n - k, replace=False), rng.choice(machine_b, k, replace=False)])
                for name, human_ref, shift in (
                    ("default (calibration human)", calib_h, None),
                    ("baseline-is-human, no shift", baseline, None),
                    ("baseline-is-human (shipped)", baseline, calib_h),
                ):
                    r = estimate_with_reference(human_ref, calib_s, snap, n_boot=300, seed=rep, method=name, calibration_human=shift)
                    rows.append({"domain": held, "estimator": name, "alpha": alpha, "estimate": r["estimate"],
                                 "covered": r["ci_low"] <= k / n <= r["ci_high"], "baseline_docs": int(baseline.total)})
    res = pl.DataFrame(rows).with_columns((pl.col("estimate") - pl.col("alpha")).abs().alias("abs_error"))
    pl.Config.set_tbl_rows(40)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    print(f"snapshots of {args.snapshot_docs} documents, {args.repeats} draws per (domain, fraction), fractions {FRACTIONS}")
    print(res.group_by("domain", "estimator").agg(
        pl.col("baseline_docs").first(),
        pl.col("abs_error").mean().round(3).alias("MAE"),
        pl.col("covered").mean().round(3).alias("coverage_90"),
        pl.col("estimate").filter(pl.col("alpha") == 0).mean().round(3).alias("est_on_human"),
    ).sort("domain", "estimator"))
    print(res.group_by("estimator").agg(
        pl.col("abs_error").mean().round(3).alias("MAE"),
        pl.col("covered").mean().round(3).alias("coverage_90"),
        pl.col("estimate").filter(pl.col("alpha") == 0).mean().round(3).alias("est_on_human"),
    ).sort("estimator"))
    print(f"elapsed {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
