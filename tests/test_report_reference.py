"""Mixture estimation against reference histograms (the --baseline-is-human estimator)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from synthscope.errors import UsageError
from synthscope.report.ci import evaluate
from synthscope.report.config import CheckSettings
from synthscope.detect.estimator import mle_alpha as mixture_mle
from synthscope.detect.reference import SHIFT_PENALTY, shift_densities
from synthscope.report.reference import Histogram, estimate_with_reference

EDGES = np.linspace(0, 1, 41)


def _scores(rng, n, alpha):
    k = int(round(alpha * n))
    return np.concatenate([rng.beta(2, 5, n - k), rng.beta(5, 2, k)])


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.35, 0.8, 1.0])
def test_mle_recovers_known_mixing_weight(alpha) -> None:
    rng = np.random.default_rng(3)
    human = Histogram.from_scores(rng.beta(2, 5, 3000), EDGES)
    synthetic = Histogram.from_scores(rng.beta(5, 2, 3000), EDGES)
    result = estimate_with_reference(human, synthetic, _scores(rng, 2000, alpha))
    assert result["estimate"] == pytest.approx(alpha, abs=0.04)
    assert result["ci_low"] <= result["estimate"] <= result["ci_high"]
    assert result["ci_low"] - 0.02 <= alpha <= result["ci_high"] + 0.02
    assert result["method"] == "mle-baseline-reference" and result["reference_documents"] == 3000


def test_interval_narrows_with_more_documents_and_small_sources_are_low_confidence() -> None:
    rng = np.random.default_rng(5)
    human = Histogram.from_scores(rng.beta(2, 5, 5000), EDGES)
    synthetic = Histogram.from_scores(rng.beta(5, 2, 5000), EDGES)
    widths = []
    for n in (20, 200, 2000):
        r = estimate_with_reference(human, synthetic, _scores(rng, n, 0.3))
        widths.append(r["ci_high"] - r["ci_low"])
        assert r["low_confidence"] is (n < 30)
    assert widths[0] > widths[1] > widths[2]


def test_vectorised_mle_matches_a_grid_search() -> None:
    rng = np.random.default_rng(9)
    h, s = rng.dirichlet(np.ones(10)), rng.dirichlet(np.ones(10))
    counts = rng.multinomial(300, 0.6 * h + 0.4 * s, size=5).astype(float)
    grid = np.linspace(0, 1, 100001)
    loglik = (counts[:, None, :] * np.log((1 - grid[None, :, None]) * h + grid[None, :, None] * s)).sum(-1)
    assert np.allclose(mixture_mle(counts, h, s), grid[loglik.argmax(1)], atol=1e-4)


def test_rebin_keeps_mass_and_estimate() -> None:
    rng = np.random.default_rng(1)
    human = Histogram.from_scores(rng.beta(2, 5, 3000), EDGES)
    coarse = human.rebin(np.linspace(0, 1, 11))
    assert coarse.total == pytest.approx(human.total)
    synthetic = Histogram.from_scores(rng.beta(5, 2, 3000), np.linspace(0, 1, 21))  # other edges: rebinned
    target = Histogram.from_scores(_scores(rng, 1500, 0.5), EDGES)
    assert estimate_with_reference(human, synthetic, target)["estimate"] == pytest.approx(0.5, abs=0.05)


def test_baseline_is_human_replaces_the_estimate_and_keeps_the_default(audit_report) -> None:
    baseline = copy.deepcopy(audit_report)
    new = copy.deepcopy(audit_report)
    evaluate(new, CheckSettings(max_synthetic_increase=0.9), baseline=baseline, baseline_is_human=True, baseline_label="old.json")
    assert new["baseline"]["is_human"] is True
    # sources under 30 documents carry no score histogram (compact): they keep the calibration estimate
    detailed = [s for s in new["sources"] if "score_histogram" in s]
    assert len(detailed) < len(new["sources"])
    assert sorted(new["baseline"]["reference_sources"]) == sorted(s["source"] for s in detailed)
    for source in detailed:
        sf = source["synthetic_fraction"]
        assert sf["method"] == "mle-baseline-reference"
        assert source["synthetic_fraction_default"]["method"] == "mle-matched"
        # the same documents as their own human reference: no excess
        assert sf["estimate"] <= 0.1 and sf["ci_low"] == 0.0
    names = {s["source"] for s in detailed}
    rises = [r for r in new["checks"]["results"] if r["check"] == "max_synthetic_increase"]
    assert rises and all(r["baseline"] == 0.0 and r["status"] == "pass" for r in rises if r["source"] in names)


def test_baseline_is_human_needs_score_histograms(audit_report) -> None:
    without_detect = copy.deepcopy(audit_report)
    without_detect.get("summary", {}).pop("detect", None)
    for source in without_detect["sources"]:
        source.pop("score_histogram", None)
    with pytest.raises(UsageError, match="score histograms"):
        evaluate(copy.deepcopy(without_detect), CheckSettings(), baseline=without_detect, baseline_is_human=True)


def test_detect_audit_carries_the_hook_and_a_human_baseline_of_itself_gives_no_excess(audit_report) -> None:
    hists = audit_report["summary"]["detect"]["profile_histograms"]
    assert len(hists["human"]) == len(hists["synthetic"]) == len(hists["bin_edges"]) - 1
    detail = audit_report["overview"]["detail_min_documents"]
    assert any(source["documents"] >= detail for source in audit_report["sources"])
    for source in audit_report["sources"]:
        if source["documents"] >= detail:
            assert sum(source["score_histogram"]["counts"]) == source["documents"]
        else:  # small sources are kept compact: no per-source histogram
            assert "score_histogram" not in source
    new = copy.deepcopy(audit_report)
    evaluate(new, CheckSettings(), baseline=audit_report, baseline_is_human=True)
    before = {s["source"]: s["synthetic_fraction"] for s in audit_report["sources"]}
    for source in new["sources"]:
        if source["documents"] < detail:
            assert source["synthetic_fraction"] == before[source["source"]]  # kept: no histogram to re-estimate
            continue
        assert source["synthetic_fraction"]["method"] == "mle-baseline-reference"
        assert source["synthetic_fraction_default"]["method"] in ("mle-matched", "mle-mixture")
        assert source["synthetic_fraction"]["estimate"] <= 0.1


@pytest.fixture(scope="module")
def held_out_xsum(dev_frame):
    """Scores of xsum documents under a profile fitted on the other domains (modern generators only)."""
    import polars as pl

    from synthscope.detect.analyzer import model_of
    from synthscope.detect.calibrate import LabelledFeatures, fit_profile
    from synthscope.detect.features import compute_features
    from synthscope.detect.profile import score_bins
    from synthscope.text import N_TOKENS, prepare

    dev = dev_frame.filter((pl.col("label") == "human") | pl.col("generator").is_in(["davinci", "gpt-3.5-turbo", "gpt-4"]))
    batch = prepare(dev.rename({"domain": "source"}))
    features = compute_features(batch)
    n_words = batch[N_TOKENS].to_numpy().astype(float)
    y = (dev["label"] == "machine").to_numpy().astype(int)
    domain = dev["domain"].to_numpy()
    train = domain != "xsum"
    profile, _ = fit_profile(LabelledFeatures(features.filter(pl.Series(train)), n_words[train], y[train], domain[train]))
    model = model_of(profile)
    bins = score_bins(model.logits(model.standardise(features, n_words)))
    half_a = (dev["pair"].cast(pl.String).hash(seed=0) % 2 == 0).to_numpy()
    here = domain == "xsum"
    return profile, {
        "baseline": bins[here & half_a & (y == 0)],
        "human": bins[here & ~half_a & (y == 0)],
        "machine": bins[here & ~half_a & (y == 1)],
    }


def _estimate_held_out(profile, baseline_bins, target_bins, seed=1, **options):
    from synthscope.detect.profile import LOGIT_EDGES, N_BINS

    def h(b):
        return Histogram(LOGIT_EDGES, np.bincount(b, minlength=N_BINS).astype(float))

    def groups(hists):
        return [Histogram(LOGIT_EDGES, np.asarray(c, dtype=float)) for c in hists.values()]

    return estimate_with_reference(
        h(baseline_bins), groups(profile.synthetic_group_hists), h(target_bins), seed=seed,
        calibration_human=groups(profile.human_group_hists), synthetic_shift_sd=profile.shift_sd["synthetic"], **options,
    )


def test_held_out_domain_interval_contains_the_truth_and_pure_human_is_zero(held_out_xsum) -> None:
    """xsum never seen by the profile; its own human half as baseline; the other half mixed at 25%."""
    profile, bins = held_out_xsum
    rng = np.random.default_rng(11)
    human = rng.choice(bins["human"], 120, replace=False)
    machine = rng.choice(bins["machine"], 40, replace=False)
    mixed = _estimate_held_out(profile, bins["baseline"], np.concatenate([human, machine]))
    assert mixed["ci_low"] <= 0.25 <= mixed["ci_high"]
    assert abs(mixed["estimate"] - 0.25) < 0.15 and mixed["low_confidence"] is False
    pure = _estimate_held_out(profile, bins["baseline"], human)
    assert pure["estimate"] <= 0.05 and pure["ci_low"] == 0.0
    assert pure["ci_high"] < mixed["ci_low"] + 0.25  # the pure-human interval sits below the mixture's


def test_small_baseline_widens_the_interval_and_is_low_confidence(held_out_xsum) -> None:
    """A 15-document baseline is a noisy human reference: wider intervals (on average over draws), flagged."""
    profile, bins = held_out_xsum
    rng = np.random.default_rng(12)
    target = np.concatenate([rng.choice(bins["human"], 120, replace=False), rng.choice(bins["machine"], 40, replace=False)])
    full = _estimate_held_out(profile, bins["baseline"], target)
    assert full["reference_documents"] > 200 and full["low_confidence"] is False
    widths, fixed_widths = [], []
    for seed in range(5):
        small_bins = rng.choice(bins["baseline"], 15, replace=False)
        small = _estimate_held_out(profile, small_bins, target, seed=seed)
        fixed = _estimate_held_out(profile, small_bins, target, seed=seed, resample_human=False)
        assert small["low_confidence"] is True and small["reference_documents"] == 15
        widths.append(small["ci_high"] - small["ci_low"])
        fixed_widths.append(fixed["ci_high"] - fixed["ci_low"])
    assert np.mean(widths) > 1.1 * (full["ci_high"] - full["ci_low"])
    assert np.mean(widths) > np.mean(fixed_widths)  # resampling the baseline is what widens it


def test_fitted_synthetic_move_recovers_a_misplaced_synthetic_reference(held_out_xsum) -> None:
    """Held-out xsum, 30% machine; the synthetic reference handed over 1.5 logits off either way (a new
    domain's machine text can read more or less machine-like than the calibration's): the fitted move
    reads closer to the truth than the fixed reference both ways (on these style-only scores the move is
    weakly identified, so only part of the error is recovered when the reference sits too high)."""
    from synthscope.detect.profile import LOGIT_EDGES, N_BINS

    profile, bins = held_out_xsum
    rng = np.random.default_rng(13)
    target = np.concatenate([rng.choice(bins["human"], 140, replace=False), rng.choice(bins["machine"], 60, replace=False)])

    def h(b):
        return Histogram(LOGIT_EDGES, np.bincount(b, minlength=N_BINS).astype(float))

    for move in (-1.5, 1.5):
        synthetic = [Histogram(LOGIT_EDGES, sum(c) * shift_densities(np.asarray(c, dtype=float), LOGIT_EDGES, move)[0])
                     for c in profile.synthetic_group_hists.values()]
        fitted, fixed = (
            estimate_with_reference(h(bins["baseline"]), synthetic, h(target), n_boot=100, shift_penalty=penalty)
            for penalty in (SHIFT_PENALTY, None)
        )
        assert abs(fitted["estimate"] - 0.3) < abs(fixed["estimate"] - 0.3) - 0.04, move
        if move < 0:
            assert abs(fitted["estimate"] - 0.3) < 0.05 and fitted["ci_low"] <= 0.3 <= fitted["ci_high"]
            assert not fixed["ci_low"] <= 0.3 <= fixed["ci_high"] or fixed["ci_high"] - fixed["ci_low"] > 0.6
        # the same target without its machine text: the freedom to move does not invent any
        pure = estimate_with_reference(h(bins["baseline"]), synthetic, h(target[:140]), n_boot=100)
        assert pure["estimate"] <= 0.05, move


def test_fitted_human_move_keeps_a_purely_human_source_at_zero(held_out_xsum) -> None:
    """The default estimator's human move (`matched_alpha` with a penalty): xsum's own human scores as the
    human density but placed 1 logit too human-like (as an unseen genre's human text reads more machine-
    like than its calibration genres'): a purely human xsum source reads clearly above 0 with the density
    fixed and near 0 with the fitted move; a 30% mixture still reads close to 0.3."""
    from synthscope.detect.estimator import HUMAN_MOVE_PENALTY, density, matched_alpha
    from synthscope.detect.profile import LOGIT_EDGES, N_BINS

    profile, bins = held_out_xsum
    rng = np.random.default_rng(14)
    p_h = shift_densities(density(np.bincount(bins["baseline"], minlength=N_BINS)[None, :].astype(float)), LOGIT_EDGES, -1.0)
    p_s = density(np.bincount(bins["machine"], minlength=N_BINS)[None, :].astype(float))
    human = np.bincount(rng.choice(bins["human"], 200, replace=False), minlength=N_BINS).astype(float)
    mixed = np.bincount(np.concatenate([rng.choice(bins["human"], 140, replace=False), rng.choice(bins["machine"], 60, replace=False)]),
                        minlength=N_BINS).astype(float)
    counts = np.stack([human, mixed])
    fixed, _ = matched_alpha(counts, p_h, p_s, "mle", None)
    moved, move = matched_alpha(counts, p_h, p_s, "mle", HUMAN_MOVE_PENALTY)
    assert fixed[0] > 0.1 and moved[0] <= 0.05
    assert 0 < move[0] <= 1.5  # moved towards where xsum's human text really is
    assert abs(moved[1] - 0.3) < abs(fixed[1] - 0.3) + 0.02 and abs(moved[1] - 0.3) < 0.1
