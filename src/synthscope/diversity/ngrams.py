"""Exact integer ids for tokens and word n-grams that never cross a document boundary.

Tokens become ids by `np.unique`; an n-gram id is the factorised pair (id of its first n-1 tokens,
id of its last token), so ids are exact (no hash collisions) and every step is a numpy operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class TokenStream:
    """Token ids of consecutive documents: `ids[i]` is token i, `doc[i]` its document index."""

    ids: np.ndarray  # int64, values in [0, vocab)
    doc: np.ndarray  # int64, non-decreasing document index
    vocab: np.ndarray | pa.Array  # the token strings (object array or arrow strings), vocab[ids[i]] is token i
    n_docs: int

    @property
    def n_tokens(self) -> int:
        return int(self.ids.size)

    def doc_lengths(self) -> np.ndarray:
        """Tokens per document (documents without tokens count 0)."""
        return np.bincount(self.doc, minlength=self.n_docs)

    def head_docs(self, k: int) -> TokenStream:
        """The first `k` documents (same vocabulary)."""
        k = min(k, self.n_docs)
        end = int(np.searchsorted(self.doc, k))
        return TokenStream(self.ids[:end], self.doc[:end], self.vocab, k)

    def head_tokens(self, n: int) -> TokenStream:
        """The first `n` tokens, as the documents they fall in (the last one cut)."""
        ids, doc = self.ids[:n], self.doc[:n]
        docs = int(doc[-1]) + 1 if doc.size else 0
        return TokenStream(ids, doc, self.vocab, docs)

    def texts(self) -> list[str]:
        """Every document's tokens joined by single spaces."""
        vocab = self.vocab if isinstance(self.vocab, np.ndarray) else np.asarray(self.vocab.to_pylist(), dtype=object)
        words = vocab[self.ids]
        bounds = np.r_[0, np.cumsum(self.doc_lengths())]
        return [" ".join(words[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def factorize(values: Sequence[str] | pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(ids, distinct values) with ids in order of first occurrence (arrow dictionary encoding)."""
    array = values.to_arrow() if isinstance(values, pl.Series) else pa.array(values, type=pa.large_string())
    encoded = pc.dictionary_encode(array.cast(pa.large_string()))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    ids = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    vocab = np.empty(len(encoded.dictionary), dtype=object)
    vocab[:] = encoded.dictionary.to_pylist()
    return ids, vocab


def token_stream(docs: Sequence[Sequence[str]] | pl.Series) -> TokenStream:
    """Factorise the tokens of `docs` (a polars list-of-strings Series, or lists of strings)."""
    if not isinstance(docs, pl.Series):
        docs = pl.Series("tokens", [list(d) for d in docs], dtype=pl.List(pl.String))
    lengths = docs.list.len().fill_null(0).to_numpy().astype(np.int64)
    ids, vocab = factorize(docs.explode().drop_nulls())
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    return TokenStream(ids, doc, vocab, len(docs))


def positions(stream: TokenStream) -> np.ndarray:
    """Position of every token inside its document (0 for the first token)."""
    if stream.n_tokens == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.cumsum(stream.doc_lengths())[:-1]]
    return np.arange(stream.n_tokens, dtype=np.int64) - starts[stream.doc]


def ngram_ids(stream: TokenStream, max_n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """For n = 1..max_n: (n-gram ids, document index) of every n-gram inside one document.

    The ids of order n are dense in [0, number of distinct n-grams) and exact.
    """
    pos = positions(stream)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    # gram[i] = id of the n-gram ending at token i (only meaningful where pos >= n - 1)
    gram = stream.ids.copy()
    vocab_size = int(stream.ids.max()) + 1 if stream.n_tokens else 1
    out.append((gram, stream.doc))
    for n in range(2, max_n + 1):
        valid = pos >= n - 1
        idx = np.flatnonzero(valid)
        prev_count = int(gram.max()) + 1 if gram.size else 1
        key = gram[idx - 1] * vocab_size + stream.ids[idx]
        if prev_count * vocab_size >= 2**62:  # pragma: no cover - needs ~2 billion tokens
            raise OverflowError("token stream too large for exact n-gram ids")
        new_gram = np.full(stream.n_tokens, -1, dtype=np.int64)
        if idx.size:
            _, inverse = np.unique(key, return_inverse=True)
            new_gram[idx] = inverse.ravel()
        gram = new_gram
        out.append((gram[idx], stream.doc[idx]))
    return out
