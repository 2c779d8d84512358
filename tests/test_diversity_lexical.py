"""Lexical diversity metrics: hand-computed values on small inputs, lexicalrichness on real text."""

from __future__ import annotations

import gzip
import json
import math
import zlib
from pathlib import Path

import numpy as np
import pytest

from synthscope.diversity.lexical import compression_ratio, lexical_metrics, mattr, mtld, tail_mass, type_counts, zipf_exponent
from synthscope.diversity.ngrams import ngram_ids, token_stream
from synthscope.text import tokenize

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_tokens(n_docs: int = 40) -> list[str]:
    """Tokens of the first human documents of the shared data, concatenated."""
    tokens: list[str] = []
    with gzip.open(DATA / "detect_dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["label"] == "human":
                tokens += tokenize(row["text"])
                n_docs -= 1
                if n_docs == 0:
                    break
    return tokens


def ids_of(tokens: list[str]) -> np.ndarray:
    return token_stream([tokens]).ids


def test_small_text_by_hand() -> None:
    m = lexical_metrics(token_stream([["a", "b", "a", "c"]]), window=2, tail_rank=1)
    assert m["ttr"] == pytest.approx(3 / 4)
    assert m["distinct_1"] == pytest.approx(3 / 4)
    assert m["distinct_2"] == pytest.approx(1.0)  # ab, ba, ac
    assert m["distinct_3"] == pytest.approx(1.0)  # aba, bac
    assert m["unigram_entropy"] == pytest.approx(1.5)  # p = 1/2, 1/4, 1/4
    assert m["bigram_entropy"] == pytest.approx(math.log2(3))
    assert m["hapax_share"] == pytest.approx(2 / 3)  # b and c of 3 types
    assert m["tail_mass"] == pytest.approx(2 / 4)  # tokens outside the top-1 type "a"
    assert m["mattr"] == pytest.approx((2 + 2 + 2) / 3 / 2)  # ab, ba, ac all have 2 types
    raw = b"a b a c"
    assert m["compression_ratio"] == pytest.approx(len(raw) / len(zlib.compress(raw, 6)))


def test_ngrams_do_not_cross_documents() -> None:
    stream = token_stream([["a", "b"], ["a", "b"], ["c"]])
    m = lexical_metrics(stream, window=2, tail_rank=1)
    assert m["distinct_2"] == pytest.approx(1 / 2)  # "a b" twice; no "b a" or "b c" across documents
    assert m["distinct_3"] is None  # no document has three tokens
    grams = ngram_ids(stream, 2)
    assert grams[1][0].size == 2 and list(grams[1][1]) == [0, 1]


def test_ngram_ids_are_exact() -> None:
    docs = [["x", "y", "z", "x", "y", "z"], ["y", "z", "x"]]
    trigrams, docs_of = ngram_ids(token_stream(docs), 3)[2]
    text = [tuple(d[i : i + 3]) for d in docs for i in range(len(d) - 2)]
    # same id exactly when same trigram
    for i in range(len(text)):
        for j in range(len(text)):
            assert (trigrams[i] == trigrams[j]) == (text[i] == text[j])
    assert list(docs_of) == [0, 0, 0, 0, 1]


def test_mattr_by_hand() -> None:
    assert mattr(ids_of(["a", "a", "b", "b"]), 2) == pytest.approx((1 + 2 + 1) / 3 / 2)
    assert mattr(ids_of(["a", "b", "c"]), 5) == pytest.approx(1.0)  # shorter than the window: TTR


def test_mtld_by_hand() -> None:
    # a a | b b : each pass closes two full factors (TTR 1/2 <= 0.72) -> 4 tokens / 2 factors
    assert mtld(ids_of(["a", "a", "b", "b"])) == pytest.approx(2.0)
    # a b c a : TTR ends at 3/4 > 0.72, partial factor (1 - 0.75) / (1 - 0.72) in both directions
    assert mtld(ids_of(["a", "b", "c", "a"])) == pytest.approx(4 / (0.25 / 0.28))
    # all distinct: one factor, MTLD = length
    assert mtld(ids_of(["a", "b", "c"])) == pytest.approx(3.0)


def test_zipf_and_tail_by_hand() -> None:
    counts = np.array([12, 6, 4, 1, 1])  # f = 12 / r for ranks 1..3, hapaxes ignored by the fit
    assert zipf_exponent(counts) == pytest.approx(1.0)
    assert zipf_exponent(np.array([5, 1, 1])) is None
    assert tail_mass(counts, 2) == pytest.approx(6 / 24)


def test_compression_joins_documents_by_newline() -> None:
    stream = token_stream([["a", "b"], ["c"]])
    raw = b"a b\nc"
    assert compression_ratio(stream) == pytest.approx(len(raw) / len(zlib.compress(raw, 6)))


def test_type_counts() -> None:
    assert sorted(type_counts(ids_of(["a", "b", "a"])).tolist()) == [1, 2]


@pytest.mark.parametrize("window", [25, 50, 100])
def test_mattr_matches_lexicalrichness(window: int) -> None:
    lr = pytest.importorskip("lexicalrichness")
    tokens = real_tokens()
    ref = lr.LexicalRichness(tokens, preprocessor=None, tokenizer=None)
    assert mattr(ids_of(tokens), window) == pytest.approx(ref.mattr(window_size=window), rel=1e-12)


@pytest.mark.parametrize("threshold", [0.72, 0.66, 0.8])
def test_mtld_matches_lexicalrichness(threshold: float) -> None:
    lr = pytest.importorskip("lexicalrichness")
    tokens = real_tokens()
    ref = lr.LexicalRichness(tokens, preprocessor=None, tokenizer=None)
    assert mtld(ids_of(tokens), threshold) == pytest.approx(ref.mtld(threshold=threshold), rel=1e-12)
    short = tokens[:37]
    ref_short = lr.LexicalRichness(short, preprocessor=None, tokenizer=None)
    assert mtld(ids_of(short), threshold) == pytest.approx(ref_short.mtld(threshold=threshold), rel=1e-12)


def test_repetition_lowers_every_lexical_metric() -> None:
    """Real text against the same budget made of its first fifth repeated five times."""
    tokens = real_tokens()[:5000]
    repeated = tokens[:1000] * 5
    real = lexical_metrics(token_stream([tokens]), tail_rank=50)
    loop = lexical_metrics(token_stream([repeated]), tail_rank=50)
    for key in ("ttr", "distinct_2", "distinct_3", "unigram_entropy", "bigram_entropy", "hapax_share", "tail_mass"):
        assert loop[key] < real[key], key
    assert loop["compression_ratio"] > real["compression_ratio"]


def test_stream_heads() -> None:
    stream = token_stream([["a", "b", "c"], ["d"], ["e", "f"]])
    head = stream.head_tokens(4)
    assert head.n_docs == 2 and list(head.vocab[head.ids]) == ["a", "b", "c", "d"]
    cut = stream.head_tokens(2)
    assert cut.n_docs == 1 and cut.texts() == ["a b"]
    docs = stream.head_docs(2)
    assert docs.n_docs == 2 and docs.texts() == ["a b c", "d"]
    assert stream.head_docs(10).n_docs == 3
