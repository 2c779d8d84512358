"""The mixture estimator on synthetic score mixtures with known alpha, and the profile file format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synthscope.detect.estimator import estimate_fraction, mle_alpha
from synthscope.detect.profile import CalibrationProfile, default_profile, histogram
from synthscope.errors import InputError


def gaussian_profile(rng: np.random.Generator, shift: float = 0.0) -> CalibrationProfile:
    """A profile whose calibration scores are N(-2, 1) for human and N(+2, 1) for synthetic logits."""
    return CalibrationProfile(
        features=["kobak_style_rate"], mean=[0.0], scale=[1.0], weights=[1.0], bias=0.0,
        human_hist=histogram(rng.normal(-2, 1, 20_000)).tolist(),
        synthetic_hist=histogram(rng.normal(2, 1, 20_000)).tolist(),
        threshold=0.5, shift_sd={"human": shift, "synthetic": shift},
    )


def mixture(rng: np.random.Generator, alpha: float, n: int) -> np.ndarray:
    k = rng.binomial(n, alpha)
    return histogram(np.concatenate([rng.normal(2, 1, k), rng.normal(-2, 1, n - k)]))


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.35, 0.5, 0.8, 1.0])
def test_mle_recovers_alpha_and_interval_contains_it(alpha: float) -> None:
    rng = np.random.default_rng(3)
    profile = gaussian_profile(rng)
    result = estimate_fraction(mixture(rng, alpha, 2000), profile, confidence=0.9, seed=5)
    assert abs(result["estimate"] - alpha) < 0.03
    assert result["ci_low"] <= alpha <= result["ci_high"]
    assert result["method"] == "mle-mixture" and result["low_confidence"] is False


def test_interval_narrows_with_more_documents_and_small_sources_are_flagged() -> None:
    rng = np.random.default_rng(4)
    profile = gaussian_profile(rng)
    widths = []
    for n in (20, 200, 5000):
        r = estimate_fraction(mixture(rng, 0.3, n), profile, seed=1)
        widths.append(r["ci_high"] - r["ci_low"])
        assert r["low_confidence"] is (n < 30)
    assert widths[0] > widths[1] > widths[2] > 0


def test_shift_floor_widens_the_interval() -> None:
    rng = np.random.default_rng(5)
    counts = mixture(rng, 0.4, 3000)
    narrow = estimate_fraction(counts, gaussian_profile(np.random.default_rng(1)), seed=1)
    wide = estimate_fraction(counts, gaussian_profile(np.random.default_rng(1), shift=0.1), seed=1)
    assert wide["estimate"] == narrow["estimate"]
    assert (wide["ci_high"] - wide["ci_low"]) > (narrow["ci_high"] - narrow["ci_low"]) + 0.1


def test_held_out_error_quantiles_widen_the_interval_asymmetrically() -> None:
    """A profile whose held-out estimates ran up to 0.3 too low gets room above the estimate, not below."""
    rng = np.random.default_rng(5)
    counts = mixture(rng, 0.4, 3000)
    plain = gaussian_profile(np.random.default_rng(1))
    under = gaussian_profile(np.random.default_rng(1))
    under.cv_errors = np.linspace(-0.3, 0.0, 101).round(5).tolist()  # estimate - truth in [-0.3, 0]
    a = estimate_fraction(counts, plain, seed=1, confidence=0.9)
    b = estimate_fraction(counts, under, seed=1, confidence=0.9)
    assert b["estimate"] == a["estimate"]
    assert b["ci_high"] >= a["estimate"] + 0.28 and b["ci_high"] > a["ci_high"] + 0.2
    assert abs(b["ci_low"] - a["ci_low"]) < 0.01
    wider = estimate_fraction(counts, under, seed=1, confidence=0.99)
    assert wider["ci_high"] > b["ci_high"]


def test_mle_is_vectorised_over_rows() -> None:
    rng = np.random.default_rng(6)
    profile = gaussian_profile(rng)
    from synthscope.detect.estimator import density

    rows = np.vstack([mixture(rng, a, 3000) for a in (0.2, 0.6)])
    est = mle_alpha(rows, density(np.asarray(profile.human_hist)), density(np.asarray(profile.synthetic_hist)))
    assert est.shape == (2,) and abs(est[0] - 0.2) < 0.03 and abs(est[1] - 0.6) < 0.03


def test_profile_file_round_trip(tmp_path: Path) -> None:
    profile = default_profile()
    path = tmp_path / "p.json"
    profile.save(path)
    again = CalibrationProfile.load(path)
    assert again == profile
    data = json.loads(path.read_text())
    assert data["format"] == "synthscope-calibration-profile" and data["format_version"] == 2
    assert {"weights", "mean", "scale", "human_hist", "synthetic_hist", "threshold", "training"} <= set(data)


def test_bad_profile_files_are_one_line_input_errors(tmp_path: Path) -> None:
    data = default_profile().to_json()
    cases = {
        "garbage.json": "{not json",
        "other.json": json.dumps({"hello": 1}),
        "future.json": json.dumps({**data, "format_version": 99}),
        "short.json": json.dumps({**data, "human_hist": [1.0, 2.0]}),
        "unknown.json": json.dumps({**data, "features": ["nope"] + data["features"][1:]}),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=name):
            CalibrationProfile.load(tmp_path / name)
    with pytest.raises(InputError, match="not found"):
        CalibrationProfile.load(tmp_path / "missing.json")
