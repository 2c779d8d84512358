"""Seconds of the detect analyzer's finalize for many sources (a long tail), vectorised vs one source at a time.

Real dev documents are scored once by the default profile; each source's histogram draws its documents'
scores from them, with long-tail sizes (most sources a handful of documents, a few hundreds or
thousands: a Zipf-like law, as registrable domains of a web scrape). The vectorised finalize is timed
on S sources; the one-source-at-a-time peer (the estimator and explanation called per source, as
before) on a subset, extrapolated per source.

    python benchmarks/detect_finalize.py [--sources 1000 10000 50000] [--peer-sources 500]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from _record import recorded

from synthscope.analyzer import FinalizeContext
from synthscope.detect.analyzer import DetectAnalyzer, SourceScores
from synthscope.detect.estimator import adjusted_counts, estimate_fractions
from synthscope.detect.estimator import human_move_penalty as estimator_human_move
from synthscope.detect.profile import N_BINS, default_profile, score_bins
from synthscope.text import prepare

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "detect_dev.jsonl.gz"


def long_tail_sizes(rng: np.random.Generator, sources: int) -> np.ndarray:
    """Documents per source: Zipf(1.6) capped at 20,000 (median 1-2, a few sources of thousands)."""
    return np.minimum(rng.zipf(1.6, sources), 20_000)


def build_state(analyzer: DetectAnalyzer, sizes: np.ndarray, rng: np.random.Generator) -> dict[str, SourceScores]:
    docs = pl.read_ndjson(DEV).sort("id").head(3000).with_columns(pl.lit("x").alias("source"))
    batch = prepare(docs)
    from synthscope.detect.analyzer import score_batch
    from synthscope.detect.topics import topic_vectors

    scores = score_batch(batch, analyzer.scorer)
    z = scores.z if scores.skeleton_logits is None else np.column_stack([scores.z, scores.skeleton_logits])
    topics = topic_vectors(batch) if analyzer.matched else None
    bins = score_bins(scores.logits)
    state = {}
    for i, n in enumerate(sizes):
        pick = rng.integers(0, len(bins), int(n))
        state[f"domain-{i:06d}.example"] = SourceScores(np.bincount(bins[pick], minlength=N_BINS).astype(float), z[pick].sum(axis=0),
                                                        topic_sum=None if topics is None else topics[pick].sum(axis=0))
    return state


def one_at_a_time(analyzer: DetectAnalyzer, state: dict[str, SourceScores]) -> float:
    """The former finalize: estimator, adjusted count and explanation called once per source."""
    started = time.perf_counter()
    for name in sorted(state):
        s = state[name]
        estimate_fractions(s.counts[None, :], analyzer.profile, analyzer.confidence, seed=analyzer.seed,
                           topic_sums=None if s.topic_sum is None else s.topic_sum[None, :]).record(0)
        adjusted_counts(s.counts[None, :], analyzer.profile)
        analyzer.top_features(s.counts.sum(keepdims=True), s.z_sum[None, :])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--peer-sources", type=int, default=500)
    with recorded("detect_finalize"):
        args = parser.parse_args()
        analyzer = DetectAnalyzer(default_profile())
        rng = np.random.default_rng(0)
        with tempfile.TemporaryDirectory() as tmp:
            ctx = FinalizeContext(Path(tmp))
            for count in args.sources:
                sizes = long_tail_sizes(rng, count)
                state = build_state(analyzer, sizes, rng)
                started = time.perf_counter()
                result = analyzer.finalize(state, ctx)
                seconds = time.perf_counter() - started
                assert len(result.per_source) == count
                print(f"{count:>6,} sources ({int(sizes.sum()):,} documents; {int((sizes >= 30).sum()):,} of >= 30 documents): "
                      f"finalize {seconds:6.2f} s ({1000 * seconds / count:.3f} ms per source)")
            if analyzer.matched and estimator_human_move(analyzer.profile):
                # peer in the same run: the same last state without the default estimator's fitted human move
                still = copy.deepcopy(analyzer.profile)
                still.matching.pop("human_move_penalty")
                peer = DetectAnalyzer(still)
                started = time.perf_counter()
                peer.finalize(state, ctx)
                print(f"same {count:,} sources without the fitted human move (round 4 estimator): finalize {time.perf_counter() - started:6.2f} s")
            sizes = long_tail_sizes(rng, args.peer_sources)
            state = build_state(analyzer, sizes, rng)
            started = time.perf_counter()
            analyzer.finalize(state, ctx)
            vectorised = time.perf_counter() - started
            peer = one_at_a_time(analyzer, state)
            print(f"same {args.peer_sources} sources: vectorised {vectorised:.2f} s, one source at a time {peer:.2f} s "
                  f"({peer / vectorised:.1f}x)")


if __name__ == "__main__":
    main()
