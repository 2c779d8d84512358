"""Metric names and access: the dotted paths that checks, comparisons and renderings share."""

from __future__ import annotations

import functools
import math
from typing import Any

SYNTHETIC = "synthetic_fraction.estimate"
EXACT_DUP = "exact_duplicate_fraction"
NEAR_DUP = "near_duplicate_fraction"
FLAGGED = "flagged_fraction"
# Diversity metrics where a fall means lost diversity; the default set for --max-diversity-drop.
KEY_DIVERSITY = ("mattr", "distinct_2", "bigram_entropy", "vendi_score")
# Metrics a comparison reports deltas for (diversity ones are prefixed with 'diversity.').
COMPARED = (SYNTHETIC, EXACT_DUP, NEAR_DUP, *(f"diversity.{m}" for m in (*KEY_DIVERSITY, "self_bleu")))

LABELS = {
    SYNTHETIC: "synthetic fraction",
    EXACT_DUP: "exact duplicates",
    NEAR_DUP: "near duplicates",
    FLAGGED: "flagged",
    "diversity.mattr": "MATTR",
    "diversity.distinct_2": "distinct-2",
    "diversity.bigram_entropy": "bigram entropy",
    "diversity.vendi_score": "Vendi score",
    "diversity.self_bleu": "self-BLEU",
    "diversity.mtld": "MTLD",
}


@functools.lru_cache(maxsize=256)
def _path_parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def metric_value(source: dict[str, Any], path: str) -> float | None:
    """The number at dotted `path` in a source object; None when absent, null or not finite."""
    node: Any = source
    for part in _path_parts(path):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        return None
    value = float(node)
    return value if math.isfinite(value) else None


CORPUS_FRACTION_METHOD = "document-weighted mean of the sources' estimates"


def corpus_synthetic_fraction(sources: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The corpus's synthetic fraction, the one definition every report section and rendering uses: the
    mean of the sources' `synthetic_fraction.estimate` weighted by the documents each was estimated on
    (`documents_used`), over the sources that have an estimate; None when none has. So it reads as
    "the share of the corpus's judged documents that are machine-written", consistent with the sources
    table (each source estimated against its own matched calibration genres or human reference)."""
    estimated, documents = 0.0, 0
    count = 0
    for source in sources:
        value = metric_value(source, SYNTHETIC)
        record = source.get("synthetic_fraction")
        if value is None or not isinstance(record, dict):
            continue
        weight = int(record.get("documents_used", source.get("documents", 0)) or 0)
        if weight <= 0:
            continue
        estimated += value * weight
        documents += weight
        count += 1
    if not documents:
        return None
    return {"estimate": round(estimated / documents, 4), "documents_used": documents, "sources_estimated": count,
            "method": CORPUS_FRACTION_METHOD}


def set_corpus_synthetic_fraction(report: dict[str, Any]) -> None:
    """Write (or refresh, after the sources were re-estimated) `summary.detect.synthetic_fraction`."""
    detect = report.get("summary", {}).get("detect")
    if detect is None:
        return
    value = corpus_synthetic_fraction(report["sources"])
    if value is None:
        detect.pop("synthetic_fraction", None)
    else:
        detect["synthetic_fraction"] = value


def label(path: str) -> str:
    """Human name of a metric path."""
    return LABELS.get(path, path.removeprefix("diversity.").replace("_", " "))


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage, or an em dash when missing."""
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def fmt_num(value: float | None, digits: int = 3) -> str:
    """A number with fixed digits, or an em dash when missing."""
    return "—" if value is None else f"{value:.{digits}f}"


# Why a synthetic fraction is null, as shown in renderings (the report keeps the code).
NULL_REASONS = {"unsupported_language": "unsupported language"}


def null_reason_text(source: dict[str, Any]) -> str:
    """'— (unsupported language)' for a null synthetic fraction with a reason, else an em dash."""
    sf = source.get("synthetic_fraction")
    reason = sf.get("reason") if isinstance(sf, dict) else None
    return f"— ({NULL_REASONS.get(reason, reason)})" if reason else "—"


def fmt_languages(source: dict[str, Any], limit: int = 2) -> str:
    """'en' for a single-language source, 'en 60%, de 40%' otherwise; an em dash when unknown."""
    langs = source.get("languages")
    if not isinstance(langs, list) or not langs:
        return "—"
    if len(langs) == 1 or langs[0].get("share", 0) >= 0.995:
        return str(langs[0]["language"])
    return ", ".join(f"{l['language']} {100 * l['share']:.0f}%" for l in langs[:limit])


def fmt_synthetic(source: dict[str, Any]) -> str:
    """'12.3% [8.1–16.0%]' with a trailing '?' for low-confidence estimates, or an em dash (with the
    reason when the detector gave one)."""
    sf = source.get("synthetic_fraction")
    if not isinstance(sf, dict):
        return "—"
    est = metric_value(source, "synthetic_fraction.estimate")
    lo = metric_value(source, "synthetic_fraction.ci_low")
    hi = metric_value(source, "synthetic_fraction.ci_high")
    if est is None:
        return null_reason_text(source)
    text = fmt_pct(est)
    if lo is not None and hi is not None:
        text += f" [{100 * lo:.1f}–{100 * hi:.1f}%]"
    return text + (" (low confidence)" if sf.get("low_confidence") else "")
