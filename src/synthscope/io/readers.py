"""Stream Parquet and JSON Lines files as bounded polars batches, accounting for every row.

Each batch holds the rows that parsed (`_row` plus the requested columns, all as strings except
`_row`) and the locations of the rows that did not (malformed JSON, a text value that is not a
string). JSON Lines blocks are parsed by pyarrow; a block that fails is bisected so that only the
few bad lines are parsed one by one.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from synthscope.analyzer import ROW
from synthscope.errors import InputError
from synthscope.io.discover import InputFile
from synthscope.io.storage import AnyPath, parquet_file
from synthscope.io.streams import decompress_to_temp, open_decompressed, open_range, read_chunk
from synthscope.io.utf8 import repair_lines, repair_string_array, replace_surrogates

UTF8_BOM = b"\xef\xbb\xbf"
JSONL_BLOCK_BYTES = 8 << 20
_BISECT_MIN_LINES = 32
_PEEK_LINES = 200


@dataclass(frozen=True)
class ColumnSpec:
    """Which columns to read: the text, an optional id, and extra string columns (source, url)."""

    text: str = "text"
    id: str | None = None
    extra: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()  # columns a file may lack (read as nulls), e.g. the default `id`

    @property
    def wanted(self) -> tuple[str, ...]:
        cols = [self.text] + ([self.id] if self.id else []) + list(self.extra)
        return tuple(dict.fromkeys(cols))

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c for c in self.wanted if c not in self.optional)


@dataclass
class RawBatch:
    """Rows read from one file: parsed rows in `frame`, unparsable rows in `malformed`."""

    file: InputFile
    frame: pl.DataFrame
    malformed: list[tuple[int, str]] = field(default_factory=list)
    invalid_utf8: int = 0
    blank_lines: int = 0
    raw_bytes_done: int = 0

    @property
    def rows_read(self) -> int:
        return self.frame.height + len(self.malformed)


def peek_columns(file: InputFile) -> list[str]:
    """Column names of a file: the Parquet schema, or the keys of the first JSON lines."""
    if file.format == "parquet":
        if file.compression:
            return []  # checked when the decompressed copy is opened
        return list(_open_parquet(file.path, file.path).schema_arrow.names)
    keys: dict[str, None] = {}
    with open_decompressed(file.path, file.compression) as (stream, _):
        head = read_chunk(stream, 1 << 20, file.path, file.compression).removeprefix(UTF8_BOM)
    lines = [ln for ln in head.split(b"\n")[:_PEEK_LINES] if ln.strip()]
    if file.path.suffix.lower() == ".json" or (file.compression and file.path.stem.lower().endswith(".json")):
        first = lines[0].lstrip() if lines else b""
        if first.startswith(b"["):
            raise InputError(f"{file.path}: a JSON array, not JSON Lines (one object a line); convert it first")
    for line in lines:
        try:
            obj = json.loads(line.decode("utf-8", errors="replace"))
        except ValueError:
            continue
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(obj))
    return list(keys)


_SIGNATURES = (
    (b"PAR1", "it looks like a Parquet file; name it .parquet"),
    (b"\xff\xfe", "it looks UTF-16 encoded; convert it to UTF-8"),
    (b"\xfe\xff", "it looks UTF-16 encoded; convert it to UTF-8"),
    (b"\x1f\x8b", "it looks gzip-compressed; name it .gz"),
    (b"\x28\xb5\x2f\xfd", "it looks zstd-compressed; name it .zst"),
)


def describe_unreadable(file: InputFile) -> str:
    """A hint on why no row of a JSON Lines file parsed ('; it looks UTF-16 encoded ...'), or ''."""
    if file.format != "jsonl":
        return ""
    try:
        with open_decompressed(file.path, file.compression) as (stream, _):
            head = read_chunk(stream, 4096, file.path, file.compression)
    except InputError:
        return ""
    for magic, hint in _SIGNATURES:
        if head.startswith(magic):
            return "; " + hint
    if head.count(b"\x00") > len(head) // 4:
        return "; it holds NUL bytes, as UTF-16 text or binary data do"
    return ""


def check_columns(file: InputFile, required: tuple[str, ...]) -> None:
    """Raise an InputError naming the file, the missing column and the columns that exist."""
    present = peek_columns(file)
    if file.format == "parquet" and file.compression:
        return
    if not present and file.format == "jsonl":
        return  # empty file or only malformed lines: accounted for while reading
    missing = [c for c in required if c not in present]
    if missing:
        raise InputError(
            f"{file.path}: no column {missing[0]!r} (columns: {', '.join(present) or 'none'})"
        )


def read_batches(
    file: InputFile,
    spec: ColumnSpec,
    batch_size: int,
    workdir: Path | None = None,
    *,
    start: int = 0,
    stop: int | None = None,
    first_line: int = 1,
) -> Iterator[RawBatch]:
    """Yield bounded batches of at most `batch_size` rows from one file, or from a part of it:
    Parquet rows [start, stop), or JSON Lines bytes [start, stop) whose first line is `first_line`
    (a part starts just after a newline; see io.parts)."""
    if file.format == "parquet":
        yield from _read_parquet(file, spec, batch_size, workdir, start, stop)
    else:
        yield from _read_jsonl(file, spec, batch_size, start, stop, first_line)


# ----------------------------------------------------------------------------------------- parquet


def _open_parquet(path: AnyPath, shown: AnyPath) -> pq.ParquetFile:
    try:
        return parquet_file(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{shown}: not a readable Parquet file, truncated or corrupt ({exc})") from exc


def _string_column(array: pa.ChunkedArray | pa.Array, name: str, file: InputFile) -> tuple[pa.Array, np.ndarray]:
    """A text column as valid UTF-8 large strings, and the positions of values that were not valid.

    Strings and binary are decoded with replacement, dictionary-encoded (categorical) columns are
    decoded, an all-null column gives null (empty) texts; numbers and nested values raise.
    """
    array = _plain(array)
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.large_string()), np.zeros(0, np.int64)
    as_text = _as_large_string(array)
    if as_text is None:
        raise InputError(f"{file.path}: column {name!r} has type {array.type}, expected text (string)")
    return repair_string_array(as_text)


def _plain(array: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous array, with dictionary (categorical) encoding undone."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks else pa.array([], array.type)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return array


def _as_large_string(array: pa.Array) -> pa.Array | None:
    """A string or binary array as large_string without UTF-8 validation (done by the caller); None otherwise."""
    kind = array.type
    if pa.types.is_large_string(kind):
        return array
    if pa.types.is_string(kind) or pa.types.is_string_view(kind):
        return array.cast(pa.large_string())
    if pa.types.is_large_binary(kind):
        return array.view(pa.large_string())
    if pa.types.is_binary(kind):
        return array.view(pa.string()).cast(pa.large_string())
    if pa.types.is_binary_view(kind):
        return array.cast(pa.large_binary()).view(pa.large_string())
    return None


def _key_column(array: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Any scalar column (id, source, url) as valid UTF-8 strings; other types as their JSON text."""
    array = _plain(array)
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.large_string()), np.zeros(0, np.int64)
    as_text = _as_large_string(array)
    if as_text is not None:
        return repair_string_array(as_text)
    try:
        return array.cast(pa.large_string()), np.zeros(0, np.int64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = [None if v is None else json.dumps(v, default=str) for v in array.to_pylist()]
        return pa.array(values, pa.large_string()), np.zeros(0, np.int64)


def _batches_in_range(pf: pq.ParquetFile, path: AnyPath, batch_size: int, columns: list[str], start: int, stop: int | None) -> Iterator[pa.RecordBatch]:
    """Record batches of rows [start, stop) of a Parquet file (stop None: to the end).

    A bounded range (a part, see io.parts) of a local file is read by polars, which decodes only the
    pages the range needs, so the parts of one large row group do not each decode the whole group;
    should polars refuse the file, and for a URL, pyarrow reads the row groups the range touches (at
    row-group granularity, the ranged reads object storage serves). A whole file is streamed."""
    if start == 0 and stop is None:
        yield from pf.iter_batches(batch_size=batch_size, columns=columns)
        return
    stop = pf.metadata.num_rows if stop is None else stop
    table = None
    if isinstance(path, Path):
        try:
            frame = pl.scan_parquet(path).select(columns).slice(start, stop - start).collect()
            table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        except Exception:  # noqa: BLE001 - any type or encoding polars cannot read: pyarrow below
            table = None
    if table is not None and table.num_rows == stop - start:
        yield from table.to_batches(max_chunksize=batch_size)
        return
    bounds = np.cumsum([0] + [pf.metadata.row_group(g).num_rows for g in range(pf.metadata.num_row_groups)])
    groups = [g for g in range(pf.metadata.num_row_groups) if bounds[g] < stop and bounds[g + 1] > start]
    if not groups:
        return
    row = int(bounds[groups[0]])
    for batch in pf.iter_batches(batch_size=batch_size, columns=columns, row_groups=groups):
        first, row = row, row + batch.num_rows
        if row <= start:
            continue
        if first >= stop:
            break
        yield batch.slice(max(start - first, 0), min(row, stop) - max(first, start))


def _read_parquet(file: InputFile, spec: ColumnSpec, batch_size: int, workdir: Path | None, row_start: int = 0, row_stop: int | None = None) -> Iterator[RawBatch]:
    path: AnyPath = file.path
    temp_dir = None
    if file.compression:
        temp_dir = tempfile.TemporaryDirectory(prefix="synthscope-", dir=workdir)
        path = decompress_to_temp(file.path, file.compression, Path(temp_dir.name))
    try:
        pf = _open_parquet(path, file.path)
        names = pf.schema_arrow.names
        present = [c for c in spec.wanted if c in names]
        missing = [c for c in spec.required if c not in names]
        if missing:
            raise InputError(f"{file.path}: no column {missing[0]!r} (columns: {', '.join(names)})")
        total_rows = max(pf.metadata.num_rows, 1)
        start = row_start
        try:
            for record_batch in _batches_in_range(pf, path, batch_size, present, row_start, row_stop):
                n = record_batch.num_rows
                text, bad = _string_column(record_batch.column(spec.text), spec.text, file)
                columns: dict[str, pa.Array] = {ROW: pa.array(np.arange(start, start + n, dtype=np.int64))}
                columns[spec.text] = text
                bad_rows = [bad]
                for name in spec.wanted:
                    if name != spec.text:
                        if name in present:
                            columns[name], bad = _key_column(record_batch.column(name))
                            bad_rows.append(bad)
                        else:  # an optional column (the default id) this file lacks
                            columns[name] = pa.nulls(n, pa.large_string())
                bad_utf8 = len(np.unique(np.concatenate(bad_rows)))
                start += n
                frame = pl.from_arrow(pa.table(columns))
                assert isinstance(frame, pl.DataFrame)
                done = int(file.bytes * start / total_rows)
                yield RawBatch(file=file, frame=frame, invalid_utf8=bad_utf8, raw_bytes_done=done)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{file.path}: unreadable after row {start}, truncated or corrupt ({exc})") from exc
    finally:
        if temp_dir is not None:
            temp_dir.cleanup()


# ------------------------------------------------------------------------------------------ jsonl


def _line_starts(block: bytes) -> np.ndarray:
    """Byte offsets at which each line of a block starts (the block ends with a newline or EOF)."""
    arr = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], newlines + 1))
    return starts[starts < len(block)] if len(block) else starts[:0]


class _JsonlParser:
    """Parses blocks of JSON lines into string columns, bisecting around bad lines."""

    def __init__(self, file: InputFile, spec: ColumnSpec) -> None:
        self.file = file
        self.spec = spec
        fields = [pa.field(c, pa.large_string()) for c in spec.wanted]
        self.schema = pa.schema(fields)
        self.options = pa_json.ParseOptions(explicit_schema=self.schema, unexpected_field_behavior="ignore")
        # Second try for ids or sources that are numbers: keep the text a string, infer the rest.
        text_only = pa.schema([pa.field(spec.text, pa.large_string())])
        self.infer_options = pa_json.ParseOptions(explicit_schema=text_only, unexpected_field_behavior="infer")
        self.read_options = pa_json.ReadOptions(block_size=JSONL_BLOCK_BYTES + (1 << 20), use_threads=False)

    def parse(self, block: bytes, first_line: int) -> tuple[dict[str, list[Any]] | pa.Table, list[int], list[tuple[int, str]], int, int]:
        """Parse lines; returns (table, line numbers of its rows, malformed, invalid_utf8, blank lines).

        `invalid_utf8` counts the parsed rows whose bytes were not valid UTF-8 (decoded with
        replacement); a malformed row is counted as malformed only.
        """
        starts = _line_starts(block)
        ends = np.append(starts[1:], len(block))
        block, repaired = repair_lines(block, starts, ends)
        if len(repaired):
            starts = _line_starts(block)
            ends = np.append(starts[1:], len(block))
        arr = np.frombuffer(block, dtype=np.uint8)
        lengths = ends - starts - (arr[ends - 1] == 10).astype(np.int64) if len(starts) else np.zeros(0, np.int64)
        line_numbers = first_line + np.arange(len(starts))
        tables: list[pa.Table] = []
        rows: list[np.ndarray] = []
        malformed: list[tuple[int, str]] = []
        counters: dict[str, Any] = {"blank": 0, "surrogates": []}
        self._parse_range(block, starts, ends, lengths, line_numbers, 0, len(starts), tables, rows, malformed, counters)
        table = pa.concat_tables(tables) if tables else self.schema.empty_table()
        row_numbers = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        bad_lines = np.union1d(first_line + repaired, np.asarray(counters["surrogates"], dtype=np.int64))
        invalid_utf8 = int(np.isin(row_numbers, bad_lines).sum()) if len(bad_lines) else 0
        return table, row_numbers.tolist(), malformed, invalid_utf8, counters["blank"]

    def _parse_range(self, block, starts, ends, lengths, line_numbers, lo, hi, tables, rows, malformed, counters) -> None:  # noqa: PLR0913
        if lo >= hi:
            return
        piece = block[starts[lo] : ends[hi - 1]]
        nonblank = lengths[lo:hi] > 0
        table = self._read_fast(piece)
        if table is not None and table.num_rows == int(nonblank.sum()):
            tables.append(table.select(list(self.spec.wanted)))
            rows.append(line_numbers[lo:hi][nonblank])
            counters["blank"] += int((~nonblank).sum())
            return
        if hi - lo <= _BISECT_MIN_LINES:
            self._parse_lines(block, starts, ends, line_numbers, lo, hi, tables, rows, malformed, counters)
            return
        mid = (lo + hi) // 2
        self._parse_range(block, starts, ends, lengths, line_numbers, lo, mid, tables, rows, malformed, counters)
        self._parse_range(block, starts, ends, lengths, line_numbers, mid, hi, tables, rows, malformed, counters)

    def _read_fast(self, piece: bytes) -> pa.Table | None:
        """Parse a piece with pyarrow: string columns first, then inferred key columns cast to strings."""
        try:
            return pa_json.read_json(io.BytesIO(piece), read_options=self.read_options, parse_options=self.options)
        except (pa.ArrowInvalid, UnicodeDecodeError):
            if len(self.spec.wanted) == 1:
                return None
        try:
            table = pa_json.read_json(io.BytesIO(piece), read_options=self.read_options, parse_options=self.infer_options)
        except (pa.ArrowInvalid, UnicodeDecodeError):
            return None
        columns = {}
        for name in self.spec.wanted:
            if name in table.column_names:
                columns[name] = table[name] if name == self.spec.text else _key_column(table[name])[0]
            else:
                columns[name] = pa.nulls(table.num_rows, pa.large_string())
        return pa.table(columns, schema=self.schema)

    def _parse_lines(self, block, starts, ends, line_numbers, lo, hi, tables, rows, malformed, counters) -> None:  # noqa: PLR0913
        values: dict[str, list[Any]] = {c: [] for c in self.spec.wanted}
        good: list[int] = []
        for i in range(lo, hi):
            raw = block[starts[i] : ends[i]]
            if not raw.strip():
                counters["blank"] += 1
                continue
            line_no = int(line_numbers[i])
            try:
                obj = json.loads(raw.decode("utf-8", errors="replace"))
            except ValueError as exc:
                malformed.append((line_no, _json_error(exc)))
                continue
            if not isinstance(obj, dict):
                malformed.append((line_no, f"a JSON {json_type(obj)}, not an object"))
                continue
            body = obj.get(self.spec.text)
            if body is not None and not isinstance(body, str):
                malformed.append((line_no, f"{self.spec.text!r} is a JSON {json_type(body)}, not a string"))
                continue
            replaced = False
            for name in self.spec.wanted:
                value = obj.get(name)
                if value is not None and not isinstance(value, str):
                    value = json.dumps(value)
                if value is not None:
                    value, bad = replace_surrogates(value)
                    replaced |= bad
                values[name].append(value)
            if replaced:
                counters["surrogates"].append(line_no)
            good.append(line_no)
        if good:
            tables.append(pa.table(values, schema=self.schema))
            rows.append(np.array(good, dtype=np.int64))


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type (object, array, string, number, boolean, null)."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _json_error(exc: ValueError) -> str:
    """'invalid JSON (reason at column N)' from a json.loads error."""
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})"
    return f"invalid JSON ({exc})"


def _read_jsonl(file: InputFile, spec: ColumnSpec, batch_size: int, start: int = 0, stop: int | None = None, first_line: int = 1) -> Iterator[RawBatch]:
    parser = _JsonlParser(file, spec)
    next_line = first_line
    carry = b""
    whole = start == 0 and stop is None
    opened = open_decompressed(file.path, file.compression) if whole else open_range(file.path, start, stop)
    with opened as (stream, counter):
        eof = False
        while not eof:
            chunk = read_chunk(stream, JSONL_BLOCK_BYTES, file.path, file.compression)
            eof = not chunk
            data = carry + chunk
            if not eof:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                block, carry = data[:cut], data[cut:]
            else:
                block, carry = data, b""
            if next_line == 1 and block.startswith(UTF8_BOM):
                block = block[len(UTF8_BOM) :]
            if not block:
                continue
            n_lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
            table, row_numbers, malformed, bad_utf8, blanks = parser.parse(block, next_line)
            next_line += n_lines
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            frame = frame.with_columns(pl.Series(ROW, row_numbers, dtype=pl.Int64)).select([ROW, *spec.wanted])
            # Split into batches of at most batch_size rows; malformed rows ride with the first.
            for offset in range(0, max(frame.height, 1), batch_size):
                part = frame.slice(offset, batch_size)
                first = offset == 0
                yield RawBatch(
                    file=file,
                    frame=part,
                    malformed=malformed if first else [],
                    invalid_utf8=bad_utf8 if first else 0,
                    blank_lines=blanks if first else 0,
                    raw_bytes_done=counter.consumed,
                )
