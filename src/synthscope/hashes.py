"""xxHash of many strings: the one place where a batch of strings is hashed string by string.

xxhash has no vectorised API and polars' own hash is not stable across versions, so every stable
per-string hash synthscope stores or compares (exact duplicates, shingle tokens, sample keys, example
ties, spill partitions, hashed-embedder features) comes from these two functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import numpy as np
import polars as pl
import pyarrow as pa
import xxhash

Strings = Union[Sequence[str], pa.Array, pa.ChunkedArray, pl.Series, np.ndarray]


def _as_list(values: Strings) -> list[str]:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.to_pylist()
    if isinstance(values, (pl.Series, np.ndarray)):
        return values.tolist() if isinstance(values, np.ndarray) else values.to_list()
    return list(values)


def xxh3_64_strings(values: Strings) -> np.ndarray:
    """xxh3-64 of each string's UTF-8 bytes, as uint64."""
    items = _as_list(values)
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter((digest(v.encode("utf-8")) for v in items), dtype=np.uint64, count=len(items))


def xxh64_strings(values: Strings, seed: int = 0) -> np.ndarray:
    """xxh64 of each string's UTF-8 bytes with `seed`, as uint64."""
    items = _as_list(values)
    digest = xxhash.xxh64_intdigest
    return np.fromiter((digest(v.encode("utf-8"), seed) for v in items), dtype=np.uint64, count=len(items))
