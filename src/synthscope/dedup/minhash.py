"""MinHash signatures of whole batches with numpy broadcasts and `minimum.reduceat`.

Bit-identical to `datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash, scheme=...)` after
`update_batch(shingles)`: the same permutations drawn from `np.random.RandomState(seed)`, the same
arithmetic. Two schemes are supported: "affine32" (datasketch >= 2.0's default: MurmurHash3 32-bit
pre-mix, then `a * h + b mod 2^32`) and "legacy" (datasketch 1.x: `(a * h + b) mod (2^61 - 1)`
truncated to 32 bits). Signatures are returned as uint32 arrays (every value fits 32 bits).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import polars as pl

from synthscope.dedup.hashing import DEFAULT_NGRAM, batch_shingle_hashes, fmix64
from synthscope.text import normalize_expr, tokenize_series

SCHEMES = ("affine32", "legacy")
DEFAULT_SCHEME = "affine32"
DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1
EMPTY_VALUE = np.uint32(0xFFFFFFFF)  # datasketch's "no value yet" (max hash), kept for empty documents
_MERSENNE = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)
_CHUNK_SHINGLES = 1 << 15  # shingles per chunk: a uint32 pass over it stays in L2 cache


@lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int, scheme: str = DEFAULT_SCHEME) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) permutation parameters datasketch draws for `num_perm`, `seed` and `scheme`."""
    _check(num_perm, scheme)
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        pairs = np.array(
            [(gen.randint(1, _MERSENNE, dtype=np.uint64), gen.randint(0, _MERSENNE, dtype=np.uint64)) for _ in range(num_perm)],
            dtype=np.uint64,
        ).T
        return pairs[0].copy(), pairs[1].copy()
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser on a uint32 array (datasketch's affine pre-mix)."""
    v = values ^ (values >> np.uint32(16))
    v *= np.uint32(0x85EBCA6B)
    v ^= v >> np.uint32(13)
    v *= np.uint32(0xC2B2AE35)
    v ^= v >> np.uint32(16)
    return v


def signatures_from_hashes(
    hashes: np.ndarray, per_doc: np.ndarray, num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED, scheme: str = DEFAULT_SCHEME
) -> np.ndarray:
    """Signatures (docs x num_perm, uint32) from shingle hashes stored contiguously per document.

    Works on chunks of about `_CHUNK_SHINGLES` shingles (whole documents) so the working set stays
    in cache; inside a chunk every permutation is one broadcast pass over the chunk followed by
    `np.minimum.reduceat` over the documents' contiguous segments.
    """
    a, b = permutations(num_perm, seed, scheme)
    per_doc = np.asarray(per_doc, dtype=np.int64)
    out = np.full((num_perm, len(per_doc)), EMPTY_VALUE, dtype=np.uint32)
    nonempty = np.flatnonzero(per_doc > 0)
    if len(nonempty):
        ends = np.cumsum(per_doc)
        starts = ends - per_doc
        if scheme == "affine32":
            mixed = fmix32(np.asarray(hashes, dtype=np.uint32))
        else:
            mixed = np.asarray(hashes, dtype=np.uint64)
        buffer = np.empty(min(_CHUNK_SHINGLES, len(mixed)), dtype=mixed.dtype)
        ne_ends = ends[nonempty]
        lo = 0
        while lo < len(nonempty):
            first = starts[nonempty[lo]]
            hi = max(int(np.searchsorted(ne_ends, first + _CHUNK_SHINGLES, side="right")), lo + 1)
            docs = nonempty[lo:hi]
            seg = mixed[first : ends[docs[-1]]]
            if len(seg) > len(buffer):
                buffer = np.empty(len(seg), dtype=mixed.dtype)
            out[:, docs] = _min_permuted(seg, starts[docs] - first, a, b, scheme, buffer[: len(seg)])
            lo = hi
    return np.ascontiguousarray(out.T)


def _min_permuted(
    seg: np.ndarray, doc_starts: np.ndarray, a: np.ndarray, b: np.ndarray, scheme: str, buf: np.ndarray
) -> np.ndarray:
    """Row k: the per-document minimum of permutation k over the hashes in `seg` (num_perm x docs)."""
    block = np.empty((len(a), len(doc_starts)), dtype=np.uint32)
    with np.errstate(over="ignore"):
        for k in range(len(a)):
            np.multiply(seg, a[k], out=buf)
            np.add(buf, b[k], out=buf)
            if scheme == "legacy":
                np.remainder(buf, _MERSENNE, out=buf)
                np.bitwise_and(buf, _MAX_HASH, out=buf)
            block[k] = np.minimum.reduceat(buf, doc_starts)
    return block


def minhash_signatures(
    texts: Sequence[str],
    num_perm: int = DEFAULT_NUM_PERM,
    ngram: int = DEFAULT_NGRAM,
    seed: int = DEFAULT_SEED,
    scheme: str = DEFAULT_SCHEME,
) -> np.ndarray:
    """MinHash signatures of raw texts: a (len(texts), num_perm) uint32 array.

    Row i equals the hash values of datasketch's `MinHash(num_perm, seed, hashfunc=shingle_hash,
    scheme=scheme)` after `update_batch(shingles(texts[i], ngram))`.
    """
    _check(num_perm, scheme)
    frame = pl.DataFrame({"text": list(texts)}, schema={"text": pl.String})
    tokens, _ = tokenize_series(frame.select(normalize_expr(pl.col("text")))["text"])
    hashes, per_doc = batch_shingle_hashes(tokens.to_arrow(), ngram)
    return signatures_from_hashes(hashes, per_doc, num_perm, seed, scheme)


def to_datasketch(row: np.ndarray, seed: int = DEFAULT_SEED, scheme: str = DEFAULT_SCHEME):  # noqa: ANN201 - datasketch type
    """One signature row as a `datasketch.LeanMinHash` (query it with datasketch's MinHashLSH)."""
    from datasketch import LeanMinHash

    dtype = np.uint32 if scheme == "affine32" else np.uint64
    return LeanMinHash(seed=seed, hashvalues=np.asarray(row).astype(dtype), scheme=scheme)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """A 64-bit key per (document, band): docs x bands uint64, equal iff the band's rows agree (whp)."""
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"bands x rows = {bands * rows} exceeds num_perm = {signatures.shape[1]}")
    sig = signatures.astype(np.uint64)
    keys = np.empty((signatures.shape[0], bands), dtype=np.uint64)
    mult = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        for band in range(bands):
            acc = np.full(signatures.shape[0], np.uint64(band + 1), dtype=np.uint64)
            for col in range(band * rows, (band + 1) * rows):
                acc = acc * mult + sig[:, col]
            keys[:, band] = fmix64(acc)
    return keys


def _check(num_perm: int, scheme: str) -> None:
    if num_perm < 1:
        raise ValueError(f"num_perm must be positive, got {num_perm}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
