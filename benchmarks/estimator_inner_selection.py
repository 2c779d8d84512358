"""The default estimator's human-move prior chosen inside each split's training data (issue 10, round 6).

For every held-out split of `detect_generalisation.py --kinds genre family --cv --profile-cache` (run that
first: the fitted profiles come from its cache), the prior on the human density's move is chosen by a
leave-one-group-out run on the split profile's own calibration groups, without refitting and without
the test documents: each calibration group in turn plays an unseen genre (sources of 200 documents drawn
from its out-of-fold score histograms at the harness's machine fractions, matched by its topic centroid
to the other groups only), and the prior with the lowest MAE there is applied to the split's held-out
sources. Printed: the prior each split chose, and MAE / purely human max per kind for the inner choice
against the fixed priors on the same held-out sources. (The groups' scores are out-of-fold, but the
scorer saw their genres: the inner errors are milder than a truly unseen genre's.)

    python benchmarks/estimator_inner_selection.py
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import polars as pl
from _record import recorded

import detect_generalisation as dg
from estimator_trials import load_cases
from synthscope.detect.estimator import GroupDensities, group_densities, matched_alpha, matched_weights

PRIORS: tuple[float | None, ...] = (None, 8.0, 16.0, 32.0, 64.0, 128.0)  # per squared logit; None: no move
SOURCE_DOCUMENTS = 200
REPEATS = 3


def _name(prior: float | None) -> str:
    return "no move" if prior is None else f"prior {prior:g}"


def _without(groups: GroupDensities, g: int) -> GroupDensities:
    keep = np.arange(len(groups.names)) != g
    return dataclasses.replace(groups, names=[n for i, n in enumerate(groups.names) if keep[i]], human=groups.human[keep],
                               synthetic=groups.synthetic[keep], human_counts=groups.human_counts[keep],
                               synthetic_counts=groups.synthetic_counts[keep], centroids=groups.centroids[keep])


def inner_errors(groups: GroupDensities, rng: np.random.Generator) -> dict[str, float]:
    """MAE of each prior when every calibration group in turn is left out and read against the others."""
    errors: dict[str, list[float]] = {_name(p): [] for p in PRIORS}
    for g in range(len(groups.names)):
        others = _without(groups, g)
        h, s = groups.human_counts[g], groups.synthetic_counts[g]
        if h.sum() < 30 or s.sum() < 30:
            continue
        rows, truth = [], []
        for frac in dg.FRACTIONS:
            k = int(round(frac * SOURCE_DOCUMENTS))
            for _ in range(REPEATS):
                rows.append(rng.multinomial(k, s / s.sum()) + rng.multinomial(SOURCE_DOCUMENTS - k, h / h.sum()))
                truth.append(k / SOURCE_DOCUMENTS)
        counts, truth = np.asarray(rows, dtype=np.float64), np.asarray(truth)
        w = matched_weights(others, np.broadcast_to(groups.centroids[g], (len(counts), groups.centroids.shape[1])), counts.sum(axis=1))[0]
        p_h, p_s = w @ others.human, w @ others.synthetic
        for prior in PRIORS:
            errors[_name(prior)] += list(np.abs(matched_alpha(counts, p_h, p_s, "mle", prior)[0] - truth))
    return {k: float(np.mean(v)) for k, v in errors.items()}


def main() -> None:
    with recorded("estimator_inner_selection"):
        cases = load_cases()
        rng = np.random.default_rng(17)
        chosen: dict[tuple[str, str], float | None] = {}
        rows = []
        for case in cases:
            key = (case.kind, case.split)
            groups = group_densities(case.profile)
            if key not in chosen:
                inner = inner_errors(groups, rng)
                best = min(inner, key=inner.get)
                chosen[key] = next(p for p in PRIORS if _name(p) == best)
                print(f"{case.kind}/{case.split}: inner MAE " + ", ".join(f"{k} {v:.3f}" for k, v in inner.items()) + f" -> {best}", flush=True)
            w = matched_weights(groups, case.topic_sums, case.counts.sum(axis=1))[0]
            p_h, p_s = w @ groups.human, w @ groups.synthetic
            variants = {_name(p): matched_alpha(case.counts, p_h, p_s, "mle", p)[0] for p in PRIORS}
            variants["chosen inside training"] = variants[_name(chosen[key])]
            for name, est in variants.items():
                rows += [{"kind": case.kind, "variant": name, "truth": t, "estimate": float(e)} for t, e in zip(case.truth, est)]
        t = pl.DataFrame(rows).with_columns((pl.col("estimate") - pl.col("truth")).abs().alias("err"))
        with pl.Config(tbl_rows=50, float_precision=3, tbl_width_chars=200, tbl_hide_dataframe_shape=True,
                       tbl_hide_column_data_types=True, tbl_formatting="ASCII_MARKDOWN"):
            print(t.group_by("variant", "kind", maintain_order=True).agg(
                pl.col("err").mean().alias("mae"), pl.col("estimate").filter(pl.col("truth") == 0).max().alias("human_max"),
            ).pivot(on="kind", index="variant", values=["mae", "human_max"]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
