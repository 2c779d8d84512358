"""Our MinHash signatures are bit-identical to datasketch's for the same shingles, seed and num_perm."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from datasketch import MinHash, MinHashLSH
from datasketch.lsh import _optimal_param
from hypothesis import given, settings
from hypothesis import strategies as st

from synthscope.dedup import minhash_signatures, shingle_hash, shingles, to_datasketch
from synthscope.dedup.hashing import batch_shingle_hashes
from synthscope.dedup.minhash import _CHUNK_SHINGLES, EMPTY_VALUE
from synthscope.dedup.params import optimal_bands
from synthscope.text import tokenize

WORDS = ["the", "cat", "sat", "on", "a", "mat", "Über", "naïve", "don't", "it’s", "42", "x", "日本語", "ÉTÉ", "—", "!!"]


def datasketch_row(text: str, num_perm: int, seed: int, ngram: int, scheme: str) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash, scheme=scheme)
    m.update_batch(shingles(text, ngram))
    return m.hashvalues


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.lists(st.sampled_from(WORDS), max_size=30).map(" ".join), min_size=1, max_size=12),
    num_perm=st.sampled_from([2, 16, 64, 128, 200]),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
    ngram=st.integers(min_value=1, max_value=7),
    scheme=st.sampled_from(["affine32", "legacy"]),
)
def test_signatures_equal_datasketch(texts: list[str], num_perm: int, seed: int, ngram: int, scheme: str) -> None:
    ours = minhash_signatures(texts, num_perm=num_perm, ngram=ngram, seed=seed, scheme=scheme)
    assert ours.shape == (len(texts), num_perm)
    for text, row in zip(texts, ours):
        assert np.array_equal(row, datasketch_row(text, num_perm, seed, ngram, scheme))


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (256, 7), (64, 12345)])
def test_signatures_equal_datasketch_on_real_texts(dev_frame: pl.DataFrame, num_perm: int, seed: int) -> None:
    texts = dev_frame.sample(150, seed=seed)["text"].to_list()
    ours = minhash_signatures(texts, num_perm=num_perm, seed=seed)
    rows = MinHash.bulk([shingles(t) for t in texts], num_perm=num_perm, seed=seed, hashfunc=shingle_hash)
    assert all(np.array_equal(o, m.hashvalues) for o, m in zip(ours, rows))


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_signatures_equal_datasketch_over_many_chunks(dev_frame: pl.DataFrame, scheme: str) -> None:
    """A production batch spans several chunks of `_CHUNK_SHINGLES` shingles: documents on both sides
    of chunk boundaries, one document larger than a chunk, empty documents between them."""
    texts = dev_frame.sample(1000, seed=5)["text"].to_list()
    huge = " ".join(dev_frame.sample(400, seed=6)["text"].to_list())
    texts = texts[:100] + ["", huge, "   "] + texts[100:] + [""]
    counts = [len(shingles(t)) for t in texts]
    assert sum(counts) > 4 * _CHUNK_SHINGLES and max(counts) > _CHUNK_SHINGLES  # the multi-chunk path
    ours = minhash_signatures(texts, num_perm=128, seed=3, scheme=scheme)
    for text, row in zip(texts, ours):
        assert np.array_equal(row, datasketch_row(text, 128, 3, 5, scheme))


def test_shingles_follow_the_shared_tokenizer() -> None:
    text = "The  Cat’s HAT, sat on the mat!"
    tokens = tokenize(text)
    assert shingles(text, 2) == [f"{a} {b}".encode() for a, b in zip(tokens, tokens[1:])]
    assert shingles("just three words", 5) == [b"just three words"]  # shorter than ngram: one shingle
    assert shingles("?!", 5) == []


def test_vectorised_shingle_hashes_equal_shingle_hash(dev_frame: pl.DataFrame) -> None:
    texts = dev_frame.head(40)["text"].to_list() + ["one two", "", "a"]
    tokens = pl.Series([tokenize(t) for t in texts], dtype=pl.List(pl.String))
    hashes, per_doc = batch_shingle_hashes(tokens.to_arrow(), 5)
    expected = [shingle_hash(s) for t in texts for s in shingles(t)]
    assert per_doc.tolist() == [len(shingles(t)) for t in texts]
    assert hashes.tolist() == expected


def test_empty_document_is_the_empty_sketch() -> None:
    row = minhash_signatures(["...", "a real sentence here"], num_perm=32)
    assert (row[0] == EMPTY_VALUE).all()
    assert MinHash(num_perm=32, hashfunc=shingle_hash).hashvalues.tolist() == row[0].tolist()
    assert not (row[1] == EMPTY_VALUE).all()


def test_datasketch_lsh_queries_our_signatures(dev_frame: pl.DataFrame) -> None:
    texts = dev_frame.filter(pl.col("text").str.len_chars() > 1000).head(50)["text"].to_list()
    words = texts[0].split(" ")
    near = " ".join(words[:-3])  # drop the last three words: Jaccard stays high
    sig = minhash_signatures([*texts, near], seed=3)
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    for i, row in enumerate(sig[:-1]):
        lsh.insert(str(i), to_datasketch(row, seed=3))
    assert lsh.query(to_datasketch(sig[-1], seed=3)) == ["0"]
    assert to_datasketch(sig[-1], seed=3).jaccard(to_datasketch(sig[0], seed=3)) > 0.8


@pytest.mark.parametrize(("threshold", "num_perm", "weights"), [(0.8, 128, (0.5, 0.5)), (0.5, 64, (0.3, 0.7)), (0.9, 256, (0.5, 0.5)), (0.8, 128, (0.05, 0.95))])
def test_band_parameters_match_datasketch(threshold: float, num_perm: int, weights: tuple[float, float]) -> None:
    assert optimal_bands(threshold, num_perm, *weights) == _optimal_param(threshold, num_perm, *weights)


def test_default_banding_favours_recall() -> None:
    bands, rows = optimal_bands(0.8, 128)
    assert 1 - (1 - 0.85**rows) ** bands > 0.99  # a pair at threshold + 0.05 nearly always becomes a candidate
