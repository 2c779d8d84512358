"""Engines run the unit of work (`work.map_part`) over the parts of the input and merge the results
in part order: `LocalEngine` in this process, `PoolEngine` in a pool of worker processes, `RayEngine`
in Ray Data tasks on a Ray cluster (`engines.ray`, imported only when asked for: Ray is optional)."""

from __future__ import annotations

from synthscope.engines.base import Engine, EngineResult, single_threaded_blas, usable_cores
from synthscope.engines.local import LocalEngine
from synthscope.engines.pool import PoolEngine
from synthscope.engines.work import Job, PartResult, map_part
from synthscope.errors import UsageError

ENGINE_NAMES = ("local", "pool", "ray")


def make_engine(workers: int, kind: str | None = None, ray_address: str | None = None, progress: bool = False) -> Engine:
    """The engine `kind` ("local", "pool" or "ray"); None: this process for `workers <= 1`, else a pool
    of `workers` processes. `ray_address` and `progress` (Ray Data's progress bars) are Ray's."""
    if kind == "ray":
        from synthscope.engines.ray import RayEngine

        return RayEngine(ray_address, progress)
    if kind not in (None, *ENGINE_NAMES):
        raise UsageError(f"--engine must be one of {', '.join(ENGINE_NAMES)}, got {kind!r}")
    if kind == "local" or (kind is None and workers <= 1):
        return LocalEngine()
    return PoolEngine(max(1, workers))


__all__ = [
    "ENGINE_NAMES", "Engine", "EngineResult", "Job", "LocalEngine", "PartResult", "PoolEngine", "make_engine", "map_part",
    "single_threaded_blas", "usable_cores",
]
