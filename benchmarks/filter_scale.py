"""Time and peak memory of `synthscope filter` against `synthscope audit --no-diversity` on the same corpus.

`filter` runs the audit's detect and dedup analyzers in one pass, then its own steps (a pass over the
score spill, thresholds, decisions) and a second pass that writes the kept rows and decisions.parquet;
`audit --no-diversity` runs the same analyzers, so the ratio is what filtering adds. The filter runs with
`--score-above 0.5` (these corpora stitch human and machine sentences, which the estimator reads as 0%
synthetic, so `--max-synthetic` would keep everything; a score cut makes pass 2 drop rows). Each command runs in a
fresh child process (peak RSS from wait4). Corpora: `benchmarks/audit_memory.py`'s (50 domains, shards of
100k rows); `--long-tail N` adds ../shared/bench/make_web_corpus.py's corpus of N documents over 20,000
Zipf-sized domains (a long tail of tiny sources).

    python benchmarks/filter_scale.py [--sizes 100000 300000] [--long-tail 100000] [--workers 1] [--workdir benchmarks/out]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _record import recorded  # noqa: E402
from audit_memory import make_corpus  # noqa: E402

WEB_CORPUS = HERE.parent.parent / "shared" / "bench" / "make_web_corpus.py"


def run(args: list[str]) -> tuple[float, float]:
    """Run the synthscope CLI in a child process; return (peak RSS in MiB, seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "synthscope.cli", *args], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"synthscope {' '.join(args)} failed")
    return usage.ru_maxrss / 1024, seconds


def long_tail_corpus(n: int, folder: Path) -> Path:
    if not any(folder.glob("*.parquet")):
        subprocess.run([sys.executable, str(WEB_CORPUS), str(n), str(folder), "--domains", "20000"], check=True, stdout=subprocess.DEVNULL)
    return folder


def measure(name: str, corpus: Path, n: int, work: Path, workers: int) -> None:
    common = ["--by", "domain", "--workers", str(workers), "-q"]
    audit_peak, audit_seconds = run(["audit", str(corpus), *common, "--no-diversity", "-o", str(work / "audit"), "--format", "json"])
    out = work / "filtered"
    shutil.rmtree(out, ignore_errors=True)
    filter_peak, filter_seconds = run(["filter", str(corpus), *common, "--score-above", "0.5", "-o", str(out)])
    report = json.loads((out / "filter_report.json").read_text())
    t = report["timings"]
    print(f"{name:10s} {n:>10,} {len(report['sources']):>8,} {audit_peak:>9.0f} {audit_seconds:>8.1f} {filter_peak:>10.0f} {filter_seconds:>8.1f} "
          f"{filter_seconds / audit_seconds:>6.2f} {filter_peak / audit_peak:>6.2f}   "
          f"pass 1 {t['first_pass_seconds']:.1f} s, plan+decisions {t['plan_seconds']:.1f} s, pass 2 {t['second_pass_seconds']:.1f} s; "
          f"kept {report['totals']['kept']:,}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--long-tail", type=int, default=100_000, help="documents of the long-tail corpus (0: none)")
    parser.add_argument("--workdir", type=Path, default=HERE / "out")
    parser.add_argument("--workers", type=int, default=1, help="--workers of both commands (peak RSS is the main process's)")
    with recorded("filter_scale"):
        args = parser.parse_args()
        print(f"{'corpus':10s} {'documents':>10s} {'sources':>8s} {'audit MiB':>9s} {'audit s':>8s} {'filter MiB':>10s} {'filter s':>8s} {'time x':>6s} {'RSS x':>6s}")
        for n in args.sizes:
            measure("mixed", make_corpus(n, args.workdir / f"corpus-{n}"), n, args.workdir / f"filter-{n}", args.workers)
        if args.long_tail:
            corpus = long_tail_corpus(args.long_tail, args.workdir / f"web-{args.long_tail}")
            measure("long tail", corpus, args.long_tail, args.workdir / f"filter-web-{args.long_tail}", args.workers)


if __name__ == "__main__":
    main()
