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
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl
import pyarrow as pa

from synthscope.diversity.ngrams import TokenStream, factorize, positions
from synthscope.diversity.type_cache import TypeCache, as_large_strings
from synthscope.errors import InputError, UsageError
from synthscope.hashes import xxh64_strings

HASH_BUCKETS = 2**14
HASH_DIM = 256
CHAR_N = 3
CHAR_WEIGHT = 0.5
SIF_A = 1e-3
_MIX = np.uint64(0x9E3779B97F4A7C15)
MAX_PROJECTED_TYPES = 1 << 18  # word types of one embed call projected at once (256 MiB of float32 vectors)
MAX_CACHED_TYPES = 1 << 16  # word types whose projection a process keeps across embed calls (64 MiB at dim 256)


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
def projection(seed: int, buckets: int = HASH_BUCKETS, dim: int = HASH_DIM) -> np.ndarray:
    """The fixed random projection of the hashed embedder (float32, buckets x dim)."""
    return np.random.default_rng(seed).standard_normal((buckets, dim), dtype=np.float32)


def _bucket_sign(hashes: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """The bucket (hash modulo `buckets`) and sign (-1 where the top bit is set) of every hash."""
    if buckets & (buckets - 1) == 0:  # a power of two: the low bits, without a division
        bucket = (hashes & np.uint64(buckets - 1)).astype(np.int64)
    else:
        bucket = (hashes % np.uint64(buckets)).astype(np.int64)
    sign = np.float32(1) - np.float32(2) * (hashes >> np.uint64(63)).astype(np.float32)
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

    def _type_weights(self, vocab: pa.Array) -> np.ndarray:
        """SIF weight a / (a + p(word)) of every type, p from the wordfreq English list (1 if unlisted)."""
        if not self.sif:
            return np.ones(len(vocab))
        freq = word_frequencies()
        p = np.fromiter((freq.get(w, 0.0) for w in vocab.to_pylist()), dtype=np.float64, count=len(vocab))
        return SIF_A / (SIF_A + p)

    def _char_features(self, vocab: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per word type: offsets into flat (bucket, signed weight) arrays of its character 3-grams
        ("<word>" padded), each weighted CHAR_WEIGHT / (number of 3-grams of the type)."""
        padded = pl.Series("padded", vocab, dtype=pl.String)
        words = pl.DataFrame({"padded": padded}).select(("<" + pl.col("padded") + ">").alias("padded"))
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
        bucket, sign = _bucket_sign(xxh64_strings(unique, self.seed + 1), self.buckets)
        owner = np.repeat(np.arange(len(vocab)), counts_np)
        return offsets, bucket[inverse], CHAR_WEIGHT * sign[inverse] / counts_np[owner]

    def _bigrams(self, stream: TokenStream, word_hash: np.ndarray, type_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(document, bucket, value) of every distinct word bigram of every document, documents in order."""
        second = positions(stream)[1:] >= 1  # token i + 1 ends a bigram that token i starts
        if not second.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        # each token's hash and weight gathered once; a bigram's two tokens are then two shifted selections
        token_hash, token_weight = word_hash[stream.ids], type_weight[stream.ids]
        with np.errstate(over="ignore"):
            key = token_hash[:-1][second] * _MIX + token_hash[1:][second]
            key ^= key >> np.uint64(29)
            key *= _MIX
        pair_weight = np.sqrt(token_weight[:-1][second] * token_weight[1:][second])
        doc = stream.doc[1:][second]
        doc_bits = max(1, int(stream.n_docs - 1).bit_length())
        # one sort on (document, top bits of the bigram hash): equal bigrams of a document side by side
        order = np.argsort((doc.astype(np.uint64) << np.uint64(64 - doc_bits)) | (key >> np.uint64(doc_bits)))
        k, d, pw = key[order], doc, pair_weight[order]  # the stream is in document order: so is `doc` already
        starts = np.flatnonzero(np.r_[True, (k[1:] != k[:-1]) | (d[1:] != d[:-1])])
        tf = np.diff(np.r_[starts, k.size])
        bucket, sign = _bucket_sign(k[starts], self.buckets)
        return d[starts], bucket, (1 + np.log(tf)) * sign * pw[starts]

    def _type_rows(self, vocab: pa.Array, w_bucket: np.ndarray, w_sign: np.ndarray) -> Any:
        """Sparse (types x buckets) matrix: each type's word feature and its character 3-grams."""
        import scipy.sparse as sp

        offsets, g_bucket, g_value = self._char_features(vocab)
        per_type = np.diff(offsets) + 1
        indptr = np.r_[0, np.cumsum(per_type)]
        word_at = indptr[:-1]
        is_gram = np.ones(int(indptr[-1]), dtype=bool)
        is_gram[word_at] = False
        indices = np.empty(int(indptr[-1]), dtype=np.int64)
        data = np.empty(int(indptr[-1]), dtype=np.float32)
        indices[word_at], data[word_at] = w_bucket, w_sign
        indices[is_gram], data[is_gram] = g_bucket, g_value
        return sp.csr_matrix((data, indices, indptr), shape=(len(vocab), self.buckets))

    def _type_features(self, vocab: pa.Array) -> tuple[np.ndarray, np.ndarray, Any]:
        """Per word type: its hash, SIF weight and sparse row of word + character features."""
        word_hash = xxh64_strings(vocab, self.seed)
        w_bucket, w_sign = _bucket_sign(word_hash, self.buckets)
        return word_hash, self._type_weights(vocab), self._type_rows(vocab, w_bucket, w_sign)

    def _type_values(self, vocab: pa.Array) -> dict[str, np.ndarray]:
        """Per word type: its hash, SIF weight and projected word + character features (each row
        is computed from the word alone, so `TypeCache` may keep it across calls)."""
        word_hash, weight, rows = self._type_features(vocab)
        vectors = rows @ projection(self.seed, self.buckets, self.dim)
        return {"hash": word_hash, "weight": weight, "vector": np.asarray(vectors)}

    def _types(self) -> TypeCache:
        return _type_cache(self.seed, self.buckets, self.dim, self.sif)

    def embed(self, stream: TokenStream, chunk: int = 2048) -> np.ndarray:
        """One row per document (unnormalised; a document without tokens gets a zero row).

        Linear in the features, so computed as: per word type, the projection of its word and
        character 3-gram features (once per type of a chunk of documents), weighted by the type's
        (1 + log tf) SIF weight in each document, plus the projection of the document's bigrams;
        both as sparse-times-dense products (scipy)."""
        import scipy.sparse as sp

        out = np.zeros((stream.n_docs, self.dim), dtype=np.float32)
        if stream.n_tokens == 0:
            return out
        proj = projection(self.seed, self.buckets, self.dim)
        vocab = as_large_strings(stream.vocab)
        n_types = len(vocab)
        all_types: np.ndarray | None = None
        if n_types <= MAX_PROJECTED_TYPES:
            # every type projected once (or kept from an earlier call: each row is the same product either way)
            type_row, values = self._types().rows(vocab)
            word_hash, type_weight, all_types = values["hash"][type_row], values["weight"][type_row], values["vector"]
        else:
            word_hash, type_weight, type_rows = self._type_features(vocab)
        type_bits = max(1, (n_types - 1).bit_length())  # (document, type) cells packed: sorted by document, then type
        cells, tf = np.unique((stream.doc << type_bits) | stream.ids, return_counts=True)
        pair_doc, pair_type = cells >> type_bits, cells & ((1 << type_bits) - 1)
        weight = ((1 + np.log(tf)) * type_weight[pair_type]).astype(np.float32)
        b_doc, b_bucket, b_value = self._bigrams(stream, word_hash, type_weight)
        for first in range(0, stream.n_docs, chunk):
            rows = min(chunk, stream.n_docs - first)
            a, b = np.searchsorted(pair_doc, [first, first + rows])
            indptr = np.searchsorted(pair_doc[a:b], np.arange(first, first + rows + 1))
            if all_types is not None:
                # each document's types stay in vocabulary order: the same sums in the same order
                type_vectors, columns = all_types, type_row[pair_type[a:b]]
            else:
                local_types, columns = np.unique(pair_type[a:b], return_inverse=True)
                type_vectors = type_rows[local_types] @ proj
            words = sp.csr_matrix((weight[a:b], columns.ravel(), indptr), shape=(rows, type_vectors.shape[0]))
            c, e = np.searchsorted(b_doc, [first, first + rows])
            b_indptr = np.searchsorted(b_doc[c:e], np.arange(first, first + rows + 1))
            bigrams = sp.csr_matrix((b_value[c:e].astype(np.float32), b_bucket[c:e], b_indptr), shape=(rows, self.buckets))
            out[first : first + rows] = np.asarray(words @ type_vectors) + np.asarray(bigrams @ proj)
        return out


@functools.lru_cache(maxsize=4)
def _type_cache(seed: int, buckets: int, dim: int, sif: bool) -> TypeCache:
    """This process's per-type values of the hashed embedder with these settings."""
    return TypeCache(HashedEmbedder(seed, buckets, dim, sif)._type_values, MAX_CACHED_TYPES)


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
