"""Engines run analyzers over prepared batches: map every batch, merge the states in batch order.

`LocalEngine` maps in this process; `PoolEngine` maps in a pool of worker processes (spawned, so
polars' threads are safe) with a bounded number of batches in flight. Both merge in submission order,
so a report does not depend on the engine or the worker count. A distributed engine (Ray Data) would
plug in here with the same three calls.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from threadpoolctl import threadpool_limits

from synthscope.analyzer import Analyzer


@dataclass
class EngineResult:
    """Merged states, one per analyzer, and the seconds spent in each analyzer's map."""

    states: list[Any]
    map_seconds: list[float] = field(default_factory=list)


def single_threaded_blas() -> Any:
    """Limit BLAS to one thread: our matrices are small, and BLAS threads spinning beside polars'
    threads made finalize many times slower on a loaded machine. Usable as a context manager."""
    return threadpool_limits(limits=1, user_api="blas")


def map_batch(analyzers: list[Analyzer[Any]], batch: pl.DataFrame) -> tuple[list[Any], list[float]]:
    """Every analyzer's state of one batch, and how long each map took."""
    states, seconds = [], []
    for analyzer in analyzers:
        started = time.perf_counter()
        states.append(analyzer.map(batch))
        seconds.append(time.perf_counter() - started)
    return states, seconds


class LocalEngine:
    """Map and merge in this process."""

    def run(self, analyzers: list[Analyzer[Any]], batches: Iterable[pl.DataFrame]) -> EngineResult:
        result = EngineResult(states=[a.empty() for a in analyzers], map_seconds=[0.0] * len(analyzers))
        for batch in batches:
            _merge_into(result, analyzers, *map_batch(analyzers, batch))
        return result


_WORKER_ANALYZERS: list[Analyzer[Any]] = []


def _init_worker(analyzers: list[Analyzer[Any]]) -> None:
    single_threaded_blas()
    _WORKER_ANALYZERS[:] = analyzers


def _map_in_worker(batch: pl.DataFrame) -> tuple[list[Any], list[float]]:
    return map_batch(_WORKER_ANALYZERS, batch)


class PoolEngine:
    """Map in `workers` spawned processes; at most `2 * workers` batches in flight (bounded memory)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, analyzers: list[Analyzer[Any]], batches: Iterable[pl.DataFrame]) -> EngineResult:
        result = EngineResult(states=[a.empty() for a in analyzers], map_seconds=[0.0] * len(analyzers))
        context = multiprocessing.get_context("spawn")
        pending: deque[Future[tuple[list[Any], list[float]]]] = deque()
        pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker, initargs=(analyzers,))
        try:
            for batch in batches:
                with _signals_ignored():  # workers start inside submit and inherit the dispositions
                    pending.append(pool.submit(_map_in_worker, batch))
                while len(pending) >= 2 * self.workers:
                    _merge_into(result, analyzers, *pending.popleft().result())
            while pending:
                _merge_into(result, analyzers, *pending.popleft().result())
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown()
        return result


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
    """Stop a pool at once: cancel queued batches and kill the workers (they ignore SIGINT/SIGTERM)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
    for process in processes:
        process.join(timeout=10)


def _merge_into(result: EngineResult, analyzers: list[Analyzer[Any]], states: list[Any], seconds: list[float]) -> None:
    for i, analyzer in enumerate(analyzers):
        started = time.perf_counter()
        result.states[i] = analyzer.merge(result.states[i], states[i])
        result.map_seconds[i] += seconds[i] + time.perf_counter() - started


def make_engine(workers: int) -> LocalEngine | PoolEngine:
    """One process for `workers <= 1`, else a process pool."""
    return LocalEngine() if workers <= 1 else PoolEngine(workers)
