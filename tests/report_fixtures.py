"""Report inputs for the report tests, computed from real labelled text (../shared/data).

`corpus_frame` draws a deterministic sample of the dev data with the domain as `source`.
`enrich` adds the fields the detect, dedup and diversity analyzers will add, computed here from
the same documents so every rendering and check path has real numbers to work on: the synthetic
fraction from the true labels (Wilson interval), scores from the rate of published LLM marker words,
exact duplicates from the normalised text, and a few lexical diversity figures from the tokens.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthscope.text import prepare

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEV = SHARED_DATA / "detect_dev.jsonl.gz"
BIN_EDGES = np.linspace(0.0, 1.0, 21)


def corpus_frame(n: int = 1200, seed: int = 7, duplicate_every: int = 25) -> pl.DataFrame:
    """`n` dev documents (id, text, label, source=domain), with every `duplicate_every`-th one repeated."""
    dev = pl.read_ndjson(DEV).select("id", "text", "label", pl.col("domain").alias("source"))
    frame = dev.sample(n, seed=seed, shuffle=True)
    copies = frame.gather_every(duplicate_every).with_columns(pl.col("id") + "-copy")
    return pl.concat([frame, copies]).sort("id")


def marker_words() -> list[str]:
    """The Kobak et al. excess 'style' words."""
    words = pl.read_csv(SHARED_DATA / "markers" / "kobak_excess_words.csv")
    return words.filter(pl.col("type") == "style")["word"].to_list()


def marker_scores(frame: pl.DataFrame) -> np.ndarray:
    """A document score in [0, 1]: 1 - exp(-40 * share of tokens that are LLM marker words)."""
    prepared = prepare(frame)
    markers = pl.Series(marker_words())
    rate = prepared.select(
        (pl.col("tokens").list.eval(pl.element().is_in(markers.implode())).list.sum() / pl.col("n_tokens").clip(1)).alias("r")
    )["r"].to_numpy()
    return 1.0 - np.exp(-40.0 * rate)


def _wilson(k: int, n: int, z: float = 1.645) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def enrich(report: dict[str, Any], frame: pl.DataFrame) -> dict[str, Any]:
    """Add analyzer fields computed from `frame` (the audited documents) to `report`, in place."""
    scores = marker_scores(frame)
    prepared = prepare(frame).with_columns(pl.Series("score", scores))
    human, synthetic = (np.histogram(scores[(frame["label"] == lab).to_numpy()], BIN_EDGES)[0] for lab in ("human", "machine"))
    report.setdefault("summary", {})["detect"] = {
        "profile": {"name": "test-markers", "version": "1"},
        "confidence": 0.9,
        "threshold": 0.5,
        "profile_histograms": {"bin_edges": BIN_EDGES.tolist(), "human": human.tolist(), "synthetic": synthetic.tolist()},
    }
    by_source = {s["source"]: s for s in report["sources"]}
    for (name,), group in prepared.group_by("source"):
        n = group.height
        k = int((group["label"] == "machine").sum())
        lo, hi = _wilson(k, n)
        tokens = group["tokens"].explode().drop_nulls()
        bigrams = group.select(pl.col("tokens").list.eval(pl.element() + " " + pl.element().shift(-1)).list.slice(0, pl.col("tokens").list.len() - 1)).to_series().explode().drop_nulls()
        by_source[name].update(
            {
                "synthetic_fraction": {"estimate": k / n, "ci_low": lo, "ci_high": hi, "confidence": 0.9, "method": "labels", "low_confidence": n < 50},
                "flagged_fraction": float((group["score"] > 0.5).mean()),
                "top_features": [{"feature": "marker_word_rate", "weight": 1.0}],
                "score_histogram": {"bin_edges": BIN_EDGES.tolist(), "counts": np.histogram(group["score"].to_numpy(), BIN_EDGES)[0].tolist()},
                "exact_duplicate_fraction": 1 - group["norm"].n_unique() / n,
                "diversity": {
                    "ttr": tokens.n_unique() / max(len(tokens), 1),
                    "distinct_1": tokens.n_unique() / max(len(tokens), 1),
                    "distinct_2": bigrams.n_unique() / max(len(bigrams), 1),
                    "embedder": None,
                    "budget_tokens": int(len(tokens)),
                    "budget_documents": n,
                },
            }
        )
    return report
