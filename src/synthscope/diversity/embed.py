"""Document embedders for embedding spread.

- `hashed` (default, no download): signed feature hashing of word unigrams, word bigrams and the
  character 3-grams of every word into 2**14 buckets, sub-linear term weights (1 + log tf) times the
  SIF weight a / (a + p(word)) (a = 1e-3, p from the English list shipped in `wordfreq`, so common
  words do not dominate; a bigram takes the geometric mean of its words' weights), then a fixed random
  Gaussian projection (seeded) to 256 dimensions.
- `model2vec:PATH`: a static embedding model (model2vec) loaded from a local folder only
  (optional extra `synthscope[model2vec]`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl
import xxhash

from synthscope.diversity.ngrams import TokenStream, factorize, positions
from synthscope.errors import InputError, UsageError

HASH_BUCKETS = 2**14
HASH_DIM = 256
CHAR_N = 3
CHAR_WEIGHT = 0.5
SIF_A = 1e-3
_MIX = np.uint64(0x9E3779B97F4A7C15)


class Embedder(Protocol):
    """Turns tokenised documents into vectors (one row per document)."""

    name: str

    def embed(self, stream: TokenStream) -> np.ndarray: ...


@functools.lru_cache(maxsize=1)
def word_frequencies() -> dict[str, float]:
    """English word frequencies shipped in the wordfreq package (never downloaded)."""
    from wordfreq import get_frequency_dict

    return get_frequency_dict("en", wordlist="best")


@functools.lru_cache(maxsize=4)
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


class HashedEmbedder:
    """Hashed word/char n-gram features with a seeded random projection; needs no model files."""

    def __init__(self, seed: int = 1, buckets: int = HASH_BUCKETS, dim: int = HASH_DIM, sif: bool = True) -> None:
        self.seed = seed
        self.sif = sif
        self.buckets = buckets
        self.dim = dim
        weights = ", sif=wordfreq-en" if sif else ""
        self.name = f"hashed(words+bigrams+char{CHAR_N}{weights}, buckets={buckets}, dim={dim}, seed={seed})"

    def _type_weights(self, vocab: np.ndarray) -> np.ndarray:
        """SIF weight a / (a + p(word)) of every type, p from the wordfreq English list (1 if unlisted)."""
        if not self.sif:
            return np.ones(len(vocab))
        freq = word_frequencies()
        p = np.fromiter((freq.get(w, 0.0) for w in vocab.tolist()), dtype=np.float64, count=len(vocab))
        return SIF_A / (SIF_A + p)

    def _char_features(self, vocab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per word type: offsets into flat (bucket, signed weight) arrays of its character 3-grams
        ("<word>" padded), each weighted CHAR_WEIGHT / (number of 3-grams of the type)."""
        words = pl.DataFrame({"padded": pl.Series(vocab.tolist(), dtype=pl.String)}).select(
            ("<" + pl.col("padded") + ">").alias("padded")
        )
        counts = words.select((pl.col("padded").str.len_chars().cast(pl.Int64) - CHAR_N + 1).clip(0))
        counts_np = counts.to_series().to_numpy()
        offsets = np.r_[0, np.cumsum(counts_np)]
        if offsets[-1] == 0:
            return offsets, np.zeros(0, dtype=np.int64), np.zeros(0)
        grams = (
            words.with_columns(pos=pl.int_ranges(0, counts.to_series()))
            .explode("pos")
            .drop_nulls("pos")
            .select(pl.col("padded").str.slice(pl.col("pos"), CHAR_N).alias("gram"))
            .to_series()
        )  # grouped by type, in type order
        inverse, unique = factorize(grams)
        bucket, sign = _bucket_sign(_hash_strings(unique.tolist(), self.seed + 1), self.buckets)
        owner = np.repeat(np.arange(len(vocab)), counts_np)
        return offsets, bucket[inverse], CHAR_WEIGHT * sign[inverse] / counts_np[owner]

    def _features(self, stream: TokenStream) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sparse hashed features of every document as (document, bucket, value) entries."""
        n_types = stream.vocab.size
        word_hash = _hash_strings(stream.vocab.tolist(), self.seed)
        w_bucket, w_sign = _bucket_sign(word_hash, self.buckets)
        # word unigrams: weight 1 + log(tf) per (document, type), plus the type's character 3-grams
        cells, tf = np.unique(stream.doc * n_types + stream.ids, return_counts=True)
        type_weight = self._type_weights(stream.vocab)
        pair_doc, pair_type = cells // n_types, cells % n_types
        weight = (1 + np.log(tf)) * type_weight[pair_type]
        offsets, g_bucket, g_value = self._char_features(stream.vocab)
        reps = offsets[pair_type + 1] - offsets[pair_type]
        pair_idx = np.repeat(np.arange(pair_type.size), reps)
        within = np.arange(pair_idx.size) - np.repeat(np.cumsum(reps) - reps, reps)
        gram_pos = offsets[pair_type][pair_idx] + within
        docs = [pair_doc, pair_doc[pair_idx]]
        buckets = [w_bucket[pair_type], g_bucket[gram_pos]]
        values = [weight * w_sign[pair_type], weight[pair_idx] * g_value[gram_pos]]
        # word bigrams inside a document, hashed from the two word hashes
        idx = np.flatnonzero(positions(stream) >= 1)
        if idx.size:
            with np.errstate(over="ignore"):
                key = word_hash[stream.ids[idx - 1]] * _MIX + word_hash[stream.ids[idx]]
                key ^= key >> np.uint64(29)
                key *= _MIX
            pair_weight = np.sqrt(type_weight[stream.ids[idx - 1]] * type_weight[stream.ids[idx]])
            bigram_doc = stream.doc[idx]
            order = np.lexsort((key, bigram_doc))
            k, d, pw = key[order], bigram_doc[order], pair_weight[order]
            starts = np.flatnonzero(np.r_[True, (k[1:] != k[:-1]) | (d[1:] != d[:-1])])
            tf2 = np.diff(np.r_[starts, k.size])
            b_bucket, b_sign = _bucket_sign(k[starts], self.buckets)
            docs.append(d[starts])
            buckets.append(b_bucket)
            values.append((1 + np.log(tf2)) * b_sign * pw[starts])
        return np.concatenate(docs), np.concatenate(buckets), np.concatenate(values)

    def embed(self, stream: TokenStream, chunk: int = 256) -> np.ndarray:
        """One row per document (unnormalised; a document without tokens gets a zero row)."""
        out = np.zeros((stream.n_docs, self.dim), dtype=np.float32)
        if stream.n_tokens == 0:
            return out
        proj = projection(self.seed, self.buckets, self.dim)
        doc, bucket, value = self._features(stream)
        order = np.argsort(doc, kind="stable")
        doc, bucket, value = doc[order], bucket[order], value[order]
        bounds = np.searchsorted(doc, np.arange(0, stream.n_docs + chunk, chunk))
        for c, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            first = c * chunk
            rows = min(chunk, stream.n_docs - first)
            if rows <= 0:
                break
            dense = np.bincount((doc[a:b] - first) * self.buckets + bucket[a:b], weights=value[a:b], minlength=rows * self.buckets)
            out[first : first + rows] = dense.reshape(rows, self.buckets).astype(np.float32) @ proj
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

    def embed(self, stream: TokenStream) -> np.ndarray:
        """One row per document: the model's embedding of its space-joined tokens."""
        model = self._load()
        texts = stream.texts()
        return np.asarray(model.encode(texts, use_multiprocessing=False), dtype=np.float32)


def parse_embedder(spec: str, seed: int) -> Embedder:
    """`hashed` or `model2vec:PATH` -> an embedder (raises UsageError/InputError on a bad spec)."""
    if spec == "hashed":
        return HashedEmbedder(seed)
    kind, _, path = spec.partition(":")
    if kind == "model2vec" and path:
        return Model2VecEmbedder(path)
    raise UsageError(f"--embedder {spec!r}: expected 'hashed' or 'model2vec:PATH'")
