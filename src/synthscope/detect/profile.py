"""Calibration profile: the scorer's weights and feature normalisation plus the score distributions of
known human and known synthetic text, in a small versioned JSON file.

Scores are binned on the logit scale (`LOGIT_EDGES`); the profile stores the calibration histograms
overall and per calibration group (domain), the decision threshold, the cross-domain shift of the
estimate measured by leave-one-group-out cross-validation, and training metadata.

Format version 2 adds, all optional (a version-1 file loads as a style-only profile estimated against
its pooled calibration densities, as before):
- `skeleton`: the skeleton n-gram model (readable n-grams and their weights, see detect/skeleton.py) and
  `combine`: how its logit and the style logit make the score;
- `topic_centroids`: each calibration group's mean topic vector (detect/topics.py), so a source is
  estimated against the groups it resembles (`matching`: temperature and quantifier);
- `cv_errors_by_similarity`: held-out estimate errors by how close the source was to its nearest group;
(`languages`, the calibration text's languages, came with the multilingual work and is read in both
versions; the skeleton vocabulary and the topic vectors' common-word list are English, so profiles of
other languages are fitted without them.)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from synthscope.errors import InputError
from synthscope.language import UNDETERMINED

FORMAT = "synthscope-calibration-profile"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
LOGIT_MIN, LOGIT_MAX, N_BINS = -10.0, 10.0, 80
LOGIT_EDGES = np.linspace(LOGIT_MIN, LOGIT_MAX, N_BINS + 1)
DEFAULT_PROFILE = "default_profile.json"
DEFAULT_LANGUAGES = ("en",)


@dataclass
class CalibrationProfile:
    """Everything needed to score documents and estimate a source's synthetic fraction."""

    features: list[str]
    mean: list[float]  # feature normalisation: z = (x - mean) / scale, clipped to +-clip
    scale: list[float]
    weights: list[float]
    bias: float
    human_hist: list[float]  # counts of calibration scores per logit bin
    synthetic_hist: list[float]
    threshold: float  # decision threshold on the score in [0, 1]
    clip: float = 4.0
    shrink_words: float = 100.0  # a document of n words keeps n / (n + shrink_words) of its evidence
    human_group_hists: dict[str, list[float]] = field(default_factory=dict)
    synthetic_group_hists: dict[str, list[float]] = field(default_factory=dict)
    human_mean_z: list[float] = field(default_factory=list)  # calibration human mean of standardised features
    shift_sd: dict[str, float] = field(default_factory=lambda: {"human": 0.0, "synthetic": 0.0})
    # quantiles 0, 0.01, ..., 1 of leave-one-group-out (estimate - truth) on mixed held-out sources:
    # the interval is widened by them (split conformal); empty = widen by shift_sd instead
    cv_errors: list[float] = field(default_factory=list)
    training: dict[str, Any] = field(default_factory=dict)
    # languages of the calibration text (language-ID codes): documents identified as another language are
    # left out of a source's estimate. Profiles written before this field existed are English.
    languages: list[str] = field(default_factory=lambda: list(DEFAULT_LANGUAGES))
    # format version 2 (see the module docstring); empty = not used
    skeleton: dict[str, Any] = field(default_factory=dict)  # grams, weights, bias, mean_logit, shrink_tokens, orders, vocabulary
    combine: dict[str, float] = field(default_factory=dict)  # skeleton_weight, style/skeleton mean and sd, scale, offset
    topic_centroids: dict[str, list[float]] = field(default_factory=dict)  # per calibration group: mean topic vector
    # tau (softmax temperature over cosines), quantifier (mle, hdy), center (subtracted before cosines), min_similarity
    matching: dict[str, Any] = field(default_factory=dict)
    # [{"similarity": lower edge, "estimate": lower edge, "errors": 101 quantiles of held-out estimate - truth}]
    cv_errors_by_similarity: list[dict[str, Any]] = field(default_factory=list)

    def supports(self, code: str) -> bool:
        """Whether documents identified as `code` are judged by this profile (undetermined ones are)."""
        return code == UNDETERMINED or code in self.languages

    def to_json(self) -> dict[str, Any]:
        """The JSON document (with format name and version)."""
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "logit_edges": [LOGIT_MIN, LOGIT_MAX, N_BINS], **asdict(self)}

    def save(self, path: str | Path) -> None:
        """Write the profile as indented JSON."""
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict[str, Any], origin: str = "profile") -> CalibrationProfile:
        """Validate and build a profile from its JSON document; InputError names what is wrong."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f"{origin}: not a synthscope calibration profile (missing format '{FORMAT}')")
        if data.get("format_version") not in READABLE_VERSIONS:
            raise InputError(f"{origin}: unsupported profile format_version {data.get('format_version')!r} "
                             f"(this version reads {', '.join(map(str, READABLE_VERSIONS))}; refit it with `synthscope calibrate`)")
        if data.get("logit_edges") != [LOGIT_MIN, LOGIT_MAX, N_BINS]:
            raise InputError(f"{origin}: score bins {data.get('logit_edges')!r} differ from this version's {[LOGIT_MIN, LOGIT_MAX, N_BINS]}")
        fields = {k: v for k, v in data.items() if k not in {"format", "format_version", "logit_edges"}}
        try:
            profile = cls(**fields)
        except TypeError as exc:
            raise InputError(f"{origin}: bad profile fields ({exc})") from None
        if not isinstance(profile.languages, list) or not profile.languages or not all(isinstance(c, str) and c for c in profile.languages):
            raise InputError(f"{origin}: 'languages' must be a non-empty list of language codes, got {profile.languages!r}")
        n = len(profile.features)
        if not (len(profile.mean) == len(profile.scale) == len(profile.weights) == n):
            raise InputError(f"{origin}: features, mean, scale and weights must have the same length")
        if len(profile.human_hist) != N_BINS or len(profile.synthetic_hist) != N_BINS:
            raise InputError(f"{origin}: score histograms must have {N_BINS} bins")
        if sum(profile.human_hist) <= 0 or sum(profile.synthetic_hist) <= 0:
            raise InputError(f"{origin}: empty human or synthetic score histogram")
        from synthscope.detect.features import FEATURE_NAMES

        unknown = sorted(set(profile.features) - set(FEATURE_NAMES))
        if unknown:
            raise InputError(f"{origin}: unknown features {unknown}")
        _check_v2(profile, origin)
        return profile

    @classmethod
    def load(cls, path: str | Path) -> CalibrationProfile:
        """Read a profile file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: calibration profile not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: cannot read calibration profile ({exc})") from None
        return cls.from_json(data, str(path))


def _check_v2(profile: CalibrationProfile, origin: str) -> None:
    """Consistency of the version-2 parts (skeleton model, combination, topic centroids)."""
    from synthscope.detect.skeleton import VOCABULARY_NAME
    from synthscope.detect.topics import DIM

    if profile.skeleton:
        from synthscope.detect.skeleton import parse

        sk = profile.skeleton
        if sk.get("vocabulary") != VOCABULARY_NAME:
            raise InputError(f"{origin}: skeleton vocabulary {sk.get('vocabulary')!r} differs from this version's {VOCABULARY_NAME!r}")
        if len(sk.get("grams", [])) != len(sk.get("weights", [])) or not sk.get("grams"):
            raise InputError(f"{origin}: skeleton grams and weights must be non-empty and of the same length")
        missing = {"skeleton_weight", "style_mean", "style_sd", "skeleton_mean", "skeleton_sd", "scale", "offset"} - set(profile.combine)
        if missing:
            raise InputError(f"{origin}: combine lacks {sorted(missing)}")
        try:
            for gram in sk["grams"]:
                parse(gram)
        except ValueError as exc:
            raise InputError(f"{origin}: skeleton n-gram: {exc}") from None
    if profile.matching.get("center") is not None and len(profile.matching["center"]) != DIM:
        raise InputError(f"{origin}: matching center has {len(profile.matching['center'])} values, expected {DIM}")
    for group, centroid in profile.topic_centroids.items():
        if len(centroid) != DIM:
            raise InputError(f"{origin}: topic centroid of {group!r} has {len(centroid)} values, expected {DIM}")
        if group not in profile.human_group_hists or group not in profile.synthetic_group_hists:
            raise InputError(f"{origin}: topic centroid of {group!r} without both score histograms of that group")


def default_profile() -> CalibrationProfile:
    """The profile shipped in the package (fitted by scripts/fit_default_profile.py)."""
    text = resources.files("synthscope").joinpath("data", DEFAULT_PROFILE).read_text(encoding="utf-8")
    return CalibrationProfile.from_json(json.loads(text), f"package data {DEFAULT_PROFILE}")


def load_profile(path: str | Path | None) -> CalibrationProfile:
    """The profile at `path`, or the default one."""
    return default_profile() if path is None else CalibrationProfile.load(path)


def score_bins(logits: np.ndarray) -> np.ndarray:
    """Bin index of each logit score (values beyond the range go to the end bins)."""
    idx = np.searchsorted(LOGIT_EDGES, logits, side="right") - 1
    return np.clip(idx, 0, N_BINS - 1)


def histogram(logits: np.ndarray) -> np.ndarray:
    """Counts of logit scores per bin."""
    return np.bincount(score_bins(logits), minlength=N_BINS).astype(np.float64)
