"""The unit of work every engine runs: read one part of a file, parse, classify, prepare and map it.

`map_part(job, part)` is a pure function of a picklable `Job` (the analyzers and the reading rules)
and a picklable `FilePart`; it returns the part's merged analyzer states with its row accounting and
its first malformed rows. An engine runs it wherever it likes (this process, a process pool, a Ray
task) and merges the results in part order, so the report is the same on every engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthscope.analyzer import Analyzer
from synthscope.errors import InputError
from synthscope.io.accounting import MAX_LOCATIONS, RowCounts
from synthscope.io.parts import FilePart, read_part
from synthscope.io.readers import ColumnSpec
from synthscope.io.rows import classify
from synthscope.io.sources import SourceSpec
from synthscope.text import forget_batches, prepare


@dataclass(frozen=True)
class Job:
    """What a worker needs besides the part: the analyzers and how to read and classify rows."""

    analyzers: tuple[Analyzer[Any], ...]
    columns: ColumnSpec
    sources: SourceSpec
    batch_size: int
    min_chars: int = 0
    strict: bool = False
    workdir: Path | None = None
    languages: tuple[str, ...] = ()  # --language: only documents identified as these are analysed
    spill_dir: Path | None = None  # the run's work folder, where map writes spill files (must be shared by all workers)


@dataclass
class PartResult:
    """One part's merged states (one per analyzer), accounting and the seconds each step took."""

    part: FilePart
    states: list[Any]
    counts: RowCounts
    malformed: list[tuple[int, str]] = field(default_factory=list)  # its first MAX_LOCATIONS (row, reason)
    map_seconds: list[float] = field(default_factory=list)
    read_seconds: float = 0.0
    prepare_seconds: float = 0.0


def map_part(job: Job, part: FilePart) -> PartResult:
    """Read, classify, prepare and map every batch of `part`, merging the states of its batches."""
    analyzers = job.analyzers
    states = [a.empty() for a in analyzers]
    seconds = [0.0] * len(analyzers)
    counts = RowCounts()
    malformed: list[tuple[int, str]] = []
    read_seconds = prepare_seconds = 0.0
    label = part.file.label
    clock = time.perf_counter()
    for raw in read_part(part, job.columns, job.batch_size, job.workdir):
        now = time.perf_counter()
        read_seconds += now - clock
        clock = now
        for row, reason in raw.malformed:
            if job.strict:
                raise InputError(f"{label}:{row}: malformed row ({reason}); --strict is set")
            if len(malformed) < MAX_LOCATIONS:
                malformed.append((row, reason))
        analysed, batch_counts = classify(raw, job.columns, job.sources, job.min_chars, job.languages)
        counts.add(batch_counts)
        if analysed.height:
            batch = prepare(analysed)
            now = time.perf_counter()
            prepare_seconds += now - clock
            clock = now
            for i, analyzer in enumerate(analyzers):
                states[i] = analyzer.merge(states[i], analyzer.map(batch))
                now = time.perf_counter()
                seconds[i] += now - clock
                clock = now
            del batch
            forget_batches()
        else:
            now = time.perf_counter()
            prepare_seconds += now - clock
            clock = now
        del raw, analysed  # nothing of this batch stays alive while the next one is read and prepared
    return PartResult(part, states, counts, malformed, seconds, read_seconds, prepare_seconds)
