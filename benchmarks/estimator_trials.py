"""Estimator variants tried in rounds 5 and 6 (issue 10), on the held-out sources of detect_generalisation.py.

Reads the same splits and sources as `detect_generalisation.py --kinds genre family --cv --profile-cache`
(run that first: the fitted profiles come from its cache) and compares, on the same score histograms:
- default estimator: the human density's fitted move at several priors (none = round 4), the synthetic
  density's move alone and with the human one, group weights from a per-word multinomial likelihood
  instead of the cosine, small estimates shrunk to 0 (hard threshold, likelihood-ratio test);
- interval rules: the bootstrap interval and the held-out error band combined in quadrature (shipped),
  by max, the band alone, the band scaled, the sum;
- human reference: mixture-proportion estimation (MPE) from the reference and the source alone, with
  its guards, and as a lower bound under the MLE.
Round 6:
- default estimator: one common move of both densities (the whole score axis of an unseen genre moves)
  on top of the human move, at several priors;
- interval rules: quadrature with only the sampling noise beyond that of the held-out sources (the
  held-out errors were measured on sources of `calibrate.cross_validate`'s 200 documents, so they hold a
  200-document source's sampling noise already);
- human reference: the reference histogram smoothed by its size (Silverman's n^-1/5 rate below an
  anchor of 100 / 200 / 400 documents; measured, then reverted: it cost MAE on held-out datasets); the reference's own sampling noise in the likelihood (the human density
  fitted jointly to the reference and the source's human part by EM, the reference's documents weighted
  1-8); the joint likelihood-ratio test of alpha > 0 (estimate 0 below a gain).
Round 7 (`--round7`: only these, on every kind of split, dataset included):
- why purely human l2r sources read up to 1.00 when l2r is held out: per l2r genre the median score
  (logits) of its human documents, the matched calibration group and its human median, the fitted human
  move, and how the purely human source reads against the matched densities, against each calibration
  group alone and against the best single group in hindsight (an oracle: what any matching could do);
- the human move's prior weakened (8 / 2 / 0.5 per squared logit) and set from the calibration groups'
  own spread (empirical Bayes: 1 / (2 var) of the groups' mean human logits).
Round 8 (`--round8`, every kind of split; the split profiles cached by the round-7 run, found under the
fitting code of ff57c5b: the fitting code changed since without changing what it fits, see `--profile-code`
of detect_generalisation.py):
- human reference, the synthetic side: the fitted move's prior from the calibration groups' spread of
  machine medians (empirical Bayes) instead of the fixed sd 0.41 logit, with and without the half-offset
  transfer; the transfer and the prior from a regression, across calibration groups, of the machine median on
  the human median (the reference pins the human median, the regression predicts where the machine text
  sits and how far off that guess may be); a move and a stretch (scale) of the synthetic density fitted
  jointly, priors from the groups' spread of medians and of log inter-quartile ranges; the synthetic
  density's composition over calibration groups fitted (EM) with the human density pinned.
- `--round8-bands`: intervals of the default estimator from profiles whose bands also hold the errors of
  inner folds holding out whole datasets (`calibrate.cross_validate`'s `dataset` folds), against the
  round-7 profiles' bands, on the same sources: every split whose new profile the harness has cached (the
  scorers and score densities are the same, only the bands differ; checked). The dataset folds were
  reverted after this measurement: the profiles are found by the keys they were cached under at 7cfd480.
Round 9 (`--round9`, every kind of split, the round-7 split profiles as in round 8): human reference,
mixture proportion estimation that needs no synthetic density. Best Bin Estimation (Garg et al. 2021,
`detect.reference.bbe_alpha`) against the reference: point estimate and a 90% percentile bootstrap over
reference and source documents (coverage, width); at other confidence parameters (for the record); on
the bins ordered by the fitted likelihood ratio (the shipped fit's synthetic density over the smoothed
reference) instead of the score; BBE's own lower bound (the upper confidence bound on 1 - a at its
threshold); hybrids with the likelihood estimate: max with BBE, max with that lower bound, and the shipped
estimate floored at the lower end of BBE's percentile bootstrap (on the interval's own replicates), with
the interval's ends raised too or not; and how the floor fares when the reference is not the source's
human population (moved by -0.5 / -0.25 / +0.25 logit, or pooled over the split's genres). Not shipped
(notes/detect.md, round 9).
Point estimates only except the interval rules and round 9's interval rows. Printed per kind of split: MAE,
purely human max / mean.

    python benchmarks/estimator_trials.py [--round7 | --round8 | --round8-bands | --round9]
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import polars as pl
from _record import recorded

import detect_generalisation as dg
import synthscope.detect.estimator as est
import synthscope.detect.reference as reference
from synthscope.detect.estimator import BANDWIDTH_BINS
from synthscope.detect.estimator import HUMAN_MOVE_GRID, density, group_densities, matched_weights, mle_alpha, moved_mle_alpha, shift_densities
from synthscope.detect.profile import LOGIT_EDGES
from synthscope.detect.reference import BASELINE_PRIOR_DOCUMENTS, Histogram, SyntheticReference, estimate_with_references, reference_densities

BIN = float(LOGIT_EDGES[1] - LOGIT_EDGES[0])
CV_SOURCE_DOCUMENTS = 200  # calibrate.cross_validate's mix_size: the held-out sources' size


def load_cases(kinds: tuple[str, ...] = ("genre", "family"), profile_code: str | None = None) -> list[dg.Case]:
    """The harness's cases (profiles from its cache), built exactly as its main() builds them."""
    from _heldout_data import base_features, cached_features, gram_matrix, load_documents, topics as topic_table

    captured: dict[str, object] = {}
    real_parse = dg.argparse.ArgumentParser.parse_args

    def grab(self, *a, **k):
        captured["args"] = real_parse(self, ["--kinds", *kinds, "--cv", "--profile-cache", *(["--profile-code", profile_code] if profile_code else [])])
        raise SystemExit(0)

    dg.argparse.ArgumentParser.parse_args = grab
    real_recorded = dg.recorded
    dg.recorded = lambda *a, **k: contextlib.nullcontext()
    try:
        dg.main()
    except SystemExit:
        pass
    finally:
        dg.argparse.ArgumentParser.parse_args = real_parse
        dg.recorded = real_recorded
    args = captured["args"]
    docs = load_documents()
    corpus = dg.Corpus(docs, cached_features(docs, "base", base_features), gram_matrix(docs), topic_table(docs))
    label, fam = docs["label"].to_numpy(), docs["family"].to_numpy()
    pool = (label == "human") | ((label == "machine") & (fam != "old-base"))
    rng = np.random.default_rng(7)
    cases = []
    for split in dg.splits(docs, args.kinds, pool):
        cases += dg.split_cases(split, corpus, args, rng)
    return cases


def matched(case: dg.Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    groups = group_densities(case.profile)
    w = matched_weights(groups, case.topic_sums, case.counts.sum(axis=1))[0]
    return w, w @ groups.human, w @ groups.synthetic


def two_moves(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, human_grid, synth_grid, penalty: float) -> np.ndarray:
    """MLE with both densities moved (grids in bins), penalty per squared logit on each move."""
    best_ll, best_a = np.full(len(counts), -np.inf), np.zeros(len(counts))
    for dh in human_grid:
        h = shift_densities(p_h, LOGIT_EDGES, np.full(len(counts), dh * BIN)) if dh else p_h
        for ds in synth_grid:
            s = shift_densities(p_s, LOGIT_EDGES, np.full(len(counts), ds * BIN)) if ds else p_s
            a = mle_alpha(counts, h, s)
            ll = (counts * np.log(a[:, None] * s + (1 - a[:, None]) * h)).sum(axis=1) - penalty * BIN ** 2 * (dh * dh + ds * ds)
            better = ll > best_ll
            best_ll, best_a = np.where(better, ll, best_ll), np.where(better, a, best_a)
    return best_a


def common_move(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, penalty: float, human_penalty: float = 32.0) -> np.ndarray:
    """MLE with both densities moved together by one common move (grid -4..4 logits in 0.5-logit steps,
    `penalty` per squared logit) and the human density by its own move as shipped (HUMAN_MOVE_GRID,
    `human_penalty` per squared logit)."""
    best_ll, best_a = np.full(len(counts), -np.inf), np.zeros(len(counts))
    for dc in np.arange(-16, 17, 2.0):
        hc = shift_densities(p_h, LOGIT_EDGES, np.full(len(counts), dc * BIN)) if dc else p_h
        sc = shift_densities(p_s, LOGIT_EDGES, np.full(len(counts), dc * BIN)) if dc else p_s
        for dh in HUMAN_MOVE_GRID:
            h = shift_densities(hc, LOGIT_EDGES, np.full(len(counts), dh * BIN)) if dh else hc
            a = mle_alpha(counts, h, sc)
            ll = (counts * np.log(a[:, None] * sc + (1 - a[:, None]) * h)).sum(axis=1) - penalty * (dc * BIN) ** 2 - human_penalty * (dh * BIN) ** 2
            better = ll > best_ll
            best_ll, best_a = np.where(better, ll, best_ll), np.where(better, a, best_a)
    return best_a


def size_smoothed(anchor: float):
    """A stand-in for `detect.estimator.density` in detect.reference: reference histograms (the calls
    with a pseudo-count) smoothed with a bandwidth that grows as the reference shrinks, BANDWIDTH_BINS *
    max(1, (anchor / n) ** 0.2) bins (Silverman's rate); every other call unchanged."""

    def smoothed(hist, bandwidth=BANDWIDTH_BINS, pseudo=None, per_row=False):
        if pseudo is None:
            return density(hist, bandwidth, per_row=per_row)
        hist = np.asarray(hist, dtype=np.float64)
        totals = hist.sum(axis=-1)
        widths = BANDWIDTH_BINS * np.maximum(1.0, (anchor / np.maximum(totals, 1.0)) ** 0.2)
        out = np.empty_like(hist)
        for w in np.unique(widths):
            rows = widths == w
            out[rows] = density(hist[rows], float(w), pseudo=pseudo, per_row=True)
        return out

    return smoothed


def joint_reference_alpha(counts: np.ndarray, refs: np.ndarray, p_s: np.ndarray, start: np.ndarray, weight: float = 1.0,
                          iterations: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Mixing weight with the human density fitted to the reference (its documents counted `weight` times)
    and the source's human part together (EM; the synthetic density fixed), and that human density."""
    k = counts.shape[1]
    a = start.copy()
    h = density(weight * refs, pseudo=BASELINE_PRIOR_DOCUMENTS / k, per_row=True)
    for _ in range(iterations):
        z = a[:, None] * p_s / (a[:, None] * p_s + (1 - a[:, None]) * h)
        a = (counts * z).sum(axis=1) / counts.sum(axis=1)
        h = density(weight * refs + counts * (1 - z), pseudo=BASELINE_PRIOR_DOCUMENTS / k, per_row=True)
    return a, h


def joint_log_likelihood(counts: np.ndarray, refs: np.ndarray, p_s: np.ndarray, a: np.ndarray, h: np.ndarray) -> np.ndarray:
    return (refs * np.log(h)).sum(axis=1) + (counts * np.log(a[:, None] * p_s + (1 - a[:, None]) * h)).sum(axis=1)


def multinomial_weights(case: dg.Case, scale: float, eps: float = 0.1) -> np.ndarray:
    groups = group_densities(case.profile)
    cen = np.maximum(groups.centroids, 0)
    p = cen / cen.sum(axis=1, keepdims=True)
    p = (p + eps / p.shape[1]) / (1 + eps)
    ll = scale * (case.topic_sums @ np.log(p).T)
    w = np.exp(ll - ll.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def mpe(targets: np.ndarray, references: np.ndarray, min_reference: int, z: float, lower_half: bool = False) -> np.ndarray:
    alpha = dg.mpe_alpha(targets, references, min_reference, z)
    if not lower_half:
        return alpha
    n_r = references.sum(axis=1, keepdims=True)
    below = np.cumsum(references, axis=1)
    masked = np.where(below / n_r <= 0.5, references, 0.0)  # thresholds only in the reference's lower half
    rest = references.sum(axis=1, keepdims=True) - masked.sum(axis=1, keepdims=True)
    return dg.mpe_alpha(targets, masked + np.where(np.arange(references.shape[1]) == references.shape[1] - 1, rest, 0.0), min_reference, z)


def default_variants(case: dg.Case) -> dict[str, np.ndarray]:
    counts = case.counts
    w, p_h, p_s = matched(case)
    out = {"cosine, no move (round 4)": mle_alpha(counts, p_h, p_s)}
    grid = np.arange(-12, 13, dtype=float)
    for prior in (16, 32, 64, 128):
        out[f"human move, prior {prior}"] = moved_mle_alpha(counts, p_h, p_s, LOGIT_EDGES, "human", grid, prior * BIN ** 2)[0]
    coarse = np.arange(-12, 13, 2.0)
    for prior in (1, 4):
        out[f"synthetic move, prior {prior}"] = two_moves(counts, p_h, p_s, [0.0], coarse, prior)
        out[f"both moves, prior {prior}"] = two_moves(counts, p_h, p_s, coarse, coarse, prior)
    groups = group_densities(case.profile)
    for scale in (0.1, 0.3, 1.0):
        wm = multinomial_weights(case, scale)
        out[f"multinomial weights, scale {scale}"] = mle_alpha(counts, wm @ groups.human, wm @ groups.synthetic)
    for prior in (0.5, 2, 8):
        out[f"common move of both, prior {prior} (+ human move 32)"] = common_move(counts, p_h, p_s, prior)
    base = out["cosine, no move (round 4)"]
    ll = lambda a: (counts * np.log(a[:, None] * p_s + (1 - a[:, None]) * p_h)).sum(axis=1)  # noqa: E731
    gain = ll(base) - ll(np.zeros_like(base))
    for t in (0.08, 0.13):
        out[f"shrink below {t}"] = np.where(base < t, 0.0, base)
    for t in (2, 8):
        out[f"shrink unless LR gain > {t}"] = np.where(gain < t, 0.0, base)
    return out


def reference_inputs(case: dg.Case) -> tuple[SyntheticReference, np.ndarray, np.ndarray]:
    """The shipped reference estimator's inputs for a case: the groups' synthetic reference, the matched
    weights and the reference counts broadcast to every source."""
    return reference_synthetic(case), matched(case)[0], np.broadcast_to(case.reference, case.counts.shape)


def reference_variants(case: dg.Case) -> dict[str, np.ndarray]:
    synthetic, w, ref = reference_inputs(case)
    out = {}
    out["reference, no move (round 4)"] = estimate_with_references(case.counts, ref, synthetic, weights=w, shift_penalty=None, n_boot=2)[0].estimate
    shipped = estimate_with_references(case.counts, ref, synthetic, weights=w, n_boot=2)[0]
    out["reference, synthetic move prior 3 (round 5, shipped)"] = shipped.estimate
    try:
        for anchor in (100.0, 200.0, 400.0):
            reference.density = size_smoothed(anchor)
            out[f"reference smoothed by size, anchor {anchor:.0f} documents"] = estimate_with_references(
                case.counts, ref, synthetic, weights=w, n_boot=2)[0].estimate
    finally:
        reference.density = density
    h, s_point, _ = reference_densities(ref, synthetic, weights=w)
    s_moved = shift_densities(s_point, LOGIT_EDGES, shipped.shift)
    for weight in (1.0, 2.0, 4.0, 8.0):
        out[f"joint EM human density, reference x{weight:g}"] = joint_reference_alpha(case.counts, ref, s_moved, shipped.estimate, weight)[0]
    a_joint, h_joint = joint_reference_alpha(case.counts, ref, s_moved, shipped.estimate)
    h_null = density(ref + case.counts, pseudo=BASELINE_PRIOR_DOCUMENTS / ref.shape[1], per_row=True)
    gain = joint_log_likelihood(case.counts, ref, s_moved, a_joint, h_joint) - joint_log_likelihood(case.counts, ref, s_moved, np.zeros(len(a_joint)), h_null)
    for t in (0.5, 1.35):
        out[f"shipped, 0 unless joint LR gain > {t}"] = np.where(gain > t, shipped.estimate, 0.0)
    for min_ref in (10, 20, 40):
        for z in (0.0, 1.0, 2.0):
            out[f"MPE, >= {min_ref} ref docs, z {z}"] = mpe(case.counts, ref, min_ref, z)
    out["MPE, >= 20, z 1, lower half"] = mpe(case.counts, ref, 20, 1.0, lower_half=True)
    out["max(shipped, MPE >= 20 z 1)"] = np.maximum(shipped.estimate, out["MPE, >= 20 ref docs, z 1.0"])
    return out


def interval_rules(cases: list[dg.Case]) -> pl.DataFrame:
    """Coverage / width of the default estimator's 90% interval under other ways of adding the held-out band."""
    captured = {}
    real = est._widen

    def spy(estimate, lo_q, hi_q, profile, confidence, similarity=None, documents=None):
        captured["v"] = (estimate, lo_q, hi_q, est.calibration_error(profile, estimate, confidence, similarity, documents))
        return real(estimate, lo_q, hi_q, profile, confidence, similarity, documents)

    est._widen = spy
    rows = []
    try:
        for case in cases:
            est.estimate_fractions(case.counts, case.profile, topic_sums=case.topic_sums)
            e, lo, hi, (below, above) = captured["v"]
            sl, sh = np.maximum(e - lo, 0), np.maximum(hi - e, 0)
            beyond = np.sqrt(np.clip(1 - case.counts.sum(axis=1) / CV_SOURCE_DOCUMENTS, 0, 1))  # sampling noise beyond a 200-document source's
            rules = {"quadrature (shipped)": (np.hypot(sl, below), np.hypot(sh, above)), "max": (np.maximum(sl, below), np.maximum(sh, above)),
                     "band only": (below, above), "quadrature, band x0.9": (np.hypot(sl, 0.9 * below), np.hypot(sh, 0.9 * above)),
                     "quadrature, band x1.1": (np.hypot(sl, 1.1 * below), np.hypot(sh, 1.1 * above)), "sum": (sl + below, sh + above),
                     "quadrature of the sampling noise beyond the held-out sources' (round 6)": (np.hypot(beyond * sl, below), np.hypot(beyond * sh, above))}
            for name, (down, up) in rules.items():
                low, high = np.maximum(e - down, 0), np.minimum(e + up, 1)
                for i in range(len(e)):
                    rows.append({"kind": case.kind, "rule": name, "covered": bool(low[i] <= case.truth[i] + 1e-9 <= high[i] + 2e-9), "width": high[i] - low[i]})
    finally:
        est._widen = real
    return pl.DataFrame(rows).group_by("rule", "kind", maintain_order=True).agg(pl.col("covered").mean().alias("coverage"), pl.col("width").mean())


def table(cases: list[dg.Case], variants) -> pl.DataFrame:
    rows = []
    for case in cases:
        for name, values in variants(case).items():
            rows += [{"kind": case.kind, "variant": name, "truth": t, "estimate": float(v)} for t, v in zip(case.truth, values)]
    t = pl.DataFrame(rows).with_columns((pl.col("estimate") - pl.col("truth")).abs().alias("err"))
    return t.group_by("variant", "kind", maintain_order=True).agg(
        pl.col("err").mean().alias("mae"),
        pl.col("estimate").filter(pl.col("truth") == 0).max().alias("human_max"),
        pl.col("estimate").filter(pl.col("truth") == 0).mean().alias("human_mean"),
    ).pivot(on="kind", index="variant", values=["mae", "human_max", "human_mean"])


CENTRES = 0.5 * (LOGIT_EDGES[1:] + LOGIT_EDGES[:-1])


def median_logit(hist: np.ndarray) -> float:
    cdf = np.cumsum(hist) / np.sum(hist)
    return float(CENTRES[np.searchsorted(cdf, 0.5)])


def round7_variants(case: dg.Case) -> dict[str, np.ndarray]:
    """The default estimator with the human move's prior weakened or set from the groups' spread."""
    counts = case.counts
    _, p_h, p_s = matched(case)
    out = {}
    for prior in (32, 8, 2, 0.5):
        out[f"human move, prior {prior}" + (" (shipped)" if prior == 32 else "")] = moved_mle_alpha(
            counts, p_h, p_s, LOGIT_EDGES, "human", HUMAN_MOVE_GRID, prior * BIN ** 2)[0]
    groups = group_densities(case.profile)
    spread = float(np.var(groups.human @ CENTRES))
    out["human move, prior from the groups' spread (empirical Bayes)"] = moved_mle_alpha(
        counts, p_h, p_s, LOGIT_EDGES, "human", HUMAN_MOVE_GRID, BIN ** 2 / (2 * spread))[0]
    return out


def l2r_diagnosis(cases: list[dg.Case]) -> pl.DataFrame:
    """Per genre of the held-out l2r dataset: where its human scores sit and how its purely human source reads."""
    rows = []
    for case in cases:
        if case.kind != "dataset" or case.split != "l2r":
            continue
        groups = group_densities(case.profile)
        w, p_h, p_s = matched(case)
        pure = np.flatnonzero(case.truth == 0)[:1]
        shipped = est.estimate_fractions(case.counts[pure], case.profile, topic_sums=case.topic_sums[pure])
        alone = {name: moved_mle_alpha(case.counts[pure], groups.human[j], groups.synthetic[j], LOGIT_EDGES, "human", HUMAN_MOVE_GRID,
                                       32 * BIN ** 2)[0][0] for j, name in enumerate(groups.names)}
        mae_alone = {name: float(np.abs(moved_mle_alpha(case.counts, groups.human[j], groups.synthetic[j], LOGIT_EDGES, "human",
                                                        HUMAN_MOVE_GRID, 32 * BIN ** 2)[0] - case.truth).mean()) for j, name in enumerate(groups.names)}
        best = min(mae_alone, key=mae_alone.get)
        top = int(np.argmax(w[pure[0]]))
        rows.append({"genre": case.genre, "documents": int(case.counts[pure[0]].sum()), "human_median": median_logit(case.counts[pure[0]]),
                     "matched_group": groups.names[top], "matched_human_median": median_logit(groups.human_counts[top]),
                     "matched_synthetic_median": median_logit(groups.synthetic_counts[top]), "similarity": float(shipped.similarity[0]),
                     "move": float(shipped.human_shift[0]), "purely_human_reads": float(shipped.estimate[0]),
                     "against_each_group": " ".join(f"{k}={v:.2f}" for k, v in alone.items()),
                     "best_group_in_hindsight": best, "its_purely_human": alone[best], "its_mae": mae_alone[best]})
    return pl.DataFrame(rows).sort("human_median")


def round7() -> None:
    with recorded("estimator_trials_round7"):
        cases = load_cases(("genre", "family", "dataset"))
        with pl.Config(tbl_rows=100, tbl_cols=20, float_precision=3, tbl_width_chars=260, tbl_hide_dataframe_shape=True,
                       tbl_hide_column_data_types=True, tbl_formatting="ASCII_MARKDOWN", fmt_str_lengths=90):
            groups = group_densities(next(c for c in cases if c.kind == "dataset" and c.split == "l2r").profile)
            print("l2r held out: calibration groups and the median of their human / synthetic out-of-fold scores (logits):",
                  ", ".join(f"{n} {median_logit(h):+.2f} / {median_logit(s):+.2f}" for n, h, s in zip(groups.names, groups.human_counts, groups.synthetic_counts)))
            print(l2r_diagnosis(cases))
            print("default estimator, point estimates: the human move's prior (per squared logit)")
            print(table(cases, round7_variants))
            t = []
            for case in cases:
                if case.kind == "dataset":
                    for name, values in round7_variants(case).items():
                        t += [{"split": case.split, "variant": name, "err": abs(float(v) - tr), "truth": tr, "estimate": float(v)} for tr, v in zip(case.truth, values)]
            print(pl.DataFrame(t).group_by("split", "variant", maintain_order=True).agg(
                pl.col("err").mean().alias("mae"), pl.col("estimate").filter(pl.col("truth") == 0).max().alias("human_max")))
        sys.stdout.flush()


ROUND7_CODE = "ff57c5b"  # the fitting code the round-7 harness run cached its split profiles under


def quantile_logit(dens: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile (logits) of each row of bin probabilities (mass uniform inside each bin)."""
    dens = np.atleast_2d(dens)
    cdf = np.concatenate([np.zeros((len(dens), 1)), np.cumsum(dens, axis=1)], axis=1)
    cdf /= cdf[:, -1:]
    return np.array([np.interp(q, row, LOGIT_EDGES) for row in cdf])


def warp_densities(dens: np.ndarray, shift: np.ndarray, log_scale: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Rows of bin probabilities stretched by exp(log_scale) around `centre` and moved by `shift` (logits)."""
    dens = np.atleast_2d(dens)
    n = len(dens)
    shift, log_scale, centre = (np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in (shift, log_scale, centre))
    cdf = np.concatenate([np.zeros((n, 1)), np.cumsum(dens, axis=1)], axis=1)
    at = centre[:, None] + (LOGIT_EDGES[None, :] - shift[:, None] - centre[:, None]) * np.exp(-log_scale)[:, None]
    out = np.array([np.interp(a, LOGIT_EDGES, c) for a, c in zip(at, cdf)])
    out[:, 0], out[:, -1] = 0.0, cdf[:, -1]
    out = np.diff(out, axis=1) + 1e-9
    return out / out.sum(axis=1, keepdims=True)


def log_likelihood(counts: np.ndarray, a: np.ndarray, p_h: np.ndarray, p_s: np.ndarray) -> np.ndarray:
    return (counts * np.log(a[:, None] * p_s + (1 - a[:, None]) * p_h)).sum(axis=1)


def shift_scale_alpha(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray, shift_sd: float, scale_sd: float) -> np.ndarray:
    """MLE with the synthetic density moved (-4..4 logits, 0.5 steps) and stretched (log-scale -0.8..0.8 in
    0.2 steps) around its median, Gaussian priors of sd `shift_sd` (logits) and `scale_sd` (log units)."""
    centre = quantile_logit(p_s, 0.5)
    best_ll, best_a = np.full(len(counts), -np.inf), np.zeros(len(counts))
    for d in np.arange(-4.0, 4.01, 0.5):
        for ls in np.arange(-0.8, 0.81, 0.2):
            s = warp_densities(p_s, d, ls, centre)
            a = mle_alpha(counts, p_h, s)
            ll = log_likelihood(counts, a, p_h, s) - d * d / (2 * shift_sd ** 2) - ls * ls / (2 * scale_sd ** 2)
            better = ll > best_ll
            best_ll, best_a = np.where(better, ll, best_ll), np.where(better, a, best_a)
    return best_a


def composition_alpha(counts: np.ndarray, p_h: np.ndarray, components: np.ndarray, start: np.ndarray, iterations: int = 300) -> np.ndarray:
    """Mixing weight when the synthetic density is any mixture of `components` (C, K): EM on the weights of
    the human density (pinned) and of each component, started from the matched weights `start` (S, C)."""
    a0 = np.full(len(counts), 0.5)
    w = np.concatenate([(1 - a0)[:, None], a0[:, None] * start], axis=1)  # (S, 1 + C)
    dens = np.concatenate([p_h[:, None, :], np.broadcast_to(components, (len(counts), *components.shape))], axis=1)  # (S, 1 + C, K)
    n = counts.sum(axis=1, keepdims=True)
    for _ in range(iterations):
        mix = np.einsum("sc,sck->sk", w, dens)
        resp = w[:, :, None] * dens / mix[:, None, :]
        w = np.einsum("sk,sck->sc", counts, resp) / n
    return 1 - w[:, 0]


def group_priors(case: dg.Case) -> dict[str, float]:
    """From the profile's calibration groups: the spread (sd) of their machine medians and of the log IQR of
    their machine scores, and the regression of the machine median on the human median (slope, residual sd)."""
    groups = group_densities(case.profile)
    hm, sm = quantile_logit(groups.human, 0.5), quantile_logit(groups.synthetic, 0.5)
    iqr = np.log(quantile_logit(groups.synthetic, 0.75) - quantile_logit(groups.synthetic, 0.25))
    slope, intercept = np.polyfit(hm, sm, 1)
    resid = sm - (slope * hm + intercept)
    return {"shift_sd": float(np.std(sm, ddof=1)), "scale_sd": float(np.std(iqr, ddof=1)), "slope": float(slope),
            "resid_sd": float(np.sqrt((resid ** 2).sum() / max(len(hm) - 2, 1)))}


def round8_reference_variants(case: dg.Case) -> dict[str, np.ndarray]:
    groups = group_densities(case.profile)
    synthetic, w, ref = reference_inputs(case)
    prior = group_priors(case)
    per_bin2 = lambda sd: BIN ** 2 / (2 * sd ** 2)  # noqa: E731  (penalty per squared bin of a Gaussian prior of sd logits)
    run = lambda **k: estimate_with_references(case.counts, ref, synthetic, weights=w, n_boot=2, **k)[0]  # noqa: E731
    out = {"synthetic move, prior sd 0.41, transfer 0.5 (shipped)": run().estimate}
    out["synthetic move, prior sd from the groups' machine medians, transfer 0.5"] = run(shift_penalty=per_bin2(prior["shift_sd"])).estimate
    out["synthetic move, prior sd from the groups' machine medians, no transfer"] = run(shift_penalty=per_bin2(prior["shift_sd"]), shift_transfer=0.0).estimate
    slope = float(np.clip(prior["slope"], -1.0, 1.0))
    out["transfer = groups' regression slope, prior sd its residual sd"] = run(shift_penalty=per_bin2(max(prior["resid_sd"], 0.1)), shift_transfer=slope).estimate
    h, s_point, _ = reference_densities(ref, synthetic, weights=w)
    out["synthetic move and stretch, priors from the groups (transfer 0.5)"] = shift_scale_alpha(case.counts, h, s_point, prior["shift_sd"], prior["scale_sd"])
    out["synthetic move and stretch, shipped move prior sd 0.41, stretch prior from the groups"] = shift_scale_alpha(case.counts, h, s_point, 0.41, prior["scale_sd"])
    out["synthetic composition over groups fitted (EM), human pinned"] = composition_alpha(case.counts, h, groups.synthetic, w)
    moved = np.concatenate([shift_densities(groups.synthetic, LOGIT_EDGES, np.full(len(groups.synthetic), d)) for d in (-1.0, 0.0, 1.0)])
    out["synthetic composition over groups moved -1/0/+1 logit (EM)"] = composition_alpha(case.counts, h, moved, np.tile(w, 3) / 3)
    return out


def round8() -> None:
    with recorded("estimator_trials_round8"):
        cases = load_cases(("genre", "family", "dataset"), profile_code=ROUND7_CODE)
        with pl.Config(tbl_rows=100, tbl_cols=20, float_precision=3, tbl_width_chars=260, tbl_hide_dataframe_shape=True,
                       tbl_hide_column_data_types=True, tbl_formatting="ASCII_MARKDOWN", fmt_str_lengths=90):
            print("calibration groups' priors per split (logits): sd of machine medians, sd of machine log IQRs, slope and residual sd of machine on human medians")
            seen = {}
            for case in cases:
                seen.setdefault((case.kind, case.split), group_priors(case))
            print(pl.DataFrame([{"kind": k, "split": n, **v} for (k, n), v in seen.items()]))
            print("human reference (the held-out genre's other half), point estimates")
            print(table(cases, round8_reference_variants))
        sys.stdout.flush()


DATASET_FOLDS_CODE = "7cfd480"  # the trial of inner folds holding out whole datasets (reverted after this measurement)


def dataset_folds_key(train: np.ndarray, args) -> str:
    """The harness's cache key of a split profile fitted at DATASET_FOLDS_CODE (its fitting code, and its
    FitOptions with `dataset_folds=True`), so the trial's profiles are found after the revert."""
    import hashlib
    import subprocess
    from pathlib import Path

    import synthscope.detect as detect

    root = Path(detect.__file__).parent
    code = b"".join(subprocess.run(["git", "show", f"{DATASET_FOLDS_CODE}:src/synthscope/detect/{name}"], cwd=root, capture_output=True,
                                   check=True).stdout for name in dg.PROFILE_CODE)
    options = repr(dg.fit_options(args)).replace(", languages=", ", dataset_folds=True, languages=")
    return hashlib.sha1(np.packbits(train).tobytes() + f"({options}, {args.group!r})".encode() + code).hexdigest()[:16]


def round8_bands() -> None:
    """Coverage / width of the default estimator's intervals under the round-7 profiles' bands and under the
    bands with held-out datasets, on the same sources (splits whose new profile is in the harness's cache)."""
    import argparse

    from _heldout_data import OUT

    from synthscope.detect.profile import CalibrationProfile

    with recorded("estimator_trials_round8_bands"):
        cases = load_cases(("genre", "family", "dataset"), profile_code=ROUND7_CODE)
        docs = dg.load_documents()
        label, fam = docs["label"].to_numpy(), docs["family"].to_numpy()
        pool = (label == "human") | ((label == "machine") & (fam != "old-base"))
        now = argparse.Namespace(l2=10.0, skeleton_l2=dg.FitOptions.skeleton_l2, skeleton_keep=dg.FitOptions.skeleton_keep,
                                 skeleton_weight=dg.FitOptions.skeleton_weight, tau=dg.FitOptions.tau, quantifier=dg.FitOptions.quantifier,
                                 cv=True, center_topics=False, group="genre", profile_code=None)
        new = {}
        for split in dg.splits(docs, ["genre", "dataset", "family"], pool):
            path = OUT / "profiles" / f"{dataset_folds_key(split.train, now)}.json"
            if path.exists():
                new[(split.kind, split.name)] = CalibrationProfile.load(path)
        print("splits with a profile fitted with dataset folds:", ", ".join(f"{k}/{n}" for k, n in new))
        rows = []
        for case in cases:
            after = new.get((case.kind, case.split))
            if after is None:
                continue
            before = case.profile
            same = all(getattr(before, f) == getattr(after, f) for f in ("human_group_hists", "synthetic_group_hists", "topic_centroids")) and all(
                np.allclose(np.asarray(getattr(before, f), dtype=float), np.asarray(getattr(after, f), dtype=float), rtol=1e-9, atol=1e-12)
                for f in ("weights", "bias")) and all(np.isclose(float(before.combine[k]), float(after.combine[k]), rtol=1e-9, atol=1e-12)
                                                      for k in before.combine if isinstance(before.combine[k], float))
            assert same, f"{case.kind}/{case.split}: the refitted scorer differs"  # (beyond float noise in the last digits)
            for name, profile in (("round-7 bands", before), ("bands with held-out datasets", after)):
                e = est.estimate_fractions(case.counts, profile, topic_sums=case.topic_sums)
                for i in range(len(case.truth)):
                    rows.append({"kind": case.kind, "split": case.split, "bands": name, "truth": case.truth[i], "err": abs(e.estimate[i] - case.truth[i]),
                                 "covered": bool(e.ci_low[i] <= case.truth[i] + 1e-9 and case.truth[i] - 1e-9 <= e.ci_high[i]), "width": e.ci_high[i] - e.ci_low[i]})
        t = pl.DataFrame(rows)
        aggs = [pl.col("err").mean().alias("mae"), pl.col("covered").mean().alias("coverage"), pl.col("width").mean().alias("width"), pl.len().alias("sources")]
        with pl.Config(tbl_rows=100, tbl_cols=20, float_precision=3, tbl_width_chars=200, tbl_hide_dataframe_shape=True,
                       tbl_hide_column_data_types=True, tbl_formatting="ASCII_MARKDOWN"):
            print(t.group_by("kind", "split", "bands", maintain_order=True).agg(*aggs))
            print(t.group_by("kind", "bands", maintain_order=True).agg(*aggs))
        sys.stdout.flush()


BBE_DELTA, BBE_GAMMA = 0.1, 0.01  # Best Bin Estimation's confidence parameters as published (Garg et al. 2021), not tuned here


def bbe_alpha(targets: np.ndarray, references: np.ndarray, delta: float = BBE_DELTA, gamma: float = BBE_GAMMA,
              lower_bound: bool = False, min_share: float = 0.0) -> np.ndarray:
    """Best Bin Estimation (Garg et al. 2021) of the synthetic fraction of each target histogram (..., K)
    against its human reference histogram (..., K), bins ordered from the most human-like score up.
    With M = (1 - a) H + a S, every human-tail region (bins below a threshold c) has q_t(c) / q_r(c) >= 1 - a
    (mass below c in the target / in the reference; equality where S puts no mass), so 1 - that ratio is a
    lower bound on a that needs no synthetic density. BBE takes it at the c minimising the ratio's upper
    confidence bound (q_t + (1 + gamma) eps) / q_r, eps = sqrt(log(4 / delta) / 2 n_t) + sqrt(log(4 / delta) / 2 n_r),
    and reports the plain ratio there (`lower_bound`: 1 - the bound itself). `min_share`: only regions holding
    at least that share of the reference. Clipped to [0, 1]."""
    targets, references = np.asarray(targets, dtype=np.float64), np.asarray(references, dtype=np.float64)
    n_t = np.maximum(targets.sum(axis=-1, keepdims=True), 1e-12)
    n_r = np.maximum(references.sum(axis=-1, keepdims=True), 1e-12)
    q_t, q_r = np.cumsum(targets, axis=-1) / n_t, np.cumsum(references, axis=-1) / n_r
    eps = np.sqrt(np.log(4.0 / delta) / (2.0 * n_t)) + np.sqrt(np.log(4.0 / delta) / (2.0 * n_r))
    allowed = (q_r > 0) & (q_r >= min_share)
    q_r_safe = np.where(allowed, q_r, 1.0)
    bound = np.where(allowed, (q_t + (1.0 + gamma) * eps) / q_r_safe, np.inf)
    best = np.argmin(bound, axis=-1)[..., None]
    ratio = np.take_along_axis(bound if lower_bound else q_t / q_r_safe, best, axis=-1)[..., 0]
    return np.clip(1.0 - ratio, 0.0, 1.0)


def estimator_replicates(targets: np.ndarray, references: np.ndarray, n_boot: int = reference.N_BOOT, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The target and reference replicates (S, n_boot, K) that `estimate_with_references` draws for its
    interval (each row's stream seeded by `seed`, target first), so BBE is bootstrapped on the very same
    resamples of the source's and the reference's documents."""
    boot_t, boot_r = [], []
    for t, r in zip(targets, references):
        rng = np.random.default_rng(seed)
        boot_t.append(rng.multinomial(int(t.sum()), t / t.sum(), size=n_boot))
        boot_r.append(rng.multinomial(int(round(r.sum())), r / r.sum(), size=n_boot))
    return np.asarray(boot_t, dtype=np.float64), np.asarray(boot_r, dtype=np.float64)


def reference_synthetic(case: dg.Case) -> SyntheticReference:
    groups = group_densities(case.profile)
    return SyntheticReference.of([Histogram(LOGIT_EDGES, h) for h in groups.synthetic_counts], LOGIT_EDGES,
                                 [Histogram(LOGIT_EDGES, h) for h in groups.human_counts], float(case.profile.shift_sd.get("synthetic", 0.0)))


def floored(case: dg.Case, ref: np.ndarray, confidence: float = 0.9) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The shipped reference estimator on `ref` (S, K), and it floored at the lower end of BBE's percentile
    bootstrap (the interval's own target and reference replicates): the estimate raised to the floor and
    both interval ends too, or the estimate alone (the interval's high end at least the estimate)."""
    counts = case.counts
    e = estimate_with_references(counts, ref, reference_synthetic(case), weights=matched(case)[0], confidence=confidence, seed=1)[0]
    boot_t, boot_r = estimator_replicates(counts, ref)
    floor = np.quantile(bbe_alpha(boot_t, boot_r), (1 - confidence) / 2, axis=1)
    raised = np.maximum(e.estimate, floor)
    half = np.maximum(e.estimate, np.quantile(bbe_alpha(boot_t, boot_r, min_share=0.5), (1 - confidence) / 2, axis=1))
    return {"likelihood, synthetic move (shipped)": (e.estimate, e.ci_low, e.ci_high),
            "floored at BBE's bootstrap 5%: estimate and interval ends": (raised, np.maximum(e.ci_low, floor), np.maximum(e.ci_high, raised)),
            "floored at BBE's bootstrap 5%: estimate only": (raised, np.minimum(e.ci_low, raised), np.maximum(e.ci_high, raised)),
            "same, BBE's regions holding >= half the reference": (half, np.minimum(e.ci_low, half), np.maximum(e.ci_high, half)),
            "BBE's bootstrap 5% alone (the floor)": (floor, floor * np.nan, floor * np.nan),
            "_shift": (e.shift, e.shift, e.shift)}


def round9_case(case: dg.Case) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(estimate, ci_low, ci_high) of every round-9 variant on the case's sources, against its own
    reference (NaN: no interval)."""
    counts = case.counts
    ref = np.ascontiguousarray(np.broadcast_to(case.reference, counts.shape))
    nan = np.full(len(counts), np.nan)
    out = floored(case, ref)
    shipped, shift = out["likelihood, synthetic move (shipped)"][0], out.pop("_shift")[0]
    bbe = bbe_alpha(counts, ref)
    boot_t, boot_r = estimator_replicates(counts, ref)
    out["BBE (delta 0.1, gamma 0.01), bootstrap 90% interval"] = (bbe, *np.quantile(bbe_alpha(boot_t, boot_r), [0.05, 0.95], axis=1))
    for delta in (0.05, 0.2):
        out[f"BBE, delta {delta} (for the record)"] = (bbe_alpha(counts, ref, delta=delta), nan, nan)
    h, s_fit, _ = reference_densities(ref, reference_synthetic(case), weights=matched(case)[0], moves=shift)
    order = np.argsort(s_fit / h, axis=1, kind="stable")
    out["BBE on bins ordered by the fitted likelihood ratio"] = (
        bbe_alpha(np.take_along_axis(counts, order, axis=1), np.take_along_axis(ref, order, axis=1)), nan, nan)
    out["max(likelihood, BBE)"] = (np.maximum(shipped, bbe), nan, nan)
    dkw = bbe_alpha(counts, ref, lower_bound=True)
    out["BBE's own lower bound alone"] = (dkw, nan, nan)
    out["max(likelihood, BBE's own lower bound)"] = (np.maximum(shipped, dkw), nan, nan)
    return out


def moved_histogram(hist: np.ndarray, bins: int) -> np.ndarray:
    """`hist` moved by `bins` bins along the score axis (mass beyond the ends piles on the end bins)."""
    k = len(hist)
    return np.bincount(np.clip(np.arange(k) + bins, 0, k - 1), weights=hist, minlength=k)


def round9_robustness(case: dg.Case, pooled: np.ndarray) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """The shipped estimator and the floor when the reference is not the source's human population: moved
    by -2 / -1 / +1 bins (the source's human text 0.5 / 0.25 logit more machine-like than its reference, or
    0.25 logit less: a snapshot of the same source that drifted), or pooled over the split's genres (a
    genre-level reference, as for a source absent from `--human-reference`)."""
    out = {}
    for bins in (-2, -1, 1):
        ref = np.ascontiguousarray(np.broadcast_to(moved_histogram(case.reference, bins), case.counts.shape))
        out[f"reference moved {bins * BIN:+.2f} logit"] = floored(case, ref)
    out["reference pooled over the split's genres"] = floored(case, np.ascontiguousarray(np.broadcast_to(pooled, case.counts.shape)))
    for v in out.values():
        v.pop("_shift")
    return out


def round9() -> None:
    with recorded("estimator_trials_round9"):
        cases = load_cases(("genre", "family", "dataset"), profile_code=ROUND7_CODE)
        rows, robust = [], []
        pooled: dict[tuple[str, str], np.ndarray] = {}
        for case in cases:
            pooled[(case.kind, case.split)] = pooled.get((case.kind, case.split), 0.0) + case.reference
        for case in cases:
            for name, (e, lo, hi) in round9_case(case).items():
                rows += [{"kind": case.kind, "split": case.split, "variant": name, "truth": case.truth[i], "estimate": float(e[i]),
                          "lo": float(lo[i]), "hi": float(hi[i])} for i in range(len(case.truth))]
            for setting, variants in round9_robustness(case, pooled[(case.kind, case.split)]).items():
                for name, (e, lo, hi) in variants.items():
                    if "interval ends" in name or "alone" in name:
                        continue
                    robust += [{"kind": case.kind, "reference": setting, "variant": name, "truth": case.truth[i], "estimate": float(e[i]),
                                "lo": float(lo[i]), "hi": float(hi[i])} for i in range(len(case.truth))]
        scored = lambda t: pl.DataFrame(t).with_columns(  # noqa: E731
            (pl.col("estimate") - pl.col("truth")).abs().alias("err"),
            ((pl.col("lo") <= pl.col("truth") + 1e-9) & (pl.col("truth") <= pl.col("hi") + 1e-9)).alias("covered"), (pl.col("hi") - pl.col("lo")).alias("width"))
        t, r = scored(rows), scored(robust)
        human = pl.col("truth") == 0
        aggs = [pl.col("err").mean().alias("mae"), (pl.col("estimate") - pl.col("truth")).mean().alias("bias"),
                pl.col("estimate").filter(human).max().alias("human_max"), pl.col("estimate").filter(human).mean().alias("human_mean"),
                pl.col("covered").filter(pl.col("lo").is_not_nan()).mean().alias("coverage"), pl.col("width").filter(pl.col("lo").is_not_nan()).mean().alias("width"),
                (pl.col("estimate") > pl.col("truth") + 1e-9).mean().alias("share_above_truth")]
        with pl.Config(tbl_rows=200, tbl_cols=20, float_precision=4, tbl_width_chars=260, tbl_hide_dataframe_shape=True,
                       tbl_hide_column_data_types=True, tbl_formatting="ASCII_MARKDOWN", fmt_str_lengths=90):
            print("human reference (the held-out genre's other half), per kind of split")
            for kind in ("genre", "family", "dataset"):
                print(t.filter(pl.col("kind") == kind).group_by("variant", maintain_order=True).agg(*aggs).with_columns(pl.lit(kind).alias("kind")))
            print("per split: shipped, floored (estimate only) and BBE alone")
            keep = {"likelihood, synthetic move (shipped)": "shipped", "floored at BBE's bootstrap 5%: estimate only": "floored",
                    "BBE (delta 0.1, gamma 0.01), bootstrap 90% interval": "bbe", "same, BBE's regions holding >= half the reference": "floored, half"}
            print(t.filter(pl.col("variant").is_in(list(keep)[:3])).with_columns(pl.col("variant").replace(keep)).group_by("kind", "split", "variant", maintain_order=True)
                  .agg(*aggs[:3], *aggs[4:5]).pivot(on="variant", index=["kind", "split"], values=["mae", "bias", "human_max", "coverage"]))
            print("robustness: references that are not the source's human population (shipped vs floored, estimate only; share_above_truth: of all sources)")
            print(r.with_columns(pl.col("variant").replace(keep)).group_by("reference", "kind", "variant", maintain_order=True).agg(*aggs[:5])
                  .sort("reference", "kind", "variant", maintain_order=True))
        sys.stdout.flush()


def main() -> None:
    if "--round9" in sys.argv:
        round9()
        return
    if "--round8-bands" in sys.argv:
        round8_bands()
        return
    if "--round8" in sys.argv:
        round8()
        return
    if "--round7" in sys.argv:
        round7()
        return
    with recorded("estimator_trials"):
        cases = load_cases()
        with pl.Config(tbl_rows=100, tbl_cols=20, float_precision=3, tbl_width_chars=220, tbl_hide_dataframe_shape=True,
                       tbl_hide_column_data_types=True, tbl_formatting="ASCII_MARKDOWN", fmt_str_lengths=60):
            print("default estimator (no reference), point estimates; profiles of this code (bands re-derived with the human move)")
            print(table(cases, default_variants))
            print("90% interval rules, default estimator as shipped")
            print(interval_rules(cases))
            print("with the human reference (the held-out genre's other half)")
            print(table(cases, reference_variants))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
