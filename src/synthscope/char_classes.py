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

    def take_rows(self, keep: np.ndarray) -> ByteClasses:
        """The classes of the strings where the boolean `keep` is True (their bytes, in order)."""
        lengths = np.diff(self.offsets)
        offsets = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
        np.cumsum(lengths[keep], out=offsets[1:])
        per_byte = pl.Series(np.repeat(keep, lengths))
        data = pl.Series(self.data, dtype=pl.UInt8).filter(per_byte).to_numpy()
        classes = pl.Series(self.classes, dtype=pl.UInt8).filter(per_byte).to_numpy()
        return ByteClasses(data, offsets, classes)


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


_APOSTROPHES = ((0x27,), (0xE2, 0x80, 0x99))  # ' and ’ in UTF-8


def _joining_apostrophes(chars: ByteClasses, word: np.ndarray) -> np.ndarray:
    """Byte positions of the apostrophes (`'` or `’`, every byte of one) with a word character on both
    sides in the same string: the apostrophes inside a token such as "don't"."""
    data, offsets = chars.data, chars.offsets
    found = []
    for pattern in _APOSTROPHES:
        at = np.flatnonzero(data == pattern[0])
        for k, byte in enumerate(pattern[1:], start=1):
            at = at[at + k < len(data)]
            at = at[data[at + k] == byte]
        width = len(pattern)
        at = at[(at > 0) & (at + width < len(data))]
        at = at[word[at - 1] & word[at + width]]
        if len(at):
            string = np.searchsorted(offsets, at, side="right") - 1
            at = at[(at > offsets[string]) & (at + width < offsets[string + 1])]
        found.extend(at + k for k in range(width))
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def run_starts(flags: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The first byte of every run of True in `flags`, runs cut at string edges (`offsets`)."""
    starts = np.empty_like(flags)
    if len(flags):
        starts[0] = flags[0]
        np.greater(flags[1:], flags[:-1], out=starts[1:])
        firsts = offsets[:-1][offsets[:-1] < offsets[1:]]
        starts[firsts] = flags[firsts]
    return np.flatnonzero(starts)


def _run_edges(flags: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first byte, byte past the last) of every run of True in `flags`, runs cut at string edges."""
    ends = np.empty_like(flags)
    if len(flags):
        ends[-1] = flags[-1]
        np.greater(flags[:-1], flags[1:], out=ends[:-1])
        lasts = offsets[1:][offsets[:-1] < offsets[1:]] - 1
        ends[lasts] = flags[lasts]
    return run_starts(flags, offsets), np.flatnonzero(ends) + 1


def word_tokens(strings: pa.Array, chars: ByteClasses | None = None) -> pa.LargeListArray:
    """Every string's tokens of the pattern `\\w+(?:['’]\\w+)*` (runs of word characters joined by single
    inner apostrophes), as a list per string (null strings give null lists): the same lists as that
    regex's `extract_all`, from one classification of the bytes instead of a match per token
    (`chars`: the strings' `byte_classes` when already computed)."""
    if chars is None:
        chars = byte_classes(strings)
    offsets = chars.offsets
    token = chars.classes == WORD
    token[_joining_apostrophes(chars, token)] = True  # positions found before any is set
    starts, ends = _run_edges(token, offsets)
    token_bytes = pl.Series(chars.data, dtype=pl.UInt8).filter(pl.Series(token)).to_numpy()
    string_offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=string_offsets[1:])
    list_offsets = np.searchsorted(starts, offsets)
    values = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(string_offsets), pa.py_buffer(token_bytes))
    mask = strings.is_null() if strings.null_count else None
    return pa.LargeListArray.from_arrays(pa.array(list_offsets, pa.int64()), values, mask=mask)
