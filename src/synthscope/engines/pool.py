"""The process-pool engine: parts read and mapped in spawned worker processes, merged here in order.

Each worker gets the job once (analyzers and reading rules), then parts: it reads, parses, classifies,
prepares and maps a part and sends back only the part's states, accounting and timings. At most two
parts per worker are in flight, so memory stays bounded; results are merged in part order, so the
report does not depend on the worker count.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from synthscope.engines.base import EngineResult, OnPart, single_threaded_blas, usable_cores
from synthscope.engines.work import Job, PartResult, map_part
from synthscope.io.parts import FilePart
from synthscope.memory import release_memory

_WORKER_JOB: dict[str, Job] = {}  # this worker's job, by the file it came from


def _init_worker() -> None:
    single_threaded_blas()


def _ready() -> None:
    """Nothing: submitted by `PoolEngine.start` so that the workers are spawned at once."""


def _job_file(job: Job) -> Path:
    """The pickled job in a file for the workers to load once. Handed to them as a short path with
    every part, not inside the spawn arguments: a spawned process reads its arguments from a pipe only
    after importing the main module, so a job larger than the pipe's buffer (the analyzers' profiles:
    ~0.5 MB) held the driver until each worker had started, and the workers began one after the
    other; and the workers can be started (`start`) before the job exists."""
    handle, name = tempfile.mkstemp(prefix="synthscope-job-", suffix=".pickle", dir=job.spill_dir)
    with os.fdopen(handle, "wb") as out:
        pickle.dump(job, out, protocol=pickle.HIGHEST_PROTOCOL)
    return Path(name)


_MAPPED_SINCE_RELEASE: list[bool] = [False]  # this worker mapped a part since it last gave its heap back


def _step_in_worker(fn: Callable[[Any], Any], item: Any) -> Any:
    """A finalize step (`parallel_map`) in a worker: the heap that mapping left is given back first,
    so that the steps do not run on top of it (`memory.release_memory`). Once after mapping, not before
    every step: the steps reuse each other's freed memory (trimming before each one made them fault
    their pages in again)."""
    if _MAPPED_SINCE_RELEASE[0]:
        release_memory()
        _MAPPED_SINCE_RELEASE[0] = False
    return fn(item)


def _map_in_worker(job_file: str, part: FilePart) -> PartResult:
    _MAPPED_SINCE_RELEASE[0] = True
    job = _WORKER_JOB.get(job_file)
    if job is None:  # the first part of a run: load its job once
        _WORKER_JOB.clear()
        job = _WORKER_JOB[job_file] = pickle.loads(Path(job_file).read_bytes())
    return map_part(job, part)


# glibc's malloc in the workers: allocations under 32 MiB come from the heap, and up to 256 MiB free at
# its top stay there. By default an array over the (adaptive) mmap threshold gets fresh pages from the
# kernel and gives them back when freed, and the heap is trimmed once 128 KiB at its top are free, so
# every batch faulted its arrays in page by page again: much of a worker's CPU went to the kernel.
# Results do not change; a worker's RSS stays nearer its peak. Other C libraries ignore these.
WORKER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}


def _worker_environment(workers: int) -> dict[str, str | None]:
    """Set what spawned workers inherit: polars threads per worker = cores / workers (so that the
    workers do not oversubscribe the cores) and `WORKER_MALLOC`; a value already set by the user is
    kept. Returns the previous values (restore them with `_restore_environment`)."""
    wanted = {"POLARS_MAX_THREADS": str(max(1, usable_cores() // workers)), **WORKER_MALLOC}
    saved = {name: os.environ.get(name) for name in wanted}
    for name, value in wanted.items():
        os.environ.setdefault(name, value)
    return saved


def _restore_environment(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)


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
        self._saved_environment: dict[str, str | None] = {}
        self._job_files: list[Path] = []

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            # workers are spawned on demand: their settings stay in the environment while the pool lives
            self._saved_environment = _worker_environment(self.workers)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker)
        return self._pool

    def start(self) -> None:
        """Spawn the workers now, so that they start (import, load) while this process still prepares
        the run (builds the analyzers: the profile, the banding parameters)."""
        pool = self._executor()
        with _signals_ignored():
            for _ in range(self.workers):
                pool.submit(_ready)

    def _job_path(self, job: Job) -> str:
        """The file of this run's job (kept until `close`, so that no later run's file can take its name)."""
        path = _job_file(job)
        self._job_files.append(path)
        weakref.finalize(self, path.unlink, missing_ok=True)  # if close is never called
        return str(path)

    def run(self, job: Job, parts: Iterable[FilePart], on_part: OnPart | None = None) -> EngineResult:
        started = time.perf_counter()
        result = EngineResult.start(job, self.workers)
        pending: deque[Future[PartResult]] = deque()

        def take() -> None:
            done = pending.popleft().result()
            result.add(job, done)
            if on_part is not None:
                on_part(done)

        pool = self._executor()
        job_file = self._job_path(job)
        try:
            for part in parts:
                with _signals_ignored():  # workers start inside submit and inherit the dispositions
                    pending.append(pool.submit(_map_in_worker, job_file, part))
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
        if not items:
            return iter(())
        pool = self._executor()
        with _signals_ignored():
            futures = [pool.submit(_step_in_worker, fn, item) for item in items]
        return self._results(futures)

    def _results(self, futures: list[Future[Any]]) -> Iterator[Any]:
        try:
            for future in futures:
                yield future.result()
        except BaseException:
            self.close(kill=True)
            raise

    def close(self, kill: bool = False) -> None:
        """Shut the workers down (at once, killing them, after an error or Ctrl-C). Without `kill` it
        does not wait for them: their work is done, and they free their memory and exit while this
        process renders and writes the reports (the interpreter joins them before it exits)."""
        if self._pool is not None:
            if kill:
                _stop(self._pool)
            else:
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            _restore_environment(self._saved_environment)
            self._saved_environment = {}
        for path in self._job_files:
            path.unlink(missing_ok=True)
        self._job_files = []
