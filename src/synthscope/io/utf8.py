"""Make bytes and Arrow string columns valid UTF-8, replacing bad sequences with U+FFFD.

Neither pyarrow's JSON reader nor its Parquet reader validates UTF-8 inside string values: an
invalid byte reaches polars, which panics when the value is converted to Python. Every string
column is therefore validated (one vectorised pass) and the few bad values are decoded with
replacement; JSON Lines blocks are repaired line by line before they are parsed, so a bad byte
anywhere in a line (text, url, id) is caught and the line counted once.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_SURROGATE = re.compile("[\ud800-\udfff]")


def repair_lines(block: bytes, starts: np.ndarray, ends: np.ndarray) -> tuple[bytes, np.ndarray]:
    """`block` with each line holding invalid UTF-8 decoded with replacement and re-encoded.

    `starts`/`ends` are the lines' byte offsets; returns the repaired block and the indices of the
    lines that were repaired. A valid block (the common case) costs one vectorised check; otherwise
    the bad lines are found by bisection over a zero-copy Arrow view of the lines.
    """
    if is_valid_utf8(block):
        return block, np.zeros(0, np.int64)
    offsets = np.append(starts, ends[-1]).astype(np.int64)  # lines are contiguous: ends[i] == starts[i + 1]
    lines = pa.Array.from_buffers(pa.large_string(), len(starts), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(block)])
    bad: list[int] = []
    _locate_invalid(lines, 0, len(starts), bad)
    pieces: list[bytes] = []
    done = 0  # bytes of `block` already copied to `pieces`
    for line in bad:
        lo, hi = int(starts[line]), int(ends[line])
        pieces.append(block[done:lo])
        pieces.append(block[lo:hi].decode("utf-8", errors="replace").encode("utf-8"))
        done = hi
    pieces.append(block[done:])
    return b"".join(pieces), np.asarray(bad, dtype=np.int64)


def is_valid_utf8(data: bytes) -> bool:
    """Whether `data` is valid UTF-8: Arrow's vectorised validation over the bytes, without a copy."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    view = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        view.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def replace_surrogates(value: str) -> tuple[str, bool]:
    """A decoded JSON string with lone surrogates (`"\\ud800"`, not encodable) replaced by U+FFFD."""
    if _SURROGATE.search(value) is None:
        return value, False
    return _SURROGATE.sub("\ufffd", value), True


def repair_string_array(array: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """A (large) string array made valid UTF-8, and the positions of the values that were not.

    Validation is one vectorised pass; only when it fails are the bad values located (by bisection
    over slices) and decoded with replacement.
    """
    try:
        array.validate(full=True)
        return array, np.zeros(0, np.int64)
    except pa.ArrowInvalid:
        pass
    bad: list[int] = []
    _locate_invalid(array, 0, len(array), bad)
    positions = np.asarray(bad, dtype=np.int64)
    binary_type = pa.large_binary() if pa.types.is_large_string(array.type) else pa.binary()
    raw = array.view(binary_type)
    fixed = [raw[i].as_py().decode("utf-8", errors="replace").encode("utf-8") for i in bad]
    mask = np.zeros(len(array), dtype=bool)
    mask[positions] = True
    repaired = pc.replace_with_mask(raw, pa.array(mask), pa.array(fixed, type=binary_type))
    return repaired.view(array.type), positions


def _locate_invalid(array: pa.Array, lo: int, hi: int, out: list[int]) -> None:
    if lo >= hi:
        return
    try:
        array.slice(lo, hi - lo).validate(full=True)
        return
    except pa.ArrowInvalid:
        if hi - lo == 1:
            out.append(lo)
            return
    mid = (lo + hi) // 2
    _locate_invalid(array, lo, mid, out)
    _locate_invalid(array, mid, hi, out)
