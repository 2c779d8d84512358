"""CPU seconds of the driver's merges of part states on a long tail of sources, before and after the
third round (issue 11): examples, diversity and detect states of `--parts` parts of `--part-docs`
documents whose sources are drawn from `--sources` Zipf-sized domains as make_web_corpus.py draws them (the shape of 1M web documents over
50,000 domains: 100 parts of 10,000), merged in part order as `EngineResult.add` does.

- examples: candidate rows (source, logit, tie, id, a 700-character head, 31 standardised features);
  before: `select_rows(concat(a, b))` re-ranks the whole running state at every part; after: the
  analyzer's merge (`merge_shared_sources`: only the sources both hold).
- diversity: sample candidates (~300 tokens a document); before: `truncate(concat(a, b))` at every
  part; after: the analyzer's merge; both spill past 12M tokens as the analyzer does, before with the
  previous writer (a group-by and an Arrow conversion per partition), after with `write_spill`.
- detect: per-source states; before: a dict of `SourceScores`, pickled by the worker, unpickled and
  added one source at a time; after: `SourceTable` pickled, unpickled and `merge_tables`.

Both sides produce the same merged state (checked at the end). Synthetic rows, so that the measurement
needs no audit; CPU seconds of this process (one thread for polars: POLARS_MAX_THREADS=1).

    POLARS_MAX_THREADS=1 python benchmarks/merge_states.py [--parts 100] [--part-docs 10000] [--sources 50000]
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")

import argparse  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import recorded  # noqa: E402

from synthscope.analyzer import DOC_ID, FILE, ROW, SOURCE  # noqa: E402
from synthscope.detect.examples import HEAD, ID, LOGIT, TIE, Z, ExampleState, select_rows  # noqa: E402
from synthscope.detect.states import SourceScores, SourceTable, merge_tables  # noqa: E402
from synthscope.diversity.analyzer import MEMORY_TOKENS, DiversityAnalyzer, DiversityState  # noqa: E402
from synthscope.diversity.sample import HASH, JOINED, SORT_KEY, truncate  # noqa: E402
from synthscope.diversity.spill import PARTITION, PARTITIONS, Spill, partition_of  # noqa: E402
from synthscope.text import N_TOKENS  # noqa: E402

FEATURES, BINS, TOPICS = 31, 80, 256
WORDS = np.array("the of and to a in is that for it as was with be by on not he this are or his from at which".split())


def part_sources(rng: np.random.Generator, docs: int, sources: int) -> np.ndarray:
    """Source names of one part's documents: domain i drawn with probability ~ 1 / (i + 1)**1.1, as
    ../shared/bench/make_web_corpus.py draws them."""
    p = 1 / np.arange(1, sources + 1) ** 1.1
    return np.char.add("site", rng.choice(sources, size=docs, p=p / p.sum()).astype(str))


def example_rows(rng: np.random.Generator, names: np.ndarray) -> pl.DataFrame:
    n = len(names)
    heads = [" ".join(rng.choice(WORDS, 140)) for _ in range(min(n, 64))]
    frame = pl.DataFrame({
        SOURCE: names.tolist(), LOGIT: rng.normal(size=n), TIE: rng.integers(0, 2**63, n, dtype=np.uint64),
        ID: [uuid.UUID(int=int(x)).hex for x in rng.integers(0, 2**62, n)], HEAD: [heads[i % len(heads)] + str(i) for i in range(n)],
        Z: pl.Series(rng.normal(size=(n, FEATURES)), dtype=pl.Array(pl.Float64, FEATURES)),
    })
    return select_rows(frame, 3)


def sample_rows(rng: np.random.Generator, names: np.ndarray, analyzer: DiversityAnalyzer) -> pl.DataFrame:
    n = len(names)
    tokens = rng.integers(150, 450, n)
    texts = [" ".join(rng.choice(WORDS, 8)) * 1 for _ in range(32)]
    joined = [(texts[i % 32] + " ") * int(t // 8) for i, t in enumerate(tokens)]
    frame = pl.DataFrame({
        SOURCE: names.tolist(), HASH: rng.integers(0, 2**63, n, dtype=np.uint64), DOC_ID: [f"d{x}" for x in rng.integers(0, 2**40, n)],
        FILE: ["part-0.parquet"] * n, ROW: np.arange(n, dtype=np.int64), JOINED: joined, N_TOKENS: tokens.astype(np.int64),
    })
    return truncate(frame, analyzer.sample_docs, analyzer.budget_tokens)


def detect_state(rng: np.random.Generator, names: np.ndarray) -> dict[str, SourceScores]:
    distinct, counts = np.unique(names, return_counts=True)
    return {str(s): SourceScores(np.bincount(rng.integers(0, BINS, c), minlength=BINS).astype(np.float64), rng.normal(size=FEATURES) * c,
                                 0, rng.normal(size=TOPICS).astype(np.float32)) for s, c in zip(distinct, counts)}


def old_write_spill(frame: pl.DataFrame, root: Path) -> Spill:
    """The diversity spill writer before this round: a group-by and an Arrow conversion per partition."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"spill-{uuid.uuid4().hex}.parquet"
    keyed = frame.with_columns(partition_of(frame[SOURCE])).sort(PARTITION, maintain_order=True)
    rows = np.zeros(PARTITIONS, dtype=np.int64)
    tokens = np.zeros(PARTITIONS, dtype=np.int64)
    writer: pq.ParquetWriter | None = None
    try:
        for (part,), group in keyed.group_by(PARTITION, maintain_order=True):
            table = group.drop(PARTITION).to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd", compression_level=1)
            writer.write_table(table, row_group_size=max(table.num_rows, 1))
            rows[int(part)] = group.height
            tokens[int(part)] = int(group[N_TOKENS].sum())
    finally:
        if writer is not None:
            writer.close()
    return Spill(str(path), tuple(int(r) for r in rows), tuple(int(t) for t in tokens))


def old_examples_merge(a: ExampleState, b: ExampleState) -> ExampleState:
    documents = dict(a.documents)
    for source, n in b.documents.items():
        documents[source] = documents.get(source, 0) + n
    return ExampleState(select_rows(pl.concat([a.rows, b.rows]), 3), documents)


def old_diversity_merge(a: DiversityState, b: DiversityState, analyzer: DiversityAnalyzer, root: Path) -> DiversityState:
    sample = truncate(pl.concat([a.sample, b.sample]), analyzer.sample_docs, analyzer.budget_tokens) if a.sample.height and b.sample.height else (b.sample if not a.sample.height else a.sample)
    spills = a.spills + b.spills
    if sample.height and int(sample[N_TOKENS].sum()) > MEMORY_TOKENS:
        return DiversityState(sample.clear(), (*spills, old_write_spill(sample, root)))
    return DiversityState(sample, spills)


def old_detect_merge(a: dict[str, SourceScores], b: dict[str, SourceScores]) -> dict[str, SourceScores]:
    out = dict(a)
    for source, state in b.items():
        out[source] = out[source] + state if source in out else state
    return out


def timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.process_time()
    out = fn(*args)
    return out, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=100)
    parser.add_argument("--part-docs", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    with recorded("merge_states"), tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        diversity = DiversityAnalyzer(workdir=root / "after")
        seconds = {k: [0.0, 0.0] for k in ("examples", "diversity", "detect (pickle + merge)")}
        ex_old = ex_new = ExampleState(select_rows(example_rows(rng, np.array(["x"]))[:0], 3))
        dv_old, dv_new = DiversityState(), DiversityState()
        dt_old: dict[str, SourceScores] = {}
        dt_new: SourceTable | dict[str, SourceScores] = {}
        all_sources: set[str] = set()
        for _ in range(args.parts):
            names = part_sources(rng, args.part_docs, args.sources)
            all_sources.update(names.tolist())
            ex_part = ExampleState(example_rows(rng, names), {str(s): int(c) for s, c in zip(*np.unique(names, return_counts=True))})
            ex_old, t = timed(old_examples_merge, ex_old, ex_part)
            seconds["examples"][0] += t
            ex_new, t = timed(diversity_free_examples_merge, ex_new, ex_part)
            seconds["examples"][1] += t
            dv_part = DiversityState(sample_rows(rng, names, diversity))
            dv_old, t = timed(old_diversity_merge, dv_old, dv_part, diversity, root / "before")
            seconds["diversity"][0] += t
            dv_new, t = timed(diversity.merge, dv_new, dv_part)
            seconds["diversity"][1] += t
            dt_part = detect_state(rng, names)
            table_part = SourceTable.of(dt_part)
            started = time.process_time()
            dt_old = old_detect_merge(dt_old, pickle.loads(pickle.dumps(dt_part)))
            seconds["detect (pickle + merge)"][0] += time.process_time() - started
            started = time.process_time()
            dt_new = merge_tables(dt_new, pickle.loads(pickle.dumps(table_part)))
            seconds["detect (pickle + merge)"][1] += time.process_time() - started
        # the same merged states either way
        same_examples = set(ex_old.rows.drop(Z).rows()) == set(ex_new.rows.drop(Z).rows()) and ex_old.documents == ex_new.documents
        same_detect = set(dt_old) == set(dt_new) and all(np.array_equal(dt_old[s].z_sum, dt_new[s].z_sum) for s in dt_old)
        in_memory_same = dv_old.sample.sort(SORT_KEY).equals(dv_new.sample.sort(SORT_KEY))
        print(f"{args.parts} parts of {args.part_docs:,} documents, sources drawn from {args.sources:,} domains "
              f"({len(all_sources):,} seen); CPU seconds of the merges, one polars thread")
        print(f"{'state':<26} {'before':>8} {'after':>8} {'ratio':>7}")
        for name, (before, after) in seconds.items():
            print(f"{name:<26} {before:>8.2f} {after:>8.2f} {before / max(after, 1e-9):>6.1f}x")
        total_before, total_after = sum(s[0] for s in seconds.values()), sum(s[1] for s in seconds.values())
        print(f"{'all three':<26} {total_before:>8.2f} {total_after:>8.2f} {total_before / max(total_after, 1e-9):>6.1f}x")
        print(f"same merged states: examples {same_examples}, detect {same_detect}, diversity in memory {in_memory_same} "
              f"(spills: before {len(dv_old.spills)}, after {len(dv_new.spills)})")


def diversity_free_examples_merge(a: ExampleState, b: ExampleState) -> ExampleState:
    """The examples analyzer's merge (it needs no detect model): `merge_shared_sources` and summed counts."""
    from synthscope.detect.examples import ExamplesAnalyzer

    return ExamplesAnalyzer.merge(_NoDetect(), a, b)  # type: ignore[arg-type]


class _NoDetect:
    per_side = 3


if __name__ == "__main__":
    main()
