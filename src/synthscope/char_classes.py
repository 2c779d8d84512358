"""Character classes of a batch of strings, per UTF-8 byte, as the regex engine sees them (numpy).

`byte_classes` gives every byte of a string array's data buffer the class of the character it belongs
to: word character (`\\w`), white space (`\\s`), sentence end (`.`, `!`, `?`) or other. Classes are those
of polars' regex engine (Unicode `\\w` and `\\s`): the distinct characters of the batch are classified
by polars itself (ASCII once, the batch's other characters once per batch), so a count built on them
equals the regex's. Scans that only need where runs of a class start and end (words, sentence ends)
then run as numpy passes over the bytes instead of one regex match per word.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
import pyarrow as pa

OTHER, WORD, SPACE, SENTENCE_END = 0, 1, 2, 3


def _classify(chars: list[str]) -> np.ndarray:
    """The class of each single character, by polars' regex engine."""
    series = pl.Series(chars, dtype=pl.String)
    word = series.str.contains(r"^\w$").to_numpy()
    space = series.str.contains(r"^\s$").to_numpy()
    end = series.is_in([".", "!", "?"]).to_numpy()
    return np.where(end, SENTENCE_END, np.where(word, WORD, np.where(space, SPACE, OTHER))).astype(np.uint8)


@lru_cache(maxsize=1)
def _ascii_classes() -> np.ndarray:
    """Class of every byte value: ASCII characters classified, bytes >= 0x80 OTHER (fixed later)."""
    table = np.zeros(256, dtype=np.uint8)
    table[:128] = _classify([chr(i) for i in range(128)])
    return table


@dataclass(frozen=True)
class ByteClasses:
    """A string array's bytes (`data`), each string's byte `offsets` into them (len + 1), and the class
    of the character each byte belongs to (`classes`, uint8)."""

    data: np.ndarray
    offsets: np.ndarray
    classes: np.ndarray


def string_buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, offsets rebased to 0) of a string array without copying (nulls read as empty strings)."""
    strings = strings.cast(pa.large_string())
    if strings.null_count:
        strings = strings.fill_null("")
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)[strings.offset: strings.offset + len(strings) + 1]
    data_buffer = strings.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, dtype=np.uint8)
    data = data[offsets[0]: offsets[-1]]
    return data, offsets - offsets[0]


def byte_classes(strings: pa.Array) -> ByteClasses:
    """The class of every byte's character (continuation bytes share their lead byte's class)."""
    data, offsets = string_buffers(strings)
    classes = _ascii_classes()[data]
    high = np.flatnonzero(data >= 0x80)
    if len(high):
        values = data[high].astype(np.int64)
        is_lead = values >= 0xC0
        leads = high[is_lead]
        lead = values[is_lead]
        size = 2 + (lead >= 0xE0) + (lead >= 0xF0)
        code = np.where(size == 2, lead & 0x1F, np.where(size == 3, lead & 0x0F, lead & 0x07))
        for k in (1, 2, 3):
            more = size > k
            following = data[np.minimum(leads + k, len(data) - 1)].astype(np.int64) & 0x3F
            code = np.where(more, (code << 6) | following, code)
        distinct, inverse = np.unique(code, return_inverse=True)
        char_class = _classify([chr(int(c)) for c in distinct])[inverse]
        # each non-ASCII byte takes the class of the last lead byte at or before it
        owner = np.cumsum(is_lead) - 1
        classes[high] = char_class[owner]
    return ByteClasses(data, offsets, classes)
