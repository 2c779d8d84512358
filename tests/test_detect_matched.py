"""Topic-matched quantification: sources estimated against the calibration groups they resemble, intervals
widened by held-out errors of sources as similar, format-1 profiles still read, mergeable state."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from synthscope.detect.analyzer import DetectAnalyzer
from synthscope.detect.calibrate import CV_SOURCE_SIZES, FitOptions, LabelledFeatures, fit_profile
from synthscope.detect.estimator import estimate_fractions
from synthscope.detect.features import compute_features
from synthscope.detect.profile import CalibrationProfile, histogram
from synthscope.detect.skeleton import skeleton_tokens
from synthscope.detect.skeleton_model import GramMatrix
from synthscope.detect.topics import DIM, topic_vectors
from synthscope.errors import InputError
from synthscope.text import prepare

MODERN = ["davinci", "gpt-3.5-turbo", "gpt-4"]


@pytest.fixture(scope="module")
def fitted(dev_frame: pl.DataFrame):
    """A profile with skeleton model, topic centroids and held-out errors, fitted on half of the dev pairs;
    the other half prepared for tests."""
    dev = dev_frame.filter((pl.col("label") == "human") | pl.col("generator").is_in(MODERN)).sort("id")
    batch = prepare(dev)
    data = LabelledFeatures(
        compute_features(batch), batch["n_tokens"].to_numpy().astype(float), (dev["label"] == "machine").to_numpy().astype(int),
        dev["domain"].to_numpy(), GramMatrix.of(skeleton_tokens(batch)), topic_vectors(batch), dev["pair"].to_numpy(),
    )
    held = (dev["pair"].hash(seed=3) % 2 == 0).to_numpy()
    profile, cv = fit_profile(data.subset(~held), options=FitOptions())
    return profile, cv, batch.filter(pl.Series(held)), dev.filter(pl.Series(held))


def test_fitted_profile_has_every_part_and_held_out_errors(fitted) -> None:
    profile, cv, _, _ = fitted
    assert profile.skeleton and profile.combine and set(profile.topic_centroids) == {"pubmed", "writing", "xsum"}
    assert profile.matching["quantifier"] == "mle" and 0 < profile.matching["min_similarity"] < 1
    bands = profile.cv_errors_by_similarity
    assert sorted({b["documents"] for b in bands}) == list(CV_SOURCE_SIZES)  # held-out errors at every source size
    for size in CV_SOURCE_SIZES:
        at_size = [b for b in bands if b["documents"] == size]
        edges = sorted({b["similarity"] for b in at_size})
        assert len(edges) == 3 and edges[0] == 0.0 and len(at_size) == 3 * len({b["estimate"] for b in at_size})
    # small held-out sources carry more sampling noise: their central 90% of errors is wider than large ones'
    spread = {size: np.mean([np.subtract(*np.interp([0.95, 0.05], np.linspace(0, 1, 101), b["errors"])) for b in bands if b["documents"] == size])
              for size in CV_SOURCE_SIZES}
    assert spread[CV_SOURCE_SIZES[0]] > spread[CV_SOURCE_SIZES[-1]]
    assert {r["kind"] for r in cv.rows} == {"group", "half"}
    assert cv.mae("half") < cv.mae("group")  # documents of a calibration genre are easier than an unseen genre
    again = CalibrationProfile.from_json(json.loads(json.dumps(profile.to_json())))
    assert again == profile


def test_sources_are_matched_to_their_own_genre_and_human_sources_read_low(fitted) -> None:
    profile, _, batch, dev = fitted
    analyzer = DetectAnalyzer(profile)
    human = (dev["label"] == "human").to_numpy()
    frames = []
    for domain in ("xsum", "writing"):
        rows = human & (dev["domain"] == domain).to_numpy()
        frames.append(batch.filter(pl.Series(rows)).with_columns(pl.lit(domain).alias("source")))
    machine = np.flatnonzero(~human & (dev["domain"] == "xsum").to_numpy())[:150]
    people = np.flatnonzero(human & (dev["domain"] == "xsum").to_numpy())[:150]
    frames.append(batch[np.concatenate([machine, people]).tolist()].with_columns(pl.lit("xsum-half").alias("source")))
    state = analyzer.map(pl.concat(frames))
    from synthscope.analyzer import FinalizeContext

    result = analyzer.finalize(state, FinalizeContext(Path(".")))
    for domain in ("xsum", "writing"):
        source = result.per_source[domain]
        match = source["calibration_match"]
        assert max(match["groups"], key=match["groups"].get) == domain, match
        assert source["synthetic_fraction"]["method"] == "mle-matched"
        assert source["synthetic_fraction"]["estimate"] <= 0.05 and source["synthetic_fraction"]["ci_low"] == 0.0
    half = result.per_source["xsum-half"]["synthetic_fraction"]
    assert half["ci_low"] <= 0.5 <= half["ci_high"] and abs(half["estimate"] - 0.5) < 0.15, half


def test_state_with_topic_sums_merges_exactly(fitted) -> None:
    profile, _, batch, _ = fitted
    analyzer = DetectAnalyzer(profile)
    frame = batch.head(400).with_columns(pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.lit("a")).otherwise(pl.lit("b")).alias("source"))
    whole = analyzer.map(frame)
    parts = analyzer.merge(analyzer.map(frame.head(150)), analyzer.map(frame.slice(150)))
    for source in ("a", "b"):
        assert np.array_equal(whole[source].counts, parts[source].counts)
        assert np.allclose(whole[source].z_sum, parts[source].z_sum)
        assert whole[source].topic_sum.dtype == np.float32 and whole[source].topic_sum.shape == (DIM,)
        assert np.allclose(whole[source].topic_sum, parts[source].topic_sum, atol=1e-4)
    assert len(whole["a"].z_sum) == len(profile.features) + 1  # the skeleton logit's sum rides along


def _gaussian_matched_profile() -> CalibrationProfile:
    """Two groups with N(-2, 1) human and N(2, 1) synthetic logits, topic centroids on two axes, and
    held-out errors wide below similarity 0.9 and narrow above it."""
    rng = np.random.default_rng(0)
    hist = lambda mu: histogram(rng.normal(mu, 1, 5000)).tolist()  # noqa: E731
    first, second = np.zeros(DIM), np.zeros(DIM)
    first[0], second[1] = 1.0, 1.0
    return CalibrationProfile(
        features=["kobak_style_rate"], mean=[0.0], scale=[1.0], weights=[1.0], bias=0.0,
        human_hist=hist(-2), synthetic_hist=hist(2), threshold=0.5,
        human_group_hists={"a": hist(-2), "b": hist(-2)}, synthetic_group_hists={"a": hist(2), "b": hist(2)},
        topic_centroids={"a": first.tolist(), "b": second.tolist()},
        matching={"tau": 0.01, "quantifier": "mle", "min_similarity": 0.5},
        cv_errors_by_similarity=[
            {"similarity": 0.0, "estimate": 0.0, "errors": np.linspace(-0.3, 0.3, 101).round(5).tolist()},
            {"similarity": 0.9, "estimate": 0.0, "errors": np.linspace(-0.02, 0.02, 101).round(5).tolist()},
            {"similarity": 0.9, "estimate": 0.5, "errors": np.linspace(-0.5, 0.0, 101).round(5).tolist()},
        ],
    )


def test_a_source_unlike_every_group_gets_a_wider_interval_and_low_confidence() -> None:
    profile = _gaussian_matched_profile()
    rng = np.random.default_rng(1)
    counts = histogram(np.concatenate([rng.normal(2, 1, 300), rng.normal(-2, 1, 700)]))
    like_a, unlike = np.zeros(DIM), np.zeros(DIM)
    like_a[0], unlike[0], unlike[5] = 1.0, 0.3, 1.0  # cosine 1 to group a; 0.29 to it and 0 to b
    result = estimate_fractions(np.stack([counts, counts]), profile, topic_sums=np.stack([like_a, unlike]), seed=2)
    assert result.method == "mle-matched"
    assert np.allclose(result.estimate, result.estimate[0]) and abs(result.estimate[0] - 0.3) < 0.05
    width = result.ci_high - result.ci_low
    assert width[1] > width[0] + 0.3, width
    assert result.low_confidence.tolist() == [False, True]
    assert np.allclose(result.similarity, [1.0, 0.3 / np.hypot(0.3, 1.0)])
    # a high estimate of a similar source takes the errors of high held-out estimates: room above it
    high = histogram(np.concatenate([rng.normal(2, 1, 700), rng.normal(-2, 1, 300)]))
    both = estimate_fractions(np.stack([counts, high]), profile, topic_sums=np.stack([like_a, like_a]), seed=2)
    assert both.ci_high[1] - both.estimate[1] > 0.2 > both.ci_high[0] - both.estimate[0]


def test_bands_measured_at_several_source_sizes_are_read_at_each_source_size() -> None:
    profile = _gaussian_matched_profile()
    profile.cv_errors_by_similarity = [
        {"similarity": 0.0, "estimate": 0.0, "documents": 50, "errors": np.linspace(-0.3, 0.3, 101).round(5).tolist()},
        {"similarity": 0.0, "estimate": 0.0, "documents": 1000, "errors": np.linspace(-0.05, 0.05, 101).round(5).tolist()},
    ]
    rng = np.random.default_rng(3)
    scores = np.concatenate([rng.normal(2, 1, 300), rng.normal(-2, 1, 700)])
    like_a = np.zeros(DIM)
    like_a[0] = 1.0
    sizes = (20, 50, 1000)
    counts = np.stack([histogram(rng.choice(scores, n, replace=False)) for n in sizes])
    result = estimate_fractions(counts, profile, topic_sums=np.stack([like_a] * 3), seed=2)
    width = result.ci_high - result.ci_low
    # 1000 documents: the band at 1000 alone (its held-out sources held that sampling noise already): 0.1 wide
    assert abs(width[2] - 0.09) < 0.011 and result.ci_low[2] < 0.3 < result.ci_high[2]
    # 50 documents: the band at 50 (0.27 either side, unless clipped at 0 / 1) and no bootstrap on top
    assert abs(result.ci_high[1] - min(result.estimate[1] + 0.27, 1.0)) < 1e-9
    # 20 documents: the band at 50 and the sampling noise beyond a 50-document source's, in quadrature
    assert result.ci_high[0] - result.estimate[0] > 0.28 and result.estimate[0] - result.ci_low[0] > 0.28


def test_format_1_profiles_still_load_and_estimate_against_pooled_densities(fitted, tmp_path: Path) -> None:
    profile, _, batch, _ = fitted
    data = profile.to_json()
    for key in ("skeleton", "combine", "topic_centroids", "matching", "cv_errors_by_similarity"):
        data.pop(key)
    data["format_version"] = 1
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(data))
    old = CalibrationProfile.load(path)
    analyzer = DetectAnalyzer(old)
    state = analyzer.map(batch.head(100).with_columns(pl.lit("s").alias("source")))
    assert state["s"].topic_sum is None and len(state["s"].z_sum) == len(old.features)
    from synthscope.analyzer import FinalizeContext

    source = analyzer.finalize(state, FinalizeContext(tmp_path)).per_source["s"]
    assert source["synthetic_fraction"]["method"] == "mle-mixture" and "calibration_match" not in source


def test_inconsistent_format_2_profiles_are_refused(fitted, tmp_path: Path) -> None:
    profile, _, _, _ = fitted
    good = profile.to_json()
    centroids = dict(good["topic_centroids"])
    centroids["xsum"] = centroids["xsum"][:10]
    cases = {
        "vocabulary.json": {**good, "skeleton": {**good["skeleton"], "vocabulary": "skeleton-xx-9"}},
        "centroid.json": {**good, "topic_centroids": centroids},
        "combine.json": {**good, "combine": {"skeleton_weight": 0.5}},
        "grams.json": {**good, "skeleton": {**good["skeleton"], "grams": good["skeleton"]["grams"][:3]}},
    }
    for name, data in cases.items():
        (tmp_path / name).write_text(json.dumps(data))
        with pytest.raises(InputError, match=name):
            CalibrationProfile.load(tmp_path / name)
    broken = copy.deepcopy(good)
    broken["skeleton"]["grams"][0] = "the zebra"
    (tmp_path / "token.json").write_text(json.dumps(broken))
    with pytest.raises(InputError, match="token.json"):
        CalibrationProfile.load(tmp_path / "token.json")
