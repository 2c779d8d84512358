"""CPU seconds of the diversity finalize on a long tail of sources, for several `--diversity-min-docs`.

Builds (once, cached under benchmarks/out/ as throughput.py does) a make_web_corpus.py corpus of `--docs`
documents over `--domains` Zipf-sized domains, maps it through the diversity analyzer in this process
(`--by domain`, default budgets) and measures every finalize step (`measure_group`) once per minimum in
the same process (by default: every source measured, `--diversity-min-docs 1`, the behaviour before the
option, and the default minimum, 30). Prints the sources and documents measured and the CPU seconds of
each (one polars thread, one BLAS thread), and checks that every source measured under two minimums has
the same figures.

    python benchmarks/diversity_finalize.py [--docs 200000] [--domains 20000] [--min-docs 1 30 100] [--name NAME]
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _record import recorded  # noqa: E402
from throughput import corpus  # noqa: E402

from synthscope.diversity.analyzer import DEFAULT_MIN_DOCS, measure_group  # noqa: E402
from synthscope.engines import single_threaded_blas  # noqa: E402
from synthscope.io.accounting import Accounting  # noqa: E402
from synthscope.pipeline import AuditConfig, build_diversity, iter_prepared, plan_inputs  # noqa: E402


def finalize_cpu(tasks: list, min_docs: int) -> tuple[float, dict]:
    """CPU seconds of measuring every task with `min_docs`, and the per-source results."""
    results: dict = {}
    started = time.process_time()
    for task in tasks:
        results.update(measure_group(dataclasses.replace(task, settings=dataclasses.replace(task.settings, min_docs=min_docs))))
    return time.process_time() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--domains", type=int, default=20_000)
    parser.add_argument("--min-docs", type=int, nargs="+", default=[1, DEFAULT_MIN_DOCS])
    parser.add_argument("--name", default="diversity_finalize", help="results file name (benchmarks/results/NAME.txt)")
    with recorded(parser.parse_args().name):
        args = parser.parse_args()
        folder = corpus(args.docs, args.domains, HERE / "out")
        config = AuditConfig(by="domain", workers=1)
        inputs, _, plan = plan_inputs([str(folder)], config)
        config = plan.resolved(config)
        analyzer = build_diversity(config)
        state = analyzer.empty()
        with single_threaded_blas():
            for batch in iter_prepared(inputs, plan, config, Accounting(), {}):
                state = analyzer.merge(state, analyzer.map(batch))
            tasks = analyzer.tasks(state)
            candidates = sum(t.in_memory.height for t in tasks)
            print(f"{args.docs:,} documents over {args.domains:,} domains: {len(tasks)} finalize steps, {candidates:,} sample candidates in memory")
            runs = [(m, *finalize_cpu(tasks, m)) for m in args.min_docs]
        print(f"{'minimum':<28} {'sources measured':>16} {'sample docs':>12} {'CPU s':>7}")
        first_cpu = runs[0][1]
        measured_by: list[set[str]] = []
        for minimum, cpu, results in runs:
            measured = {name for name, fields in results.items() if "not_measured" not in fields}
            measured_by.append(measured)
            documents = sum(results[name]["sample_documents"] for name in measured)
            label = f"{minimum} (default)" if minimum == DEFAULT_MIN_DOCS else (f"{minimum} (every source)" if minimum == 1 else str(minimum))
            print(f"{label:<28} {len(measured):>16,} {documents:>12,} {cpu:>7.2f}   CPU {first_cpu / cpu:.2f}x less than the first")
        same = all(
            runs[i][2][name] == runs[j][2][name]
            for i in range(len(runs)) for j in range(i + 1, len(runs)) for name in measured_by[i] & measured_by[j]
        )
        print(f"sources measured under two minimums have the same figures: {same}")


if __name__ == "__main__":
    main()
