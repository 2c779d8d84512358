"""Where the mapped documents are: their spill files in input order, and reads that stay bounded.

A document's global index (`idx`) is its part's offset plus its row `i` in the part; parts are
ordered by their first file and row, so indices follow input order. Every read here works one
part (one mapped batch) at a time or streams over the files, so memory does not grow with the
corpus; only the rows asked for (documents in a duplicate cluster) are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from synthscope.dedup.spill import Part, docs_path, signatures_from_column


@dataclass(frozen=True)
class DocLayout:
    """The document spill files of some parts, in input order, with each part's first index."""

    root: Path
    uids: tuple[str, ...]
    part_ids: tuple[int, ...]
    offsets: np.ndarray  # int64, global index of each part's first document
    counts: np.ndarray  # int64, documents per part

    @classmethod
    def of(cls, root: Path, parts: list[Part]) -> DocLayout:
        ordered = sorted(parts)
        counts = np.array([p.documents for p in ordered], dtype=np.int64)
        offsets = np.zeros(len(ordered), dtype=np.int64)
        if len(ordered) > 1:
            np.cumsum(counts[:-1], out=offsets[1:])
        return cls(root, tuple(p.uid for p in ordered), tuple(p.part_id for p in ordered), offsets, counts)

    @property
    def documents(self) -> int:
        return int(self.counts.sum())

    def files(self) -> list[Path]:
        return [docs_path(self.root, uid) for uid in self.uids]

    def offsets_frame(self) -> pl.DataFrame:
        """part id -> offset, to turn band-file rows (part, i) into global indices."""
        return pl.DataFrame({"part": list(self.part_ids), "offset": self.offsets}, schema={"part": pl.UInt64, "offset": pl.Int64})

    def scan(self, columns: list[str]) -> pl.LazyFrame:
        """Lazy scan of all document files with a global `idx` (Int64) and `columns`."""
        return pl.scan_parquet(self.files(), row_index_name="idx").select(pl.col("idx").cast(pl.Int64), *columns)

    def slices(self, wanted: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """(part position, the sorted `wanted` indices in that part) for parts holding any."""
        if len(wanted) == 0:
            return
        bounds = np.searchsorted(wanted, np.append(self.offsets, self.offsets[-1] + self.counts[-1]))
        for k in range(len(self.uids)):
            if bounds[k + 1] > bounds[k]:
                yield k, wanted[bounds[k] : bounds[k + 1]]

    def take(self, wanted: np.ndarray, columns: list[str]) -> pl.DataFrame:
        """`idx` and `columns` of the documents with global indices `wanted` (sorted, unique)."""
        frames = []
        for k, mine in self.slices(wanted):
            table = pq.read_table(docs_path(self.root, self.uids[k]), columns=columns)
            local = pa.array(mine - self.offsets[k])
            frame = pl.from_arrow(table.take(local))
            assert isinstance(frame, pl.DataFrame)
            frames.append(frame.with_columns(pl.Series("idx", mine, dtype=pl.Int64)).select("idx", *columns))
        if not frames:
            schema = pl.scan_parquet(self.files()[0]).select(columns).collect_schema() if self.uids else {}
            return pl.DataFrame(schema={"idx": pl.Int64, **dict(schema)})
        return pl.concat(frames)

    def signatures(self, wanted: np.ndarray, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
        """Signatures of the documents with global indices `wanted` (sorted): (indices, matrix)."""
        idx_parts: list[np.ndarray] = []
        sig_parts: list[np.ndarray] = []
        for k, mine in self.slices(wanted):
            table = pq.read_table(docs_path(self.root, self.uids[k]), columns=["sig"])
            idx_parts.append(mine)
            sig_parts.append(signatures_from_column(table.column("sig").take(pa.array(mine - self.offsets[k])), num_perm))
        if not idx_parts:
            return np.zeros(0, dtype=np.int64), np.zeros((0, num_perm), dtype=np.uint32)
        return np.concatenate(idx_parts), np.concatenate(sig_parts)

    def source_counts(self, source: str = "source") -> pl.DataFrame:
        """Documents per source, a streaming group-by over the spill files."""
        return pl.scan_parquet(self.files()).group_by(source).agg(pl.len().alias("documents")).collect(engine="streaming")

    def parts(self, columns: list[str]) -> Iterator[tuple[int, pl.DataFrame]]:
        """(offset, frame of `columns`) of each part in input order: one part in memory at a time."""
        for k, uid in enumerate(self.uids):
            frame = pl.read_parquet(docs_path(self.root, uid), columns=columns)
            yield int(self.offsets[k]), frame
