"""detect finalize estimates every source at once: same figures as the one-source-at-a-time method on
real scores, bounded chunks, cheap small sources."""

from __future__ import annotations

import copy

import numpy as np
import polars as pl
import pytest

from synthscope.analyzer import FinalizeContext
from synthscope.detect import estimator
from synthscope.detect.analyzer import DetectAnalyzer, SourceScores
from synthscope.detect.estimator import calibration_draws, calibration_error, density
from synthscope.detect.profile import N_BINS, default_profile
from synthscope.text import prepare


@pytest.fixture(scope="module")
def scored(dev_frame: pl.DataFrame) -> tuple[DetectAnalyzer, dict[str, SourceScores]]:
    """Real dev documents scored by the default profile, cut into sources of 3 to 400 documents."""
    docs = dev_frame.filter(pl.col("domain").is_in(["xsum", "writing"])).sort("id").head(1200)
    sizes = [3, 12, 29, 30, 31, 75, 150, 400]
    cuts = np.cumsum([0] + sizes)
    source = np.full(docs.height, "rest", dtype=object)
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        source[a:b] = f"s{i}-{sizes[i]}"
    batch = prepare(docs.with_columns(pl.Series("source", source.astype(str))))
    analyzer = DetectAnalyzer(pooled_default())
    return analyzer, analyzer.map(batch)


def pooled_default():
    """The default profile estimated against its pooled calibration densities (the path compared here with
    the former one-source-at-a-time estimator; topic matching is tested in test_detect_matched.py)."""
    profile = copy.copy(default_profile())
    profile.topic_centroids, profile.matching, profile.cv_errors_by_similarity = {}, {}, []
    return profile


def _bisection_mle(counts: np.ndarray, p_h: np.ndarray, p_s: np.ndarray) -> np.ndarray:
    """The estimator's former maximum-likelihood step (40 bisections), kept here as the reference."""
    counts = np.atleast_2d(counts)
    p_h, p_s = np.broadcast_to(p_h, counts.shape), np.broadcast_to(p_s, counts.shape)
    diff = p_s - p_h
    slope = lambda a: (counts * diff / (p_h + a[:, None] * diff)).sum(axis=1)  # noqa: E731
    lo, hi = np.zeros(len(counts)), np.ones(len(counts))
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        up = slope(mid) > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    alpha = np.where(slope(np.zeros(len(counts))) <= 0, 0.0, 0.5 * (lo + hi))
    return np.where(slope(np.ones(len(counts))) >= 0, 1.0, alpha)


def _one_source(counts: np.ndarray, analyzer: DetectAnalyzer) -> dict[str, object]:
    """The former per-source estimate (bootstrap of one source), written out independently."""
    profile, n = analyzer.profile, int(counts.sum())
    draws = calibration_draws(profile, analyzer.seed, 400)
    est = float(_bisection_mle(counts, draws.human, draws.synthetic)[0])
    boot = _bisection_mle(np.random.default_rng(analyzer.seed).multinomial(n, counts / n, size=400), draws.human_replicates, draws.synthetic_replicates)
    lo, hi = np.quantile(boot, [0.05, 0.95])
    below, above = (float(v) for v in calibration_error(profile, est, 0.9))
    return {"estimate": round(est, 4), "ci_low": round(max(0.0, est - float(np.hypot(max(est - lo, 0), below))), 4),
            "ci_high": round(min(1.0, est + float(np.hypot(max(hi - est, 0), above))), 4), "method": "mle-mixture", "low_confidence": n < 30}


def test_all_sources_at_once_match_one_at_a_time(scored, tmp_path) -> None:
    analyzer, state = scored
    result = analyzer.finalize(state, FinalizeContext(tmp_path))
    assert len(result.per_source) == 9
    for name, fields in result.per_source.items():
        s = state[name]
        n = int(s.counts.sum())
        sf = dict(fields["synthetic_fraction"])
        assert (sf.pop("documents_used"), sf.pop("documents_unsupported")) == (n, 0)
        if n >= 30:
            assert sf == _one_source(s.counts, analyzer), name
        else:  # likelihood-ratio interval: same point estimate, an interval around it, flagged
            draws = calibration_draws(analyzer.profile, analyzer.seed, 400)
            assert sf["estimate"] == round(float(_bisection_mle(s.counts, draws.human, draws.synthetic)[0]), 4)
            assert sf["low_confidence"] is True and sf["ci_low"] <= sf["estimate"] <= sf["ci_high"]
        # top features: weight x (mean z - calibration human mean z) in score-logit units, largest first; the
        # skeleton logit (last column of z_sum) counts as one more feature
        combination = analyzer.scorer.combination
        style = combination.style_factor * analyzer.model.weights * (s.z_sum[:-1] / n - np.asarray(analyzer.profile.human_mean_z))
        skeleton = combination.skeleton_factor * (s.z_sum[-1] / n - combination.skeleton_human_mean)
        contribution = np.append(style, skeleton)
        names = [*analyzer.model.features, "skeleton_ngrams"]
        expected = [names[j] for j in np.argsort(-contribution, kind="stable")[:3] if contribution[j] > 0.005]
        assert [t["feature"] for t in fields["top_features"]] == expected
        assert fields["flagged_fraction"] == pytest.approx(fields["flagged_fraction"])


def test_small_sources_get_wider_intervals_than_large_ones(scored, tmp_path) -> None:
    analyzer, state = scored
    fields = analyzer.finalize(state, FinalizeContext(tmp_path)).per_source
    width = {name: f["synthetic_fraction"]["ci_high"] - f["synthetic_fraction"]["ci_low"] for name, f in fields.items()}
    assert width["s0-3"] > width["s2-29"] > width["s7-400"]
    assert width["s0-3"] > 0.5  # three documents say little


def test_chunking_does_not_change_results(scored, tmp_path, monkeypatch) -> None:
    analyzer, state = scored
    whole = analyzer.finalize(state, FinalizeContext(tmp_path)).per_source
    monkeypatch.setattr(estimator, "BOOTSTRAP_ROWS", 400)  # one source per chunk
    assert analyzer.finalize(state, FinalizeContext(tmp_path)).per_source == whole


def test_likelihood_interval_narrows_with_documents_and_contains_truth() -> None:
    profile = pooled_default()
    p_h, p_s = density(np.asarray(profile.human_hist)), density(np.asarray(profile.synthetic_hist))
    mix = 0.5 * p_h + 0.5 * p_s
    counts = np.vstack([mix * n for n in (10, 25, 1000)])  # expected counts
    lo, hi = estimator.likelihood_interval(counts, p_h, p_s, 0.9)
    assert np.all(lo <= 0.5) and np.all(hi >= 0.5)
    assert (hi - lo)[0] > (hi - lo)[1] > (hi - lo)[2]


def test_empty_histogram_reads_null() -> None:
    out = estimator.estimate_fractions(np.zeros((2, N_BINS)), pooled_default())
    assert out.record(0) == {"estimate": None, "ci_low": None, "ci_high": None, "method": "mle-mixture", "low_confidence": True}


def test_per_row_likelihood_interval_sums_the_occupied_bins_as_the_dense_form() -> None:
    """Per-row densities: the interval over each row's occupied bins equals the dense log-likelihood's
    (rows of 1 to 29 documents, scores drawn from real calibration densities, some rows empty)."""
    profile = default_profile()
    rng = np.random.default_rng(3)
    h = np.stack([density(np.asarray(x)) for x in profile.human_group_hists.values()])
    s = np.stack([density(np.asarray(x)) for x in profile.synthetic_group_hists.values()])
    w = rng.dirichlet(np.ones(len(h)), size=300)
    p_h, p_s = w @ h, w @ s
    alpha = rng.uniform(size=300)[:, None]
    counts = np.stack([rng.multinomial(int(n), p) for n, p in zip(rng.integers(0, 30, 300), alpha * p_s + (1 - alpha) * p_h)]).astype(float)
    lo, hi = estimator.likelihood_interval(counts, p_h, p_s, 0.9)
    grid = estimator.LIKELIHOOD_GRID
    ll = np.einsum("sk,sak->sa", counts, np.log(grid[None, :, None] * p_s[:, None, :] + (1 - grid[None, :, None]) * p_h[:, None, :]))
    inside = ll >= ll.max(axis=1, keepdims=True) - 0.5 * 1.6448536269514722 ** 2
    assert np.array_equal(lo, grid[np.argmax(inside, axis=1)]) and np.array_equal(hi, grid[len(grid) - 1 - np.argmax(inside[:, ::-1], axis=1)])
    assert (counts.sum(axis=1) == 0).any() and (hi - lo > 0).all()


def test_replicates_move_as_each_row_alone() -> None:
    rng = np.random.default_rng(0)
    dens = rng.dirichlet(np.ones(N_BINS), size=(7, 50))
    moves = np.array([0.0, 0.3, -0.3, 2.5, -9.0, 9.0, 0.125])  # inside, across and beyond the edges
    expected = estimator.shift_densities(dens.reshape(-1, N_BINS), estimator.LOGIT_EDGES, np.repeat(moves, 50)).reshape(dens.shape)
    assert np.array_equal(estimator.shift_replicates(dens, estimator.LOGIT_EDGES, moves), expected)
