"""What every engine returns, and how part results are folded into it (in part order)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from threadpoolctl import threadpool_limits

from synthscope.engines.work import Job, PartResult
from synthscope.io.parts import FilePart


@dataclass
class EngineResult:
    """Merged states (one per analyzer) and where the time went (seconds summed over workers)."""

    states: list[Any]
    map_seconds: list[float]
    read_seconds: float = 0.0
    prepare_seconds: float = 0.0
    wall_seconds: float = 0.0
    workers: int = 1
    parts: int = 0
    figures: dict[str, float] = field(default_factory=dict)  # engine-specific, e.g. Ray's startup_seconds

    @classmethod
    def start(cls, job: Job, workers: int) -> EngineResult:
        return cls(states=[a.empty() for a in job.analyzers], map_seconds=[0.0] * len(job.analyzers), workers=workers)

    def add(self, job: Job, result: PartResult) -> None:
        """Merge one part's states into the running states (called in part order)."""
        for i, analyzer in enumerate(job.analyzers):
            started = time.perf_counter()
            self.states[i] = analyzer.merge(self.states[i], result.states[i])
            self.map_seconds[i] += result.map_seconds[i] + time.perf_counter() - started
        self.read_seconds += result.read_seconds
        self.prepare_seconds += result.prepare_seconds
        self.parts += 1

    def timings(self) -> dict[str, Any]:
        return {
            "engine_wall_seconds": self.wall_seconds,
            "workers": self.workers,
            "parts": self.parts,
            "read_seconds": self.read_seconds,
            "prepare_seconds": self.prepare_seconds,
            **self.figures,
        }


OnPart = Callable[[PartResult], None]


class Engine(Protocol):
    """Runs `map_part` over the parts and merges the results in part order."""

    name: str  # recorded as the report's timings.engine
    workers: int
    draws_progress: bool  # the engine shows its own progress (Ray Data's bars) instead of the caller's

    def run(self, job: Job, parts: Iterable[FilePart], on_part: OnPart | None = None) -> EngineResult: ...

    def parallel_map(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]: ...

    def close(self) -> None: ...


def single_threaded_blas() -> Any:
    """Limit BLAS to one thread: our matrices are small, and BLAS threads spinning beside polars'
    threads made finalize many times slower on a loaded machine. Usable as a context manager."""
    return threadpool_limits(limits=1, user_api="blas")


def usable_cores() -> int:
    """CPU cores this process may run on (the affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
