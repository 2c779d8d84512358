"""What checking and repairing UTF-8 costs the readers (issue 9: pyarrow's JSON and Parquet readers
do not validate UTF-8, so synthscope validates every JSON Lines block and every string column).

Writes dev texts as JSON Lines and Parquet, clean and with a bad byte in 1% of the rows, reads each
file completely with `read_batches` (best of --repeats) and times the validation step alone on the
same data, printing both and the share of reading time it takes.

    python benchmarks/read_validation.py [--copies 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from _record import recorded

from synthscope.io.discover import discover_inputs
from synthscope.io.readers import JSONL_BLOCK_BYTES, ColumnSpec, _line_starts, read_batches
from synthscope.io.utf8 import repair_lines, repair_string_array

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "detect_dev.jsonl.gz"


def best_of(repeats: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def read_all(path: Path) -> int:
    (file,), _ = discover_inputs([str(path)])
    return sum(b.rows_read for b in read_batches(file, ColumnSpec(), 5000))


def jsonl_blocks(path: Path) -> list[tuple[bytes, np.ndarray, np.ndarray]]:
    """The file cut into blocks at line ends as the reader cuts it, with the lines' offsets."""
    data, blocks = path.read_bytes(), []
    while data:
        cut = data.rfind(b"\n", 0, JSONL_BLOCK_BYTES) + 1 or len(data)
        block, data = data[:cut], data[cut:]
        starts = _line_starts(block)
        blocks.append((block, starts, np.append(starts[1:], len(block))))
    return blocks


def validate_jsonl(blocks: list[tuple[bytes, np.ndarray, np.ndarray]]) -> None:
    for block, starts, ends in blocks:
        repair_lines(block, starts, ends)


def text_columns(path: Path) -> list[pa.Array]:
    return [b.column("text").cast(pa.large_string()) for b in pq.ParquetFile(path).iter_batches(batch_size=5000)]


def validate_columns(columns: list[pa.Array]) -> None:
    for column in columns:
        repair_string_array(column)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=4, help="copies of the dev texts (9,036 documents each)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts = pl.read_ndjson(DEV).select("text")
    frame = pl.concat([texts.with_columns(pl.col("text") + f" ({i})") for i in range(args.copies)])
    with recorded("read_validation"), tempfile.TemporaryDirectory() as tmp:
        print(f"{frame.height:,} documents, {frame['text'].str.len_bytes().sum() / 2**20:.0f} MiB of text; best of {args.repeats}")
        clean = Path(tmp) / "clean.jsonl"
        frame.write_ndjson(clean)
        lines = clean.read_bytes().split(b"\n")
        for i in range(0, len(lines) - 1, 100):  # a Latin-1 byte in 1% of the rows
            lines[i] = lines[i].replace(b'"text":"', b'"text":"caf\xe9 ', 1)
        dirty = Path(tmp) / "dirty.jsonl"
        dirty.write_bytes(b"\n".join(lines))
        parquet = Path(tmp) / "clean.parquet"
        frame.write_parquet(parquet)
        raw = pa.array([t.encode() + (b" \xe9" if i % 100 == 0 else b"") for i, t in enumerate(frame["text"].to_list())], pa.large_binary())
        dirty_parquet = Path(tmp) / "dirty.parquet"
        pq.write_table(pa.table({"text": raw.view(pa.large_string())}), dirty_parquet)
        print(f"{'file':<28}{'read s':>9}{'validate s':>12}{'share':>8}   (validate: the UTF-8 check and repair alone, on data already in memory)")
        clean_bytes, dirty_bytes = jsonl_blocks(clean), jsonl_blocks(dirty)
        clean_columns, dirty_columns = text_columns(parquet), text_columns(dirty_parquet)
        for label, path, validate in (
            ("JSON Lines, clean", clean, lambda: validate_jsonl(clean_bytes)),
            ("JSON Lines, 1% bad bytes", dirty, lambda: validate_jsonl(dirty_bytes)),
            ("Parquet, clean", parquet, lambda: validate_columns(clean_columns)),
            ("Parquet, 1% bad bytes", dirty_parquet, lambda: validate_columns(dirty_columns)),
        ):
            assert read_all(path) == frame.height
            read_seconds = best_of(args.repeats, lambda: read_all(path))
            check_seconds = best_of(args.repeats, validate)
            print(f"{label:<28}{read_seconds:>9.3f}{check_seconds:>12.3f}{check_seconds / read_seconds:>8.1%}")


if __name__ == "__main__":
    main()
