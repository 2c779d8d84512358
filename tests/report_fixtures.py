"""The corpus the report tests audit: real labelled text (../shared/data).

`corpus_frame` draws a deterministic sample of the dev data with the domain as `source` and planted
copies; the report tests run on the real audit of it (`audit_report` in conftest), never on made-up fields.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl


SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEV = SHARED_DATA / "detect_dev.jsonl.gz"


def corpus_frame(n: int = 1200, seed: int = 7, duplicate_every: int = 25) -> pl.DataFrame:
    """`n` dev documents (id, text, label, source=domain), with every `duplicate_every`-th one repeated."""
    dev = pl.read_ndjson(DEV).select("id", "text", "label", pl.col("domain").alias("source"))
    frame = dev.sample(n, seed=seed, shuffle=True)
    copies = frame.gather_every(duplicate_every).with_columns(pl.col("id") + "-copy")
    return pl.concat([frame, copies]).sort("id")
