"""What diversity's finalize computes per word type, kept across the finalize steps of a process.

Each finalize step (a group of sources, many.py) has its own vocabulary, but the vocabularies of a
corpus's groups overlap heavily: the same common words in every group. A value that is a function of
the word alone (its hashes, its SIF weight, the hashed embedder's projection of its word and
character features) is computed once per process and looked up afterwards: one arrow hash lookup
(`pyarrow.compute.index_in`) per step instead of a Python call per type. A cached value is the very
value computed for the word on its own, so results do not depend on what the process measured before.
Memory is bounded: once `max_types` types are held the cache starts again empty.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Compute = Callable[[pa.Array], dict[str, np.ndarray]]


def as_large_strings(vocab: pa.Array | pa.ChunkedArray | np.ndarray) -> pa.Array:
    """The word types as one arrow large_string array."""
    if isinstance(vocab, np.ndarray):
        return pa.array(vocab.tolist(), type=pa.large_string())
    if isinstance(vocab, pa.ChunkedArray):
        vocab = vocab.combine_chunks()
    return vocab.cast(pa.large_string())


class TypeCache:
    """Values per word type (`compute(words) -> {column: array with a row per word}`), computed once."""

    def __init__(self, compute: Compute, max_types: int) -> None:
        self.compute = compute
        self.max_types = max_types
        self.clear()

    def clear(self) -> None:
        self.words = pa.array([], pa.large_string())
        self.columns: dict[str, np.ndarray] = {}
        self.size = 0

    def rows(self, vocab: pa.Array | np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(row of every type of `vocab` (distinct words) in the columns, the columns); the columns'
        rows past those of `vocab` belong to other words. A vocabulary larger than the cache is
        computed on its own and not kept."""
        vocab = as_large_strings(vocab)
        if len(vocab) > self.max_types:
            return np.arange(len(vocab), dtype=np.int64), self.compute(vocab)
        index = pc.index_in(vocab, value_set=self.words)
        missing = index.is_null()
        new = vocab.filter(missing)
        if len(new) and self.size + len(new) > self.max_types:
            self.clear()
            return self.rows(vocab)
        if len(new):
            self._append(new, self.compute(new))
            index = pc.index_in(vocab, value_set=self.words)
        rows = index.to_numpy(zero_copy_only=False).astype(np.int64)
        return rows, {name: column[: self.size] for name, column in self.columns.items()}

    def _append(self, words: pa.Array, values: dict[str, np.ndarray]) -> None:
        size = self.size + len(words)
        for name, column in values.items():
            held = self.columns.get(name)
            if held is None or held.shape[0] < size:
                capacity = min(max(size, 2 * (0 if held is None else held.shape[0])), self.max_types)
                grown = np.empty((capacity, *column.shape[1:]), dtype=column.dtype)
                if held is not None:
                    grown[: self.size] = held[: self.size]
                self.columns[name] = held = grown
            held[self.size : size] = column
        self.words = pa.concat_arrays([self.words, words])
        self.size = size
