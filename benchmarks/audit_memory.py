"""Peak memory of `synthscope audit` does not grow with corpus size.

Generates Parquet corpora (default 100k and 1M documents, in shards of 100k rows) from the real dev
texts with per-document variation, runs the audit CLI on each in a fresh process, and prints the peak
RSS, the time, the documents per second and the ratio of the largest to the smallest peak.

    python benchmarks/audit_memory.py [--sizes 100000 1000000] [--workdir benchmarks/out] [-- extra audit options]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
DEV = HERE.parent.parent / "shared" / "data" / "detect_dev.jsonl.gz"
SHARD = 100_000


def make_corpus(n_docs: int, folder: Path, seed: int = 0) -> Path:
    """Write n_docs documents, each 4-9 sentences drawn at random from the dev texts, 50 domains.

    Mixing sentences keeps most documents distinct (like a real scrape, unlike copies of a few
    thousand texts, which would turn the run into a test of giant duplicate clusters).
    """
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.parquet"))) == -(-n_docs // SHARD):
        return folder
    sentences = (
        pl.read_ndjson(DEV).select(pl.col("text").str.split(". ").explode().str.strip_chars())
        .filter(pl.col("text").str.len_chars() > 20)["text"]
    )
    rng = np.random.default_rng(seed)
    for shard, start in enumerate(range(0, n_docs, SHARD)):
        n = min(SHARD, n_docs - start)
        picks = sentences.gather(rng.integers(0, sentences.len(), n * 9)).reshape((n, 9))
        lengths = rng.integers(4, 10, n)
        frame = pl.DataFrame({"sentences": picks, "k": lengths, "n": np.arange(start, start + n)})
        frame = frame.select(
            pl.format("https://www.site{}.org/p/{}", (pl.col("n") % 50), pl.col("n")).alias("url"),
            (pl.col("sentences").arr.to_list().list.head(pl.col("k")).list.join(". ") + ".").alias("text"),
        )
        frame.write_parquet(folder / f"shard-{shard:04d}.parquet", row_group_size=20_000)
    return folder


def run_audit(corpus: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Run the audit in a child process; return (peak RSS in MiB, seconds)."""
    cmd = [sys.executable, "-m", "synthscope.cli", "audit", str(corpus), "--by", "domain", "-q", "-o", str(out), *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"audit failed on {corpus}")
    return usage.ru_maxrss / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=HERE / "out")
    parser.add_argument("extra", nargs="*", help="extra options passed to synthscope audit")
    args = parser.parse_args()
    peaks = []
    print(f"{'documents':>10} {'peak RSS MiB':>13} {'seconds':>8} {'docs/s':>8}")
    for n in args.sizes:
        corpus = make_corpus(n, args.workdir / f"corpus-{n}")
        peak, seconds = run_audit(corpus, args.workdir / f"report-{n}", args.extra)
        peaks.append(peak)
        report = json.loads((args.workdir / f"report-{n}" / "report.json").read_text())
        shares = {
            name: round(t["map_seconds"] + t["finalize_seconds"], 1) for name, t in report["timings"]["analyzers"].items()
        }
        dup = report.get("summary", {}).get("dedup", {}).get("near_duplicates")
        print(f"{n:>10,} {peak:>13.0f} {seconds:>8.1f} {n / seconds:>8,.0f}  analyzer seconds {shares}"
              + ("" if dup is None else f"; near duplicates {dup:,}"), flush=True)
    print(f"peak RSS ratio, {args.sizes[-1]:,} vs {args.sizes[0]:,} documents: {peaks[-1] / peaks[0]:.2f} "
          f"(corpus {args.sizes[-1] / args.sizes[0]:.0f}x larger)")


if __name__ == "__main__":
    main()
