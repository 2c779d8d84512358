"""Spill files of the dedup analyzer: one document table and one band-key file per band per batch.

Layout under the analyzer's work folder::

    docs/part-<uid>.parquet            i, doc_id, source, file, _row, exact, n_chars, n_shingles,
                                       preview[, sig]
    bands/band=<NN>/part-<uid>.parquet part, i, key      (documents with at least one shingle)

`i` is the row inside the batch; `part` is the batch's 64-bit id, turned into a global document
index in finalize (parts ordered by their first file and row, so indices follow input order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DOCS_DIR = "docs"
BANDS_DIR = "bands"


@dataclass(frozen=True, order=True)
class Part:
    """One mapped batch: where its rows start in the input, how many documents, its id."""

    first_file: str
    first_row: int
    uid: str
    documents: int

    @property
    def part_id(self) -> int:
        return int(self.uid[:16], 16)


def docs_path(root: Path, part: Part | str) -> Path:
    uid = part.uid if isinstance(part, Part) else part
    return root / DOCS_DIR / f"part-{uid}.parquet"


def band_dir(root: Path, band: int) -> Path:
    return root / BANDS_DIR / f"band={band:03d}"


def band_path(root: Path, band: int, uid: str) -> Path:
    return band_dir(root, band) / f"part-{uid}.parquet"


def write_table(table: pa.Table, path: Path) -> None:
    """Write a spill table (zstd, one row group) creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", compression_level=1)


def signatures_column(signatures: np.ndarray) -> pa.FixedSizeBinaryArray:
    """A (docs x num_perm) uint32 matrix as one fixed-size binary value per document."""
    sig = np.ascontiguousarray(signatures, dtype="<u4")
    width = sig.shape[1] * 4
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), sig.shape[0], [None, pa.py_buffer(sig.tobytes())])


def signatures_from_column(column: pa.ChunkedArray | pa.Array, num_perm: int) -> np.ndarray:
    """Inverse of `signatures_column`."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if len(column) == 0:
        return np.zeros((0, num_perm), dtype=np.uint32)
    data = column.buffers()[1]
    start = column.offset * num_perm * 4
    raw = np.frombuffer(data, dtype="<u4", count=len(column) * num_perm, offset=start)
    return raw.reshape(len(column), num_perm).astype(np.uint32)
