"""sources.parquet: one row per source with its per-source metrics flattened into columns, for users
who query a long tail of sources with polars or duckdb (report.json stays the record)."""

from __future__ import annotations

import io
import itertools
import json
from typing import Any

import polars as pl

SKIPPED = ("score_histogram",)  # per-source histogram: in report.json (sources of 30 documents or more)
_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(value, ensure_ascii=False), its encoder made once


def flatten_source(source: dict[str, Any]) -> dict[str, Any]:
    """A source object as flat columns: nested objects joined with '_' (`synthetic_fraction_estimate`,
    `diversity_mattr`), lists summarised by their first item (`language`, `language_share`,
    `top_feature`, `largest_cluster_size`), other nested values as JSON text."""
    out: dict[str, Any] = {}
    for key, value in source.items():
        if key in SKIPPED:
            continue
        if key == "languages" and isinstance(value, list):
            out["language"] = value[0]["language"] if value else None
            out["language_share"] = value[0]["share"] if value else None
        elif key == "top_features" and isinstance(value, list):
            first = value[0] if value else None
            out["top_feature"] = (first.get("feature") or first.get("name")) if isinstance(first, dict) else first
        elif key == "largest_clusters" and isinstance(value, list):
            out["largest_cluster_size"] = value[0]["size"] if value else None
        elif isinstance(value, dict):
            for inner, item in value.items():
                out[f"{key}_{inner}"] = _json(item) if isinstance(item, (dict, list)) else item
        elif isinstance(value, list):
            out[key] = _json(value)
        else:
            out[key] = value
    return out


def sources_frame(report: dict[str, Any]) -> pl.DataFrame:
    """Every source of a report as one row (largest first, as in report.json)."""
    rows = [flatten_source(s) for s in report["sources"]]
    if not rows:
        return pl.DataFrame({"source": pl.Series([], dtype=pl.String)})
    columns = list(dict.fromkeys(itertools.chain.from_iterable(rows)))  # every key, in order of first appearance
    return pl.from_dicts(rows, schema=None, infer_schema_length=None).select(columns)


def sources_parquet(report: dict[str, Any]) -> bytes:
    """sources.parquet's bytes (zstd)."""
    buffer = io.BytesIO()
    sources_frame(report).write_parquet(buffer, compression="zstd")
    return buffer.getvalue()
