"""The analyzer protocol: map a prepared batch to a state, merge states, finalize per source.

`map` is pure (no I/O except spill files it names in its state), `merge` is associative and
commutative with `empty()` as identity, and `finalize` turns the merged state into report fields
per source plus an optional corpus-wide summary. Engines (one process, a pool, Ray Data) only call
these, so analyzers never know which engine runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import polars as pl

State = TypeVar("State")

# Columns every prepared batch carries (see text.prepare and pipeline).
DOC_ID = "doc_id"
SOURCE = "source"
TEXT = "text"
FILE = "file"
ROW = "_row"  # the row in its file (JSON line number from 1, Parquet row from 0)


def serial_map(fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
    """`fn` over `items` in this process, results in item order."""
    return map(fn, items)


@dataclass
class FinalizeContext:
    """What finalize may use: a private work folder for spill files, the run's options, and
    `parallel_map(fn, items)`, which the engine may spread over its workers (fn must be a picklable
    module-level function; results come back in item order)."""

    workdir: Path
    options: dict[str, Any] = field(default_factory=dict)
    parallel_map: Callable[[Callable[[Any], Any], list[Any]], Iterator[Any]] = serial_map


@dataclass
class AnalyzerResult:
    """Per-source report fields (merged into each `sources[]` object), a corpus-wide section, and
    run-dependent figures (kept under the report's `timings`)."""

    per_source: dict[str, dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)
    # Figures that depend on how the run was split (batch size, workers), e.g. bytes spilled to disk:
    # recorded under `timings`, never in the record itself, so reports compare across runs.
    run_figures: dict[str, Any] = field(default_factory=dict)


class Analyzer(Protocol, Generic[State]):
    """A map/merge/finalize analyzer over prepared batches, keyed by source inside its state."""

    name: str

    def empty(self) -> State:
        """The identity state."""
        ...

    def map(self, batch: pl.DataFrame) -> State:
        """State of one prepared batch (columns doc_id, source, text, norm, tokens, n_tokens, file)."""
        ...

    def merge(self, a: State, b: State) -> State:
        """Combine two states (associative, commutative)."""
        ...

    def finalize(self, state: State, ctx: FinalizeContext) -> AnalyzerResult:
        """Metrics per source from the merged state."""
        ...

    def options(self) -> dict[str, Any]:
        """The analyzer's settings, recorded in the report."""
        ...


# An analyzer whose finalize runs on the engine's workers (through `ctx.parallel_map`) may also offer
# `start_finalize(state, ctx) -> Callable[[], AnalyzerResult]`: it hands the steps to the engine and
# returns what gathers them, so the pipeline finalizes the other analyzers in the meantime.
