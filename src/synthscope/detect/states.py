"""Detect's mergeable state: per source, a histogram of document logits and sums of standardised
features (and topic vectors), held as arrays over a sources axis.

`SourceTable` is a read-only mapping of source name -> `SourceScores` (what finalize, the human
reference and the tests read), stored as one row per source in a few arrays. A state of a batch or a
part with thousands of sources pickles as those arrays (not thousands of small objects), and a merge
adds one table's rows into the other's with one gather (not one Python addition per source), so the
driver's merges on a long tail of sources cost little. Merging adds exactly what per-source addition
added, in the same order (a's sums + b's), and a source new to `a` keeps b's row as it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class SourceScores:
    """One source's mergeable detect state."""

    counts: np.ndarray  # documents per logit bin (documents in a language the profile supports)
    z_sum: np.ndarray  # sum of standardised features (then of the skeleton logit, with a skeleton model)
    unsupported: int = 0  # documents left out: identified as a language the profile was not calibrated on
    topic_sum: np.ndarray | None = None  # sum of topic vectors (float32), profiles with topic centroids

    def __add__(self, other: SourceScores) -> SourceScores:
        topics = None if self.topic_sum is None or other.topic_sum is None else self.topic_sum + other.topic_sum
        return SourceScores(self.counts + other.counts, self.z_sum + other.z_sum, self.unsupported + other.unsupported, topics)


class SourceTable(Mapping[str, SourceScores]):
    """Sources' detect states as arrays: row i of `counts`, `z_sum`, `unsupported`, `topic_sum` is
    source `names[i]` (names unique, in the order they were first seen)."""

    def __init__(self, names: list[str], counts: np.ndarray, z_sum: np.ndarray, unsupported: np.ndarray,
                 topic_sum: np.ndarray | None) -> None:
        self.names = names
        self.counts = counts
        self.z_sum = z_sum
        self.unsupported = unsupported
        self.topic_sum = topic_sum
        self._index: dict[str, int] | None = None

    @classmethod
    def of(cls, state: Mapping[str, SourceScores]) -> SourceTable:
        """A table of any mapping of source -> SourceScores (a table is returned as it is)."""
        if isinstance(state, SourceTable):
            return state
        names = list(state)
        scores = [state[n] for n in names]
        if not scores:
            return cls([], np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0, dtype=np.int64), None)
        topics = None if any(s.topic_sum is None for s in scores) else np.stack([s.topic_sum for s in scores])  # type: ignore[misc]
        return cls(names, np.stack([s.counts for s in scores]), np.stack([s.z_sum for s in scores]),
                   np.array([s.unsupported for s in scores], dtype=np.int64), topics)

    @property
    def index(self) -> dict[str, int]:
        """Row of every source."""
        if self._index is None:
            self._index = {name: i for i, name in enumerate(self.names)}
        return self._index

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_index": None}  # rebuilt on demand: not worth pickling

    def __getitem__(self, source: str) -> SourceScores:
        i = self.index[source]
        topic = None if self.topic_sum is None else self.topic_sum[i]
        return SourceScores(self.counts[i], self.z_sum[i], int(self.unsupported[i]), topic)

    def __contains__(self, source: object) -> bool:
        return source in self.index

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def merge_tables(a: Mapping[str, SourceScores], b: Mapping[str, SourceScores]) -> SourceTable:
    """The state of both: rows of the sources on both sides added (a's + b's), the others kept as they
    are; a's sources first, then b's new ones in b's order. Neither input is changed."""
    left, right = SourceTable.of(a), SourceTable.of(b)
    if not len(right):
        return left
    if not len(left):
        return right
    index = left.index
    rows = np.fromiter((index.get(name, -1) for name in right.names), dtype=np.int64, count=len(right))
    new = rows < 0
    old_rows = rows[~new]
    n_old, n_new = len(left), int(new.sum())
    names = left.names + [name for name, is_new in zip(right.names, new.tolist()) if is_new] if n_new else list(left.names)
    topics_known = left.topic_sum is not None and right.topic_sum is not None

    def combined(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.empty((n_old + n_new, *x.shape[1:]), dtype=np.result_type(x, y))
        out[:n_old] = x
        out[old_rows] = x[old_rows] + y[~new]
        out[n_old:] = y[new]
        return out

    table = SourceTable(names, combined(left.counts, right.counts), combined(left.z_sum, right.z_sum),
                        combined(left.unsupported, right.unsupported),
                        combined(left.topic_sum, right.topic_sum) if topics_known else None)  # type: ignore[arg-type]
    if n_new:
        table._index = {**index, **{name: n_old + j for j, name in enumerate(names[n_old:])}}
    else:
        table._index = index
    return table
