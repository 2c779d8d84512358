"""Finalize cost per source when a corpus has many small sources (e.g. a scrape split by domain).

Writes dev texts as N sources of K documents each, audits them in this process and prints each
analyzer's finalize seconds in total and per source.

    python benchmarks/many_sources.py [--sources 2000] [--docs-per-source 4]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import polars as pl

from synthscope.pipeline import AuditConfig, run_audit

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "detect_dev.jsonl.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--docs-per-source", type=int, default=4)
    args = parser.parse_args()
    n = args.sources * args.docs_per_source
    texts = pl.read_ndjson(DEV).select("text")
    frame = pl.concat([texts] * (n // texts.height + 1)).head(n).with_columns(
        (pl.int_range(pl.len()) // args.docs_per_source).cast(pl.String).alias("source")
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "many.parquet"
        frame.write_parquet(path)
        report = run_audit([str(path)], AuditConfig())
    print(f"{args.sources:,} sources x {args.docs_per_source} documents; audit {report['timings']['total_seconds']:.1f} s")
    for name, t in report["timings"]["analyzers"].items():
        per = 1000 * t["finalize_seconds"] / args.sources
        print(f"  {name:<10} finalize {t['finalize_seconds']:6.1f} s  ({per:5.1f} ms per source)")


if __name__ == "__main__":
    main()
