"""Giving freed memory back to the system in a long-lived worker process.

A worker maps parts, then runs finalize steps. glibc's malloc keeps freed memory for reuse (the pool
engine's workers keep up to `WORKER_MALLOC`'s trim threshold at the top of their heap, so that a
batch's arrays do not fault their pages in again), and the last batch's caches keep its frame: at
finalize, a worker would carry its map-phase heap into the steps that need their own. `release_memory`
drops the per-batch caches, collects cycles and hands every free page of the heap back (`malloc_trim`).
polars' allocator (jemalloc) returns its freed pages by itself within seconds; numpy and pyarrow's
arrays over glibc's mmap threshold are returned when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import lru_cache
from typing import Any

from synthscope.text import forget_batches


@lru_cache(maxsize=1)
def _malloc_trim() -> Any | None:
    """glibc's `malloc_trim`, or None where the C library has none (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


def release_memory() -> bool:
    """Drop the per-batch caches, collect cycles and return the heap's free pages to the system.
    Returns whether the C library could trim its heap."""
    forget_batches()
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
