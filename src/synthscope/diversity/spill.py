"""Diversity sample candidates kept on disk, partitioned by source, so that memory does not grow with
the number of sources.

While the stream is read, each source's candidates are merged in memory (bottom-k, see sample.py);
once the candidates of all sources together pass a token budget, they are written out as one
"spill": one Parquet file with a row group per partition (a partition holds the sources whose name
hashes to it). Finalize then reads one group of partitions at a time, truncates each source's
candidates to its sample and measures them (many.py). Which rows went to disk, and when, does not
change the sample: the sample of a union is the sample of the parts' samples.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from synthscope.analyzer import FILE, SOURCE
from synthscope.hashes import xxh64_strings
from synthscope.text import N_TOKENS

PARTITIONS = 256
PARTITION = "_partition"


def partition_of(sources: pl.Series) -> pl.Series:
    """The partition of every source: xxh64 of its name (seed 0) modulo PARTITIONS."""
    if sources.is_empty():
        return pl.Series(PARTITION, [], dtype=pl.UInt16)
    distinct = sources.unique()
    names = distinct.to_list()
    mapping = dict(zip(names, (xxh64_strings(names) % PARTITIONS).tolist()))
    return sources.replace_strict(mapping, return_dtype=pl.UInt16).alias(PARTITION)


@dataclass(frozen=True)
class Spill:
    """One spill: a Parquet file holding one row group per partition that got candidates, and how many
    candidate rows and tokens each partition got."""

    path: str
    rows: tuple[int, ...] = field(default_factory=tuple)  # per partition (length PARTITIONS)
    tokens: tuple[int, ...] = field(default_factory=tuple)  # per partition

    def row_group(self, partition: int) -> int:
        """The row group holding `partition` (partitions with rows are written in order)."""
        return sum(1 for r in self.rows[:partition] if r)


def write_spill(frame: pl.DataFrame, root: Path) -> Spill:
    """Write candidate rows partitioned by source (one file, a row group per partition)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"spill-{uuid.uuid4().hex}.parquet"
    partition = partition_of(frame[SOURCE]).to_numpy().astype(np.int64)
    order = np.argsort(partition, kind="stable")
    rows = np.bincount(partition, minlength=PARTITIONS)
    tokens = np.bincount(partition, weights=frame[N_TOKENS].to_numpy(), minlength=PARTITIONS).astype(np.int64)
    table = frame[order].to_arrow()  # one conversion; each row group is a zero-copy slice of it
    starts = np.concatenate([[0], np.cumsum(rows)])
    # dictionary pages only for the columns that repeat (a source's name, the file): trying them on the
    # texts, ids and hashes, all distinct, and min/max statistics nobody reads cost CPU for nothing
    with pq.ParquetWriter(path, table.schema, compression="zstd", compression_level=1, use_dictionary=[SOURCE, FILE], write_statistics=False) as writer:
        for part in np.flatnonzero(rows).tolist():
            writer.write_table(table.slice(int(starts[part]), int(rows[part])), row_group_size=int(rows[part]))
    return Spill(str(path), tuple(int(r) for r in rows), tuple(int(t) for t in tokens))


def read_partitions(spills: tuple[Spill, ...], partitions: list[int]) -> list[pl.DataFrame]:
    """The spilled candidate rows of some partitions."""
    frames = []
    for spill in spills:
        wanted = [spill.row_group(p) for p in partitions if spill.rows[p]]
        if wanted:
            table = pq.ParquetFile(spill.path).read_row_groups(wanted)
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            frames.append(frame)
    return frames


def partition_groups(sizes: np.ndarray, max_size: int) -> list[list[int]]:
    """Consecutive partitions gathered into groups of at most about `max_size` (candidate tokens; a
    partition larger than that is a group of its own); empty partitions are left out."""
    groups: list[list[int]] = []
    current: list[int] = []
    size = 0
    for p in np.flatnonzero(sizes > 0).tolist():
        if current and size + sizes[p] > max_size:
            groups.append(current)
            current, size = [], 0
        current.append(p)
        size += int(sizes[p])
    if current:
        groups.append(current)
    return groups
