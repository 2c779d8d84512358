"""Split input files into parts that workers read independently (the engines' unit of work).

A part is a small, picklable description: a Parquet file's rows [start, stop), or a plain JSON Lines
file's bytes [start, stop) beginning at line `first_line`; compressed files are one part each (a
stream cannot be entered in the middle). Parts depend only on the files and the batch size, never
on the worker count, and are merged in their order, so any engine gives the same result.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from synthscope.errors import InputError
from synthscope.io.discover import InputFile
from synthscope.io.readers import ColumnSpec, RawBatch, read_batches
from synthscope.io.storage import open_binary, parquet_file

PART_BATCHES = 2  # Parquet rows per part: this many batches (polars reads a row range cheaply)
JSONL_PART_BYTES = 16 << 20
_SCAN_BYTES = 8 << 20


@dataclass(frozen=True)
class FilePart:
    """Rows [start, stop) of a Parquet file or bytes [start, stop) of a JSON Lines file; `stop` None
    means to the end. `first_line` numbers the first line of a JSON Lines part; `bytes` is the
    share of the file's size the part stands for (progress)."""

    file: InputFile
    index: int
    start: int = 0
    stop: int | None = None
    first_line: int = 1
    bytes: int = 0

    @property
    def is_whole_file(self) -> bool:
        return self.start == 0 and self.stop is None


def plan_parts(inputs: list[InputFile], batch_size: int) -> list[FilePart]:
    """The parts of every input, in input order (the order their states are merged in)."""
    ranges: list[tuple[InputFile, int, int | None, int, int]] = []
    for file in inputs:
        if file.compression:
            ranges.append((file, 0, None, 1, file.bytes))
        elif file.format == "parquet":
            ranges += _parquet_ranges(file, PART_BATCHES * batch_size)
        else:
            ranges += _jsonl_ranges(file, JSONL_PART_BYTES)
    return [FilePart(f, i, start, stop, line, size) for i, (f, start, stop, line, size) in enumerate(ranges)]


def read_part(part: FilePart, spec: ColumnSpec, batch_size: int, workdir: Path | None = None) -> Iterator[RawBatch]:
    """The raw batches of one part, at most `batch_size` rows each."""
    if part.is_whole_file:
        yield from read_batches(part.file, spec, batch_size, workdir)
    else:
        yield from read_batches(part.file, spec, batch_size, workdir, start=part.start, stop=part.stop, first_line=part.first_line)


def _parquet_ranges(file: InputFile, target_rows: int) -> list[tuple[InputFile, int, int | None, int, int]]:
    """Row ranges of about `target_rows` rows, cut at row-group boundaries where the groups allow."""
    try:
        meta = parquet_file(file.path).metadata
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{file.path}: not a readable Parquet file, truncated or corrupt ({exc})") from exc
    total = meta.num_rows
    if total <= target_rows:
        return [(file, 0, total, 1, file.bytes)]
    cuts = [0]
    row = 0
    for g in range(meta.num_row_groups):
        n = meta.row_group(g).num_rows
        group_start, row = row, row + n
        pieces = max(1, round(n / target_rows))
        if pieces > 1:  # a large group is sliced (each slice decodes the group up to its end)
            if cuts[-1] < group_start:
                cuts.append(group_start)
            cuts += [group_start + k * n // pieces for k in range(1, pieces)]
            cuts.append(row)
        elif row - cuts[-1] >= target_rows:  # small groups are gathered up to the target
            cuts.append(row)
    if cuts[-1] < total:
        cuts.append(total)
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        out.append((file, a, b, 1, file.bytes * (b - a) // max(total, 1)))
    return out


def _jsonl_ranges(file: InputFile, target_bytes: int) -> list[tuple[InputFile, int, int | None, int, int]]:
    """Byte ranges of about `target_bytes`, each ending just after a newline, with the number of the
    line each starts at (one scan of the file counting newlines)."""
    if file.bytes <= target_bytes:
        return [(file, 0, None, 1, file.bytes)]
    out = []
    start, first_line = 0, 1
    position, newlines = 0, 0
    next_cut = target_bytes
    try:
        with open_binary(file.path) as handle:
            while chunk := handle.read(_SCAN_BYTES):
                end = position + len(chunk)
                offset = 0
                while next_cut < end:
                    found = chunk.find(b"\n", max(next_cut - position, offset))
                    if found < 0:
                        break
                    cut = position + found + 1
                    line_at_cut = 1 + newlines + chunk.count(b"\n", 0, found + 1)
                    out.append((file, start, cut, first_line, cut - start))
                    start, first_line = cut, line_at_cut
                    next_cut = cut + target_bytes
                    offset = found + 1
                newlines += chunk.count(b"\n")
                position = end
    except OSError as exc:
        raise InputError(f"{file.path}: cannot read ({exc.strerror or exc})") from exc
    if start < position or not out:
        out.append((file, start, None, first_line, position - start))
    return out
