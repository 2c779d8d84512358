"""The Ray Data engine: the parts of the input mapped by Ray Data tasks on a Ray cluster, merged here.

The parts (small picklable descriptions of file ranges, see io.parts) become a Ray dataset, one
part a block; `map_batches` runs the same unit of work as the other engines (`work.map_part`: read,
parse, classify, prepare and map one part) in Ray tasks, wherever Ray schedules them, with Ray's
retries (a task lost with its worker or node runs again) and Ray Data's progress bars. Only the
part's states, accounting and timings come back; they are merged here in part order, so the report
equals the local engine's and the pool's.

An input error in a part (a truncated file, a malformed row under `--strict`) is the part's result:
it travels back as data and is raised here when its part's turn comes, as the other engines raise it.

Ray connects to `--ray-address`, else to `RAY_ADDRESS`, else starts a local Ray on this machine (no
dashboard, no usage statistics) that is shut down with the engine. Spill files (dedup band keys)
are written by the tasks under the run's work folder: on a cluster of several machines `--workdir`
must be a folder every node mounts at the same path; a task that cannot see it fails with that hint.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from synthscope.engines.base import EngineResult, OnPart, single_threaded_blas
from synthscope.engines.work import Job, PartResult, map_part
from synthscope.errors import SynthscopeError, UsageError
from synthscope.io.parts import FilePart

WORKER_ENV = {"POLARS_MAX_THREADS": "1"}  # a Ray Data task holds one CPU: one polars thread per task


def _ray() -> Any:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # never report usage to Ray's servers
    try:
        import ray
        import ray.data  # noqa: F401 - the engine needs Ray Data, not only Ray core
    except ImportError:
        raise UsageError("--engine ray needs Ray Data: pip install 'synthscope[ray]'") from None
    return ray


class WorkdirNotShared(SynthscopeError):
    """A Ray task cannot see the run's work folder (spill files would be lost)."""

    exit_code = 2


def map_parts(batch: dict[str, np.ndarray], job: Job) -> dict[str, np.ndarray]:
    """Ray Data's batch function: `map_part` over the pickled parts of a batch, each result pickled
    as ("ok", PartResult) or ("error", the SynthscopeError that the part raised)."""
    results = []
    with single_threaded_blas():
        for blob in batch["part"]:
            part: FilePart = pickle.loads(blob)
            try:
                if job.spill_dir is not None and not job.spill_dir.is_dir():
                    raise WorkdirNotShared(
                        f"the run's work folder {job.spill_dir} is not visible on the Ray node {os.uname().nodename}: give "
                        "--workdir a folder that every node of the cluster mounts at the same path"
                    )
                results.append(pickle.dumps(("ok", map_part(job, part)), protocol=pickle.HIGHEST_PROTOCOL))
            except SynthscopeError as exc:
                results.append(pickle.dumps(("error", exc), protocol=pickle.HIGHEST_PROTOCOL))
    return {"index": batch["index"], "result": np.array(results, dtype=object)}


class RayEngine:
    """Map the parts in Ray Data tasks; merge here in part order. `parallel_map` (finalize steps)
    runs Ray tasks. `close` disconnects when the engine connected (a Ray already initialised in this
    process, e.g. by a notebook or a test, is used as it is and left up)."""

    name = "ray"
    draws_progress = True  # Ray Data's own progress bars, instead of the caller's

    def __init__(self, address: str | None = None, progress: bool = False) -> None:
        self.address = address
        self.progress = progress
        self.workers = 1
        self._started = False
        self._ray: Any = None

    def connect(self) -> Any:
        """Connect to the cluster (or start a local Ray) once; returns the `ray` module."""
        if self._ray is not None:
            return self._ray
        ray = _ray()
        if not ray.is_initialized():
            # "local": a new Ray on this machine, never one that `ray start` left running here
            address = self.address or os.environ.get("RAY_ADDRESS") or "local"
            options: dict[str, Any] = {"address": address, "logging_level": "ERROR", "log_to_driver": False,
                                       "runtime_env": {"env_vars": dict(WORKER_ENV)}}
            if address == "local":
                options["include_dashboard"] = False
            try:
                ray.init(**options)
            except ConnectionError as exc:
                raise UsageError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
            self._started = True
        self._ray = ray
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return ray

    def run(self, job: Job, parts: Iterable[FilePart], on_part: OnPart | None = None) -> EngineResult:
        started = time.perf_counter()
        ray = self.connect()
        connected = time.perf_counter()
        parts = list(parts)
        result = EngineResult.start(job, self.workers)
        result.figures["startup_seconds"] = connected - started  # connecting, or starting a local Ray
        if parts:
            for done in self._mapped(ray, job, parts):
                result.add(job, done)
                if on_part is not None:
                    on_part(done)
        result.wall_seconds = time.perf_counter() - started
        return result

    def _mapped(self, ray: Any, job: Job, parts: list[FilePart]) -> Iterator[PartResult]:
        """The parts' results in part order (Ray Data preserves it; a reorder buffer makes sure)."""
        with _data_context(ray, self.progress):
            items = [{"index": k, "part": pickle.dumps(p, protocol=pickle.HIGHEST_PROTOCOL)} for k, p in enumerate(parts)]
            dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
                map_parts, batch_size=1, batch_format="numpy", fn_kwargs={"job": job}, num_cpus=1,
            )
            waiting: dict[int, PartResult] = {}
            expected = 0
            for row in dataset.iter_rows():
                _, value = pickle.loads(row["result"])  # ("ok", PartResult) or ("error", exception)
                waiting[int(row["index"])] = value
                while expected in waiting:
                    done = waiting.pop(expected)
                    expected += 1
                    if isinstance(done, BaseException):
                        raise done
                    yield done

    def parallel_map(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
        """fn over items in Ray tasks (fn must be importable); results in item order."""
        if not items:
            return iter(())
        ray = self.connect()
        remote = ray.remote(num_cpus=1)(_call_single_threaded)
        refs = [remote.remote(fn, item) for item in items]
        return (ray.get(ref) for ref in refs)

    def close(self) -> None:
        """Disconnect from Ray: a local Ray this engine started stops, a cluster it connected to stays up."""
        if self._started and self._ray is not None:
            self._ray.shutdown()
        self._started = False
        self._ray = None


@contextmanager
def _data_context(ray: Any, progress: bool) -> Iterator[None]:
    """Ray Data's settings for a run: results in input order, its progress bars only when asked for, no
    INFO lines (and nothing but errors without progress); restored afterwards."""
    context = ray.data.DataContext.get_current()
    wanted = {"enable_progress_bars": progress, "print_on_execution_start": False}
    saved = {name: getattr(context, name) for name in wanted if hasattr(context, name)}
    saved_order = context.execution_options.preserve_order
    logger = logging.getLogger("ray.data")
    saved_level = logger.level
    try:
        for name in saved:
            setattr(context, name, wanted[name])
        context.execution_options.preserve_order = True
        logger.setLevel(logging.WARNING if progress else logging.ERROR)
        yield
    finally:
        for name, value in saved.items():
            setattr(context, name, value)
        context.execution_options.preserve_order = saved_order
        logger.setLevel(saved_level)


def _call_single_threaded(fn: Callable[[Any], Any], item: Any) -> Any:
    with single_threaded_blas():
        return fn(item)
