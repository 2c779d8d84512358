"""Mixture estimation against reference histograms (the --baseline-is-human estimator)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from synthscope.errors import UsageError
from synthscope.report.ci import evaluate
from synthscope.report.config import CheckSettings
from synthscope.detect.estimator import mle_alpha as mixture_mle
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


def test_baseline_is_human_replaces_the_estimate_and_keeps_the_default(enriched_report) -> None:
    baseline = copy.deepcopy(enriched_report)
    new = copy.deepcopy(enriched_report)
    evaluate(new, CheckSettings(max_synthetic_increase=0.9), baseline=baseline, baseline_is_human=True, baseline_label="old.json")
    assert new["baseline"]["is_human"] is True
    assert sorted(new["baseline"]["reference_sources"]) == sorted(s["source"] for s in new["sources"])
    for source in new["sources"]:
        sf = source["synthetic_fraction"]
        assert sf["method"] == "mle-baseline-reference"
        assert source["synthetic_fraction_default"]["method"] == "labels"
        # the same documents as their own human reference: no excess
        assert sf["estimate"] <= 0.1 and sf["ci_low"] == 0.0
    rises = [r for r in new["checks"]["results"] if r["check"] == "max_synthetic_increase"]
    assert rises and all(r["baseline"] == 0.0 and r["status"] == "pass" for r in rises)


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
    for source in audit_report["sources"]:
        assert sum(source["score_histogram"]["counts"]) == source["documents"]
    new = copy.deepcopy(audit_report)
    evaluate(new, CheckSettings(), baseline=audit_report, baseline_is_human=True)
    for source in new["sources"]:
        assert source["synthetic_fraction"]["method"] == "mle-baseline-reference"
        assert source["synthetic_fraction_default"]["method"] == "mle-mixture"
        assert source["synthetic_fraction"]["estimate"] <= 0.1
