"""What `score --explain` adds per core: the spans of every document against the detect features.

One core (POLARS_MAX_THREADS=1), CPU seconds (process time, best of --repeat) per batch of web-like
documents from ../shared/bench/make_web_corpus.py (built once under benchmarks/out/): the detect features
(`compute_features`), and the spans of the same batches (`detect.spans.document_spans`), which re-run the
regex features' patterns and tokenise the texts holding a listed word to locate the matches.

    python benchmarks/spans_speed.py [--docs 20000] [--batch 5000] [--repeat 3]
"""

from __future__ import annotations

import os

os.environ["POLARS_MAX_THREADS"] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import polars as pl  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _record import recorded  # noqa: E402
from throughput import corpus  # noqa: E402


def best_cpu_seconds(fn, batches: list[pl.DataFrame], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for batch in batches:
            fn(batch)
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from synthscope.detect.features import compute_features
    from synthscope.detect.spans import document_spans
    from synthscope.text import prepare

    folder = corpus(args.docs, 1, HERE / "out")
    texts = pl.read_parquet(sorted(folder.glob("*.parquet"))[0], columns=["text"]).head(args.docs)
    batches = [prepare(texts.slice(i, args.batch)) for i in range(0, texts.height, args.batch)]
    compute_features(batches[0]), document_spans(batches[0])  # load the word lists and frequency tables once
    with recorded("spans_speed"):
        features = best_cpu_seconds(compute_features, batches, args.repeat)
        spans = best_cpu_seconds(document_spans, batches, args.repeat)
        found = sum(int(document_spans(b).list.len().sum()) for b in batches)
        n = texts.height
        print(f"{n:,} web-like documents in batches of {args.batch:,}, one core, CPU seconds (best of {args.repeat})")
        print(f"detect features:            {features:6.2f} s  {1e6 * features / n:7.1f} us/doc")
        print(f"spans (score --explain):    {spans:6.2f} s  {1e6 * spans / n:7.1f} us/doc  ({found / n:.1f} spans a document)")
        print(f"spans cost {spans / features:.2f}x the features")


if __name__ == "__main__":
    main()
