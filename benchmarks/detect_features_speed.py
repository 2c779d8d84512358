"""Detect features per core: the vectorised implementation against the earlier polars explode+join one.

One core (POLARS_MAX_THREADS=1), CPU seconds (process time, best of --repeat) per batch of web-like
documents from ../shared/bench/make_web_corpus.py (built once under benchmarks/out/), and the largest
difference between the two implementations' values on the same batches.

    python benchmarks/detect_features_speed.py [--docs 20000] [--batch 5000] [--repeat 3]
"""

from __future__ import annotations

import os

os.environ["POLARS_MAX_THREADS"] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # tests.detect_features_reference: the earlier implementation

from _record import recorded  # noqa: E402
from throughput import corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import synthscope.text as text
    from synthscope.detect.features import FEATURE_NAMES, compute_features
    from tests.detect_features_reference import compute_features as reference

    with recorded("detect_features_speed"):
        folder = corpus(args.docs, 1, HERE / "out")
        texts = pl.read_parquet(folder / "*.parquet", columns=["text"]).head(args.docs)
        batches = [text.prepare(texts.slice(i, args.batch)) for i in range(0, texts.height, args.batch)]
        compute_features(batches[0]), reference(batches[0])  # load the word lists once, outside the timing

        def timed(fn) -> float:  # noqa: ANN001
            best = float("inf")
            for _ in range(args.repeat):
                start = time.process_time()
                for batch in batches:
                    text._LAST_CODES.clear()  # count the dictionary encoding in every run
                    fn(batch)
                best = min(best, time.process_time() - start)
            return best

        old, new = timed(reference), timed(compute_features)
        worst = 0.0
        for batch in batches:
            a, b = compute_features(batch), reference(batch)
            for name in FEATURE_NAMES:
                assert a[name].is_null().to_list() == b[name].is_null().to_list(), name
                if a[name].null_count() < a.height:
                    worst = max(worst, float(np.abs(a[name].drop_nulls().to_numpy() - b[name].drop_nulls().to_numpy()).max()))
        n = texts.height
        print(f"{n:,} web-like documents in batches of {args.batch:,}, one core, CPU seconds (best of {args.repeat})")
        print(f"earlier implementation (explode + join):   {old:6.2f} s  {1e6 * old / n:6.1f} us/doc")
        print(f"vectorised (dictionary-encoded tokens):     {new:6.2f} s  {1e6 * new / n:6.1f} us/doc")
        print(f"speed-up per core: {old / new:.2f}x; largest difference of any feature value: {worst:.1e}")


if __name__ == "__main__":
    main()
