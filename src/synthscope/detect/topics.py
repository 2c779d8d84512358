"""What a document is about, as a small vector: hashed counts of its content words, L2-normalised.

Content words are alphabetic tokens of at least three letters that are not common in English (Zipf
frequency below `MAX_ZIPF` in wordfreq, or not listed): "the", "however", "said" do not count, "insulin",
"warranty", "telescope" do. Each goes to one of `DIM` buckets by a stable hash of its bytes (so a profile fitted
today matches documents read by any later version). Rewriting or generating a text changes its wording
much more than its topic, so the vector says which calibration genre a source resembles whatever wrote it.

Per batch: the tokens' dictionary encoding is the one the batch's other analyzers share (`text.token_codes`), the bucket of each distinct token is computed
once, and the per-document counts are one numpy bincount.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl
import pyarrow as pa

from synthscope.detect import markers
from synthscope.text import token_codes

DIM = 256
MAX_ZIPF = 4.5
HASH_SEED = 2


@lru_cache(maxsize=1)
def _common_words() -> pl.Series:
    """Words at or above MAX_ZIPF in the human reference (a few thousand): not content words."""
    table = markers.word_zipf()
    return table.filter(pl.col("zipf") >= MAX_ZIPF)["word"]


_MIX = np.uint64(0x9E3779B97F4A7C15)
_POWERS = np.cumprod(np.full(256, 1_000_003, dtype=np.uint64), dtype=np.uint64) // np.uint64(1_000_003)


def stable_hash(words: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string from its UTF-8 bytes (polynomial, then mixed), identical across
    versions of every library: buckets chosen at calibration must match any later run."""
    words = words.cast(pa.large_string())
    offsets = np.frombuffer(words.buffers()[1], dtype=np.int64)[words.offset: words.offset + len(words) + 1]
    data = np.frombuffer(words.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]].astype(np.uint64)
    lengths = np.diff(offsets)
    pos = np.arange(len(data), dtype=np.int64) - np.repeat(offsets[:-1] - offsets[0], lengths)
    with np.errstate(over="ignore"):
        terms = (data + np.uint64(1)) * _POWERS[np.minimum(pos, len(_POWERS) - 1)]
        sums = np.zeros(len(words), dtype=np.uint64)
        nonempty = lengths > 0
        sums[nonempty] = np.add.reduceat(terms, (offsets[:-1] - offsets[0])[nonempty])
        h = (sums ^ (sums >> np.uint64(31))) * _MIX
        return h ^ (h >> np.uint64(29))


def _buckets(vocab: pa.Array) -> np.ndarray:
    """Bucket of each distinct token, -1 for tokens that are not content words."""
    words = pl.Series("word", vocab, dtype=pl.String)
    content = (words.str.contains(r"^[a-z]{3,}$") & ~words.is_in(_common_words().implode())).to_numpy()
    bucket = (stable_hash(vocab) % np.uint64(DIM)).astype(np.int64)
    return np.where(content, bucket, -1)


def topic_vectors(batch: pl.DataFrame) -> np.ndarray:
    """(documents, DIM) float32 L2-normalised content-word bucket counts of a prepared batch (zero rows
    for documents without content words). Uses the batch's shared dictionary encoding (`token_codes`)."""
    encoded = token_codes(batch)
    counts = encoded.counts
    out = np.zeros((len(counts), DIM), dtype=np.float32)
    if len(encoded.codes) == 0:
        return out
    bucket = _buckets(encoded.vocab)[encoded.codes]
    doc = encoded.doc_index()
    keep = bucket >= 0
    cells = np.bincount(doc[keep] * DIM + bucket[keep], minlength=len(counts) * DIM)
    out[:] = cells.reshape(len(counts), DIM)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norm, out=out, where=norm > 0)
    return out


def normalised(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    rows = np.asarray(rows, dtype=np.float64)
    norm = np.linalg.norm(rows, axis=-1, keepdims=True)
    return np.divide(rows, norm, out=np.zeros_like(rows), where=norm > 0)
