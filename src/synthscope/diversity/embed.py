"""Document embedders for embedding spread.

- `hashed` (default, no download): signed feature hashing of word unigrams, word bigrams and the
  character 3-grams of every word into 2**14 buckets, sub-linear term weights (1 + log tf), then a
  fixed random Gaussian projection (seeded) to 256 dimensions.
- `model2vec:PATH`: a static embedding model (model2vec) loaded from a local folder only
  (optional extra `synthscope[model2vec]`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import xxhash

from synthscope.diversity.ngrams import positions, token_stream
from synthscope.errors import InputError, UsageError

HASH_BUCKETS = 2**14
HASH_DIM = 256
CHAR_N = 3
CHAR_WEIGHT = 0.5
_MIX = np.uint64(0x9E3779B97F4A7C15)


class Embedder(Protocol):
    """Turns tokenised documents into vectors (one row per document)."""

    name: str

    def embed(self, docs: Sequence[Sequence[str]]) -> np.ndarray: ...


@functools.lru_cache(maxsize=4)
def projection(seed: int, buckets: int = HASH_BUCKETS, dim: int = HASH_DIM) -> np.ndarray:
    """The fixed random projection of the hashed embedder (float32, buckets x dim)."""
    return np.random.default_rng(seed).standard_normal((buckets, dim), dtype=np.float32)


def _hash_strings(values: Sequence[str], seed: int) -> np.ndarray:
    return np.fromiter((xxhash.xxh64_intdigest(v.encode("utf-8"), seed) for v in values), dtype=np.uint64, count=len(values))


def _bucket_sign(hashes: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    bucket = (hashes % np.uint64(buckets)).astype(np.int64)
    sign = np.where((hashes >> np.uint64(63)) == 1, -1.0, 1.0).astype(np.float32)
    return bucket, sign


def accumulate_rows(out: np.ndarray, target: np.ndarray, weight: np.ndarray, source: np.ndarray, rows: np.ndarray, chunk: int = 8192) -> None:
    """out[target[i]] += weight[i] * source[rows[i]] for all i, in bounded chunks."""
    order = np.argsort(target, kind="stable")
    target, weight, rows = target[order], weight[order], rows[order]
    for a in range(0, target.size, chunk):
        t = target[a : a + chunk]
        contrib = source[rows[a : a + chunk]] * weight[a : a + chunk, None]
        starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
        out[t[starts]] += np.add.reduceat(contrib, starts, axis=0)


class HashedEmbedder:
    """Hashed word/char n-gram features with a seeded random projection; needs no model files."""

    def __init__(self, seed: int = 1, buckets: int = HASH_BUCKETS, dim: int = HASH_DIM) -> None:
        self.seed = seed
        self.buckets = buckets
        self.dim = dim
        self.name = f"hashed(words+bigrams+char{CHAR_N}, buckets={buckets}, dim={dim}, seed={seed})"

    def _type_vectors(self, vocab: np.ndarray, word_hash: np.ndarray, proj: np.ndarray) -> np.ndarray:
        """One vector per word type: its own feature plus the mean of its character 3-grams."""
        bucket, sign = _bucket_sign(word_hash, self.buckets)
        vectors = proj[bucket] * sign[:, None]
        owner: list[int] = []
        grams: list[str] = []
        for i, word in enumerate(vocab.tolist()):
            padded = f"<{word}>"
            for j in range(len(padded) - CHAR_N + 1):
                owner.append(i)
                grams.append(padded[j : j + CHAR_N])
        if grams:
            unique, inverse = np.unique(np.array(grams, dtype=object), return_inverse=True)
            g_bucket, g_sign = _bucket_sign(_hash_strings(unique.tolist(), self.seed + 1), self.buckets)
            owner_arr = np.array(owner, dtype=np.int64)
            per_type = np.bincount(owner_arr, minlength=len(vocab)).astype(np.float32)
            weight = (CHAR_WEIGHT * g_sign[inverse.ravel()] / per_type[owner_arr]).astype(np.float32)
            accumulate_rows(vectors, owner_arr, weight, proj, g_bucket[inverse.ravel()])
        return vectors

    def embed(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """One row per document (unnormalised; a document without tokens gets a zero row)."""
        stream = token_stream(docs)
        out = np.zeros((stream.n_docs, self.dim), dtype=np.float32)
        if stream.n_tokens == 0:
            return out
        proj = projection(self.seed, self.buckets, self.dim)
        word_hash = _hash_strings(stream.vocab.tolist(), self.seed)
        types = self._type_vectors(stream.vocab, word_hash, proj)
        # word unigrams: weight 1 + log(tf) per (document, type)
        n_types = stream.vocab.size
        cells, tf = np.unique(stream.doc * n_types + stream.ids, return_counts=True)
        weight = (1 + np.log(tf)).astype(np.float32)
        accumulate_rows(out, cells // n_types, weight, types, cells % n_types)
        # word bigrams inside a document, hashed from the two word hashes
        idx = np.flatnonzero(positions(stream) >= 1)
        if idx.size:
            with np.errstate(over="ignore"):
                key = word_hash[stream.ids[idx - 1]] * _MIX + word_hash[stream.ids[idx]]
                key ^= key >> np.uint64(29)
                key *= _MIX
            pair_doc = stream.doc[idx]
            order = np.lexsort((key, pair_doc))
            k, d = key[order], pair_doc[order]
            first = np.r_[True, (k[1:] != k[:-1]) | (d[1:] != d[:-1])]
            starts = np.flatnonzero(first)
            counts = np.diff(np.r_[starts, k.size])
            b_bucket, b_sign = _bucket_sign(k[starts], self.buckets)
            weight2 = ((1 + np.log(counts)) * b_sign).astype(np.float32)
            accumulate_rows(out, d[starts], weight2, proj, b_bucket)
        return out


class Model2VecEmbedder:
    """A model2vec static embedding model loaded from a local folder (never downloaded)."""

    def __init__(self, path: str) -> None:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise InputError(f"--embedder model2vec:{path}: no such folder (models load from a local folder only)")
        try:
            import model2vec  # noqa: F401
        except ImportError as exc:
            raise UsageError("--embedder model2vec needs the optional extra: pip install 'synthscope[model2vec]'") from exc
        self.path = folder
        self.name = f"model2vec:{path}"
        self._model = None

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            from model2vec import StaticModel

            try:
                self._model = StaticModel.from_pretrained(self.path, force_download=False)
            except Exception as exc:  # noqa: BLE001 - any failure to read the folder is bad input
                raise InputError(f"--embedder model2vec:{self.path}: cannot load the model ({type(exc).__name__}: {exc})") from exc
        return self._model

    def embed(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """One row per document: the model's mean token embedding of the space-joined tokens."""
        model = self._load()
        texts = [" ".join(d) for d in docs]
        return np.asarray(model.encode(texts, use_multiprocessing=False), dtype=np.float32)


def parse_embedder(spec: str, seed: int) -> Embedder:
    """`hashed` or `model2vec:PATH` -> an embedder (raises UsageError/InputError on a bad spec)."""
    if spec == "hashed":
        return HashedEmbedder(seed)
    kind, _, path = spec.partition(":")
    if kind == "model2vec" and path:
        return Model2VecEmbedder(path)
    raise UsageError(f"--embedder {spec!r}: expected 'hashed' or 'model2vec:PATH'")
