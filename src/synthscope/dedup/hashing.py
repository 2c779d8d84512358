"""Word n-gram shingles and their 32-bit hashes, vectorised over a batch of token lists.

A shingle is `ngram` consecutive tokens (from `synthscope.text.tokenize`: words, or characters for
documents in scripts written without spaces, such as Chinese) joined by one space and encoded as UTF-8. A document with fewer than `ngram` tokens (but at least one) is one shingle of
all its tokens; a document without tokens has no shingles (its MinHash is the empty sketch, as in
datasketch when nothing is added).

The hash of a shingle combines the 64-bit xxh3 hashes of its tokens with a polynomial over
2^64, finished by the MurmurHash3 64-bit finaliser, and keeps the high 32 bits. Each distinct
token of a batch is hashed once; shingle hashes are then pure numpy arithmetic. `shingle_hash`
computes exactly the same value from a shingle's bytes, so it can serve as datasketch's `hashfunc`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from synthscope.hashes import xxh3_64_strings
from synthscope.text import segment_starts, tokenize

DEFAULT_NGRAM = 5
_MASK64 = (1 << 64) - 1
_MULT = 0x9E3779B97F4A7C15  # odd 64-bit multiplier of the token polynomial
_FMIX_1 = 0xFF51AFD7ED558CCD
_FMIX_2 = 0xC4CEB9FE1A85EC53
_U64 = np.uint64


def shingles(text: str, ngram: int = DEFAULT_NGRAM) -> list[bytes]:
    """The token n-gram shingles of one raw text (normalised and tokenised as batches are)."""
    _check_ngram(ngram)
    tokens = tokenize(text)
    if not tokens:
        return []
    if len(tokens) < ngram:
        return [" ".join(tokens).encode("utf-8")]
    return [" ".join(tokens[i : i + ngram]).encode("utf-8") for i in range(len(tokens) - ngram + 1)]


def shingle_hash(b: bytes) -> int:
    """The 32-bit hash of one shingle's bytes (tokens joined by single spaces)."""
    acc = 0
    for token in b.split(b" "):
        acc = (acc * _MULT + xxhash.xxh3_64_intdigest(token)) & _MASK64
    acc ^= acc >> 33
    acc = (acc * _FMIX_1) & _MASK64
    acc ^= acc >> 33
    acc = (acc * _FMIX_2) & _MASK64
    acc ^= acc >> 33
    return acc >> 32


def fmix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser on a uint64 array (wrapping arithmetic)."""
    v = values ^ (values >> _U64(33))
    v *= _U64(_FMIX_1)
    v ^= v >> _U64(33)
    v *= _U64(_FMIX_2)
    v ^= v >> _U64(33)
    return v


def token_hashes(tokens: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """xxh3-64 of every token of a list<string> column, each distinct token hashed once.

    Returns (flat uint64 token hashes, int64 token counts per document).
    """
    if isinstance(tokens, pa.ChunkedArray):
        tokens = tokens.combine_chunks() if tokens.num_chunks != 1 else tokens.chunk(0)
    counts = pc.fill_null(pc.list_value_length(tokens), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(tokens)
    if len(flat) == 0:
        return np.zeros(0, dtype=np.uint64), counts
    encoded = pc.dictionary_encode(flat)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return xxh3_64_strings(encoded.dictionary)[encoded.indices.to_numpy(zero_copy_only=False)], counts


def shingle_hashes(token_hash: np.ndarray, counts: np.ndarray, ngram: int = DEFAULT_NGRAM) -> tuple[np.ndarray, np.ndarray]:
    """32-bit shingle hashes of a batch, contiguous per document.

    `token_hash` holds the documents' token hashes back to back, `counts` the tokens per
    document. Returns (uint32 hashes, int64 shingles per document).
    """
    _check_ngram(ngram)
    counts = np.asarray(counts, dtype=np.int64)
    n_docs = len(counts)
    starts = segment_starts(counts)
    per_doc = np.where(counts >= ngram, counts - ngram + 1, np.minimum(counts, 1))
    offsets = np.zeros(n_docs, dtype=np.int64)
    np.cumsum(per_doc[:-1], out=offsets[1:])
    out = np.empty(int(per_doc.sum()), dtype=np.uint64)
    mult = _U64(_MULT)
    short = np.flatnonzero((counts > 0) & (counts < ngram))
    with np.errstate(over="ignore"):
        # Documents with at least `ngram` tokens: a rolling polynomial over the flat token array,
        # keeping the windows that end inside their document.
        total = len(token_hash)
        if total >= ngram:
            width = total - ngram + 1
            acc = token_hash[:width].copy()
            for j in range(1, ngram):
                acc *= mult
                acc += token_hash[j : j + width]
            doc_end = np.repeat(starts + counts, counts)[:width]
            windows = acc[np.arange(ngram, width + ngram, dtype=np.int64) <= doc_end]
            if len(short):
                long_slots = np.ones(len(out), dtype=bool)
                long_slots[offsets[short]] = False
                out[long_slots] = windows
            else:
                out[:] = windows
        # Documents with 1..ngram-1 tokens: one shingle of all their tokens.
        if len(short):
            acc_s = np.zeros(len(short), dtype=np.uint64)
            for j in range(ngram - 1):
                has = counts[short] > j
                acc_s[has] = acc_s[has] * mult + token_hash[starts[short[has]] + j]
            out[offsets[short]] = acc_s
        hashes = (fmix64(out) >> _U64(32)).astype(np.uint32)
    return hashes, per_doc


def batch_shingle_hashes(tokens: pa.ChunkedArray | pa.Array, ngram: int = DEFAULT_NGRAM) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of a list<string> token column: (uint32 hashes, shingles per document)."""
    flat, counts = token_hashes(tokens)
    return shingle_hashes(flat, counts, ngram)


def _check_ngram(ngram: int) -> None:
    if ngram < 1:
        raise ValueError(f"ngram must be at least 1, got {ngram}")
