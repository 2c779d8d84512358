"""The process-pool engine: parts read and mapped in spawned worker processes, merged here in order.

Each worker gets the job once (analyzers and reading rules), then parts: it reads, parses, classifies,
prepares and maps a part and sends back only the part's states, accounting and timings. At most two
parts per worker are in flight, so memory stays bounded; results are merged in part order, so the
report does not depend on the worker count.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from synthscope.engines.base import EngineResult, OnPart, single_threaded_blas, usable_cores
from synthscope.engines.work import Job, PartResult, map_part
from synthscope.io.parts import FilePart

_WORKER_JOB: list[Job] = []


def _init_worker(job: Job | None) -> None:
    single_threaded_blas()
    if job is not None:
        _WORKER_JOB[:] = [job]


def _map_in_worker(part: FilePart) -> PartResult:
    return map_part(_WORKER_JOB[0], part)


def _limit_worker_threads(workers: int) -> str | None:
    """Spawned workers inherit this environment: polars threads per worker = cores / workers, so
    that the workers do not oversubscribe the cores. Returns the previous value (restore it)."""
    saved = os.environ.get("POLARS_MAX_THREADS")
    if saved is None:
        os.environ["POLARS_MAX_THREADS"] = str(max(1, usable_cores() // workers))
    return saved


class PoolEngine:
    """Map in `workers` spawned processes; at most `2 * workers` parts in flight. The workers stay up
    after `run` for `parallel_map` (finalize steps) until `close`."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._saved_threads: str | None = None

    def _executor(self, job: Job | None) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            # workers are spawned on demand: the limit stays in the environment while the pool lives
            self._saved_threads = _limit_worker_threads(self.workers)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker, initargs=(job,))
        return self._pool

    def run(self, job: Job, parts: Iterable[FilePart], on_part: OnPart | None = None) -> EngineResult:
        started = time.perf_counter()
        result = EngineResult.start(job, self.workers)
        pending: deque[Future[PartResult]] = deque()

        def take() -> None:
            done = pending.popleft().result()
            result.add(job, done)
            if on_part is not None:
                on_part(done)

        pool = self._executor(job)
        try:
            for part in parts:
                pending.append(pool.submit(_map_in_worker, part))
                while len(pending) >= 2 * self.workers:
                    take()
            while pending:
                take()
        except BaseException:
            for future in pending:
                future.cancel()
            self.close()
            raise
        result.wall_seconds = time.perf_counter() - started
        return result

    def parallel_map(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
        """fn over items in the worker processes (fn must be importable); results in item order."""
        if len(items) <= 1:
            return map(fn, items)
        return self._executor(None).map(fn, items)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            if self._saved_threads is None:
                os.environ.pop("POLARS_MAX_THREADS", None)
