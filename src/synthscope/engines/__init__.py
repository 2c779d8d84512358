"""Engines run the unit of work (`work.map_part`) over the parts of the input and merge the results
in part order: `LocalEngine` in this process, `PoolEngine` in a pool of worker processes. A
distributed engine (Ray Data) runs the same `map_part` over the same picklable parts."""

from __future__ import annotations

from synthscope.engines.base import Engine, EngineResult, single_threaded_blas, usable_cores
from synthscope.engines.local import LocalEngine
from synthscope.engines.pool import PoolEngine
from synthscope.engines.work import Job, PartResult, map_part


def make_engine(workers: int) -> LocalEngine | PoolEngine:
    """This process for `workers <= 1`, else a pool of `workers` processes."""
    return LocalEngine() if workers <= 1 else PoolEngine(workers)


__all__ = [
    "Engine", "EngineResult", "Job", "LocalEngine", "PartResult", "PoolEngine", "make_engine", "map_part",
    "single_threaded_blas", "usable_cores",
]
