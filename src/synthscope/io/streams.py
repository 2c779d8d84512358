"""Open raw and compressed files as binary streams, turning codec failures into InputErrors."""

from __future__ import annotations

import gzip
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from synthscope.errors import InputError
from synthscope.io.storage import AnyPath, open_binary

CORRUPT_STREAM_ERRORS = (EOFError, OSError, zlib.error, gzip.BadGzipFile, zstandard.ZstdError)


class CountingReader:
    """Wrap a binary file and remember how many raw bytes were consumed (for progress bars)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.consumed += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        self.consumed += n or 0
        return n or 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()


class ZstdFramesReader:
    """Decompress a stream of zstd frames, raising ZstdError when the input ends inside a frame.

    zstandard's `stream_reader` returns a truncated stream as if it had ended cleanly; here each frame
    is decoded by its own decompressor object, whose `eof` says whether the frame was complete.
    """

    def __init__(self, raw: CountingReader, chunk_size: int = 1 << 17) -> None:
        self._raw = raw
        self._chunk_size = chunk_size
        self._decoder = zstandard.ZstdDecompressor()
        self._frame: Any = None  # the decompressor object of the frame being decoded
        self._frame_fed = False
        self._buffer = bytearray()
        self._done = False

    def _fill(self) -> None:
        """Decode at least one more raw chunk into the buffer (or mark the stream done)."""
        raw = self._raw.read(self._chunk_size)
        if not raw:
            self._done = True
            if self._frame is not None and self._frame_fed and not self._frame.eof:
                raise zstandard.ZstdError("input ends inside a zstd frame (truncated file)")
            return
        while raw:
            if self._frame is None or self._frame.eof:
                self._frame = self._decoder.decompressobj()
                self._frame_fed = False
            self._buffer += self._frame.decompress(raw)
            self._frame_fed = True
            raw = self._frame.unused_data if self._frame.eof else b""

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._fill()
        if size < 0 or size >= len(self._buffer):
            out = bytes(self._buffer)
            self._buffer.clear()
            return out
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def readable(self) -> bool:
        return True


@contextmanager
def open_decompressed(path: AnyPath, compression: str | None) -> Iterator[tuple[BinaryIO, CountingReader]]:
    """Yield (decompressed stream, raw byte counter) for a file (a local path or a URL)."""
    with open_binary(path) as raw_file:
        counter = CountingReader(raw_file)
        if compression == "gz":
            yield gzip.GzipFile(fileobj=counter, mode="rb"), counter  # type: ignore[arg-type]
        elif compression == "zst":
            yield ZstdFramesReader(counter), counter  # type: ignore[misc]
        else:
            yield counter, counter  # type: ignore[misc]


class RangeReader(CountingReader):
    """Read bytes [start, stop) of a plain file (stop None: to the end)."""

    def __init__(self, raw: BinaryIO, start: int, stop: int | None) -> None:
        super().__init__(raw)
        raw.seek(start)
        self._left = None if stop is None else stop - start

    def read(self, size: int = -1) -> bytes:
        if self._left is not None:
            size = self._left if size < 0 else min(size, self._left)
        data = super().read(size)
        if self._left is not None:
            self._left -= len(data)
        return data


@contextmanager
def open_range(path: AnyPath, start: int, stop: int | None) -> Iterator[tuple[BinaryIO, CountingReader]]:
    """Yield (stream, raw byte counter) over bytes [start, stop) of an uncompressed file (a local path or a URL)."""
    with open_binary(path, seekable=True) as raw_file:
        reader = RangeReader(raw_file, start, stop)
        yield reader, reader  # type: ignore[misc]


def read_chunk(stream: BinaryIO, size: int, path: AnyPath, compression: str | None) -> bytes:
    """Read up to `size` bytes, reporting a truncated or corrupt compressed stream as an InputError."""
    try:
        return stream.read(size)
    except CORRUPT_STREAM_ERRORS as exc:
        kind = {"gz": "gzip", "zst": "zstd"}.get(compression or "", "")
        what = f"truncated or corrupt {kind} stream" if kind else "read failed"
        raise InputError(f"{path}: {what} ({exc})") from exc


def decompress_to_temp(path: AnyPath, compression: str, workdir: Path) -> Path:
    """Decompress a whole compressed file (e.g. .parquet.gz, which needs random access) to a temp file."""
    target = Path(tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=workdir)[1])
    with open_decompressed(path, compression) as (stream, _), open(target, "wb") as out:
        while True:
            chunk = read_chunk(stream, 1 << 22, path, compression)
            if not chunk:
                break
            out.write(chunk)
    return target

