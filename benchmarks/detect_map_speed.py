"""Documents per second of the detect analyzer's map on one core: style features only vs the shipped scorer.

The same prepared batches (detect_dev + detect_train documents, deduplicated, in id order), the same run:
1. the shipped profile stripped to its style model (what a format-1 profile costs: the 22 features);
2. the shipped profile (style features + skeleton n-grams + topic vectors for the source's match);
and the parts of (2) alone (style features, skeleton tokens and their lookup, topic vectors). Best of several repeats, the
runs taking turns within each repeat.

    python benchmarks/detect_map_speed.py [--documents 8000] [--batch 4000] [--repeats 5] [--name detect_map_speed] [--clock wall|cpu]

On a loaded machine: POLARS_MAX_THREADS=1 python benchmarks/detect_map_speed.py --clock cpu (CPU seconds of one thread).
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import polars as pl
from threadpoolctl import threadpool_limits
from _heldout_data import load_documents
from _record import recorded

from synthscope.detect.analyzer import DetectAnalyzer
from synthscope.detect.features import compute_features
from synthscope.detect.profile import default_profile
from synthscope.detect.scoring import scorer_of
from synthscope.detect.skeleton import skeleton_tokens
from synthscope.detect.topics import topic_vectors
from synthscope.text import prepare


def best_seconds(fns: dict, repeats: int, clock=time.perf_counter) -> dict:
    """Best time of each function, the functions taking turns in every repeat (so a change of load on a
    shared machine hits them alike)."""
    for fn in fns.values():
        fn()  # warm caches (marker lists, wordfreq tables, hash tables)
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            started = clock()
            fn()
            best[name] = min(best[name], clock() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=8000)
    parser.add_argument("--batch", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--name", default="detect_map_speed", help="results file name")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: this process's CPU seconds (steadier on a loaded machine; run with POLARS_MAX_THREADS=1)")
    args = parser.parse_args()
    with recorded(args.name), threadpool_limits(1):
        docs = load_documents().sort("id").head(args.documents)
        batches = [prepare(docs.slice(s, args.batch).select("text", pl.col("genre").alias("source")))
                   for s in range(0, docs.height, args.batch)]
        words = sum(int(b["n_tokens"].sum()) for b in batches)
        shipped = default_profile()
        style_only = copy.copy(shipped)
        style_only.skeleton, style_only.combine, style_only.topic_centroids, style_only.matching = {}, {}, {}, {}
        skeleton = scorer_of(shipped).skeleton
        assert skeleton is not None
        timings = {
            # a fresh frame each time, as every batch of a run is: nothing cached from an earlier call
            # (the batch's dictionary encoding, text.token_codes, is computed once per map, as in a run;
            # the topic vectors line below then finds no encoding kept and computes its own)
            "style features only (format-1 profile)": lambda: [DetectAnalyzer(style_only).map(b.clone()) for b in batches],
            "shipped profile: style + skeleton n-grams + topic vectors": lambda: [analyzer.map(b.clone()) for b in batches],
            "  of which style features (encoding the tokens itself)": lambda: [compute_features(b.clone()) for b in batches],
            "  of which skeleton tokens + n-gram lookup": lambda: [skeleton.logits(skeleton_tokens(b)) for b in batches],
            "  of which topic vectors (alone: encoding the tokens itself)": lambda: [topic_vectors(b) for b in batches],
        }
        analyzer = DetectAnalyzer(shipped)
        clock = time.perf_counter if args.clock == "wall" else time.process_time
        print(f"{docs.height:,} documents ({words / docs.height:.0f} words each on average), batches of {args.batch}, one core, "
              f"{args.clock} clock (POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', 'unset')})")
        base = None
        for name, seconds in best_seconds(timings, args.repeats, clock).items():
            rate = docs.height / seconds
            base = base or rate
            print(f"{name:60s} {rate:9,.0f} documents/s  ({rate / base:.2f} x style only)")


if __name__ == "__main__":
    main()
