"""The process-pool engine: parts read and mapped in spawned worker processes, merged here in order.

Each worker gets the job once (analyzers and reading rules), then parts: it reads, parses, classifies,
prepares and maps a part and sends back only the part's states, accounting and timings. At most two
parts per worker are in flight, so memory stays bounded; results are merged in part order, so the
report does not depend on the worker count.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
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


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while worker processes are started, so that they inherit that: only
    the main process handles them (one message, cleanup), and it stops the workers itself."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool at once: cancel queued work and kill the workers (they ignore SIGINT/SIGTERM)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
    for process in processes:
        process.join(timeout=10)


class PoolEngine:
    """Map in `workers` spawned processes; at most `2 * workers` parts in flight. The workers stay up
    after `run` for `parallel_map` (finalize steps) until `close`."""

    name = "pool"
    draws_progress = False

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
                with _signals_ignored():  # workers start inside submit and inherit the dispositions
                    pending.append(pool.submit(_map_in_worker, part))
                while len(pending) >= 2 * self.workers:
                    take()
            while pending:
                take()
        except BaseException:
            self.close(kill=True)
            raise
        result.wall_seconds = time.perf_counter() - started
        return result

    def parallel_map(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
        """fn over items in the worker processes (fn must be importable); results in item order."""
        if len(items) <= 1:
            return map(fn, items)
        pool = self._executor(None)
        with _signals_ignored():
            futures = [pool.submit(fn, item) for item in items]
        return self._results(futures)

    def _results(self, futures: list[Future[Any]]) -> Iterator[Any]:
        try:
            for future in futures:
                yield future.result()
        except BaseException:
            self.close(kill=True)
            raise

    def close(self, kill: bool = False) -> None:
        """Shut the workers down (at once, killing them, after an error or Ctrl-C)."""
        if self._pool is not None:
            if kill:
                _stop(self._pool)
            else:
                self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            if self._saved_threads is None:
                os.environ.pop("POLARS_MAX_THREADS", None)
