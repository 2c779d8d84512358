"""The local engine: every part read and mapped in this process, one after the other."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from synthscope.engines.base import EngineResult, OnPart
from synthscope.engines.work import Job, map_part
from synthscope.io.parts import FilePart


class LocalEngine:
    """Map and merge in this process."""

    name = "local"
    workers = 1
    draws_progress = False

    def run(self, job: Job, parts: Iterable[FilePart], on_part: OnPart | None = None) -> EngineResult:
        started = time.perf_counter()
        result = EngineResult.start(job, 1)
        for part in parts:
            done = map_part(job, part)
            result.add(job, done)
            if on_part is not None:
                on_part(done)
        result.wall_seconds = time.perf_counter() - started
        return result

    def parallel_map(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
        """fn over items in this process (finalize steps that an engine may spread over workers)."""
        return map(fn, items)

    def close(self) -> None:
        """Nothing to release."""
