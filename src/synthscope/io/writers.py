"""Write a corpus back in its own format with some rows removed (e.g. duplicates).

Rows are identified as the readers number them: the 0-based row index for Parquet, the 1-based
line number for JSON Lines. JSON lines are copied byte for byte; Parquet keeps all columns and
the schema. Compressed inputs (.gz, .zst) are written with the same codec.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from synthscope.errors import UsageError
from synthscope.io.discover import InputFile
from synthscope.io.storage import RemotePath, parquet_file
from synthscope.io.streams import decompress_to_temp, open_decompressed, read_chunk

_BLOCK = 8 << 20
WRITE_BATCH_ROWS = 8_192  # Parquet rows copied at a time (long documents: tens of MB, not hundreds)


@contextmanager
def open_compressed(path: Path, compression: str | None) -> Iterator[BinaryIO]:
    """A binary stream writing `path` with the given codec (None, "gz" or "zst")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw:
        if compression == "gz":
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as stream:
                yield stream  # type: ignore[misc]
        elif compression == "zst":
            with zstandard.ZstdCompressor().stream_writer(raw, closefd=False) as stream:
                yield stream  # type: ignore[misc]
        else:
            yield raw


def refuse_overwriting_inputs(inputs: list[InputFile], targets: list[Path], folders: Sequence[Path] = ()) -> None:
    """Raise a UsageError when an output path is (a link to) one of the input files, or when an output
    folder that will be replaced as a whole holds one of them (outputs are local: a URL input never is)."""
    inputs = [f for f in inputs if not isinstance(f.path, RemotePath)]
    existing = [t for t in targets if t.exists()]
    for target in existing:
        for file in inputs:
            if os.path.samefile(target, file.path):
                raise UsageError(f"{target}: this output would overwrite the input {file.label}; choose another output folder")
    for folder in folders:
        root = folder.resolve()
        for file in inputs:
            if file.path.resolve().is_relative_to(root):
                raise UsageError(f"{folder}: this output folder is replaced as a whole and holds the input {file.label}; choose another output folder")


def output_paths(inputs: list[InputFile], root: Path) -> dict[str, Path]:
    """Where each input's copy goes under `root`: its relative path (inside the folder or glob it was
    found by, else its name); a path already taken gets the input's position as a prefix."""
    paths: dict[str, Path] = {}
    taken: set[str] = set()
    for k, f in enumerate(inputs):
        relative = f.relative or f.path.name
        if relative.lower() in taken:
            relative = str(Path(relative).with_name(f"{k:04d}-{Path(relative).name}").as_posix())
        taken.add(relative.lower())
        paths[f.label] = root / relative
    return paths


def write_without_rows(file: InputFile, drop: np.ndarray, target: Path, workdir: Path) -> int:
    """Copy `file` to `target` leaving out the rows numbered in `drop`; returns rows written.

    The copy is written under a temporary name beside `target` and renamed when complete.
    """
    drop = np.unique(np.asarray(drop, dtype=np.int64))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        if file.format == "parquet":
            written = _parquet_without(file, drop, partial, workdir)
        else:
            written = _jsonl_without(file, drop, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return written


def _parquet_without(file: InputFile, drop: np.ndarray, target: Path, workdir: Path) -> int:
    path = decompress_to_temp(file.path, file.compression, workdir) if file.compression else file.path
    source = parquet_file(path)
    written = 0
    start = 0
    with open_compressed(target, file.compression) as out:
        writer = pq.ParquetWriter(out, source.schema_arrow, compression=parquet_codec(source))
        try:
            for batch in source.iter_batches(batch_size=WRITE_BATCH_ROWS):
                rows = np.arange(start, start + batch.num_rows, dtype=np.int64)
                keep = ~np.isin(rows, drop, assume_unique=True)
                start += batch.num_rows
                kept = batch.filter(pa.array(keep))
                writer.write_batch(kept)
                written += kept.num_rows
        finally:
            writer.close()
    if path != file.path and isinstance(path, Path):
        path.unlink(missing_ok=True)
    return written


_CODECS = {"UNCOMPRESSED": "none", "SNAPPY": "snappy", "GZIP": "gzip", "BROTLI": "brotli", "ZSTD": "zstd", "LZ4": "lz4", "LZ4_RAW": "lz4"}


def parquet_codec(source: pq.ParquetFile) -> str:
    """The compression codec of a Parquet file's first column chunk, as ParquetWriter names it (zstd if unknown)."""
    meta = source.metadata
    if meta.num_row_groups == 0 or meta.num_columns == 0:
        return "zstd"
    return _CODECS.get(str(meta.row_group(0).column(0).compression).upper(), "zstd")


def _jsonl_without(file: InputFile, drop: np.ndarray, target: Path) -> int:
    written = 0
    line_no = 1
    carry = b""
    with open_decompressed(file.path, file.compression) as (stream, _), open_compressed(target, file.compression) as out:
        while True:
            chunk = read_chunk(stream, _BLOCK, file.path, file.compression)
            data = carry + chunk
            if not chunk:
                lines, carry = ([data] if data else []), b""
            else:
                cut = data.rfind(b"\n") + 1
                lines, carry = (data[: cut - 1].split(b"\n") if cut else []), data[cut:]
            for line in lines:
                if not (len(drop) and _contains(drop, line_no)) and line.strip():
                    out.write(line + b"\n")
                    written += 1
                line_no += 1
            if not chunk:
                break
    return written


def _contains(sorted_values: np.ndarray, value: int) -> bool:
    pos = int(np.searchsorted(sorted_values, value))
    return pos < len(sorted_values) and int(sorted_values[pos]) == value
