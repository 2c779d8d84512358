"""Word tokens from character classes (`char_classes.word_tokens`, what `prepare` uses) equal the token
regex's `extract_all` on real text in several scripts, raw and normalised, on edge cases of apostrophes
and string edges, and on generated strings; `token_codes` of a prepared batch is the same encoding as
from the frame's own column."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from synthscope.char_classes import word_tokens
from synthscope.text import TOKEN_PATTERN, TOKENS, filter_prepared, norm_classes, prepare, token_codes, tokenize_series
from tests.conftest import SAMPLE_DATA
from tests.multilingual_text import SENTENCES, documents

EDGE = [
    "", " ", "'", "''", "a'", "'a", "a'b", "a''b", "a'b'c", "a' b", "a 'b", "don't can't", "l\u2019homme d\u2019accord",
    "x\u2019", "\u2019x", "a\u2019'b", "o'clock's", "_a_ 1_2 __", "caf\u00e9 na\u00efve \u00fcber", "a\u0301b c\u0301",
    "tab\there\nnewline", "\u0661\u0662\u0663 \u0664", "end'", "'start", "mixed\u2019 'quotes' \u201chere\u201d",
    "\u4f60\u597d world", "x" * 300, "a-b c.d e,f g'h",
]


def generated(count: int, seed: int) -> list[str]:
    """Random strings over word characters (ASCII and not), both apostrophes, spaces and punctuation."""
    alphabet = list("ab1_''\u2019\u2019  .,-\u00e9\u00df\u0301\u00a0\t\u201c\u4e2d")
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(alphabet, size=rng.integers(0, 30))) for _ in range(count)]


def regex_tokens(texts: pl.Series) -> list:
    return texts.str.extract_all(TOKEN_PATTERN).to_list()


def class_tokens(texts: pl.Series) -> list:
    return pl.Series(word_tokens(texts.to_arrow())).to_list()


def test_word_tokens_equal_the_regex_on_edge_cases_and_generated_strings() -> None:
    for texts in (EDGE, generated(4000, 3), generated(4000, 4)):
        series = pl.Series(texts, dtype=pl.String)
        assert class_tokens(series) == regex_tokens(series)


def test_word_tokens_equal_the_regex_on_real_text_in_several_scripts(dev_frame: pl.DataFrame) -> None:
    web = pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet")["text"]
    other = pl.Series([d for lang in sorted(SENTENCES) for d in documents(lang, 50, seed=5)])
    for texts in (dev_frame["text"], web, other):
        for series in (texts, prepare(pl.DataFrame({"text": texts}))["norm"]):
            assert class_tokens(series) == regex_tokens(series)


def test_null_texts_give_null_token_lists_and_slices_read_their_own_bytes() -> None:
    series = pl.Series(["one two", None, "", "three's four"], dtype=pl.String)
    assert class_tokens(series) == [["one", "two"], None, [], ["three's", "four"]]
    sliced = pa.array(["skip me", "a b", "c'd e"], pa.large_string()).slice(1)
    assert pl.Series(word_tokens(sliced)).to_list() == [["a", "b"], ["c'd", "e"]]


def test_prepare_tokens_and_the_shared_encoding_are_those_of_the_regex() -> None:
    texts = pl.Series(["Don\u2019t stop, Caf\u00e9!", "\u4f60\u597d\u4e16\u754c hello", "", "It's 42."])
    batch = prepare(pl.DataFrame({"text": texts}))
    normalised = batch["norm"]
    tokens, _ = tokenize_series(normalised)
    assert tokens.to_list() == batch[TOKENS].to_list()
    assert batch[TOKENS][0].to_list() == ["don't", "stop", "caf\u00e9"] and batch[TOKENS][3].to_list() == ["it's", "42"]
    words_only = prepare(pl.DataFrame({"text": ["Don\u2019t stop, Caf\u00e9!", "", "It's 42."]}))
    assert words_only[TOKENS].to_list() == regex_tokens(words_only["norm"])
    shared = token_codes(words_only)  # from the lists prepare kept
    rebuilt = token_codes(words_only.clone())  # from the frame's column
    assert np.array_equal(shared.codes, rebuilt.codes) and np.array_equal(shared.counts, rebuilt.counts)
    assert shared.vocab.to_pylist() == rebuilt.vocab.to_pylist()


def test_norm_classes_of_a_prepared_batch_are_those_of_its_normalised_text() -> None:
    batch = prepare(pl.DataFrame({"text": ["Don\u2019t stop. Caf\u00e9!", "", "It's 42... ok"]}))
    kept, fresh = norm_classes(batch), norm_classes(batch.clone())  # prepare's, and computed again
    assert kept is norm_classes(batch) and kept is not fresh
    for name in ("data", "offsets", "classes"):
        assert np.array_equal(getattr(kept, name), getattr(fresh, name)), name


def test_filtered_rows_carry_the_batch_encoding_and_classes_and_score_the_same() -> None:
    """detect scores the rows of a batch in languages its profile covers: the filtered frame reuses the
    batch's token encoding and text classes, and its features equal those of the same rows prepared
    on their own (bit for bit)."""
    from synthscope.detect.features import compute_features

    web = pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet")["text"].head(400)
    batch = prepare(pl.DataFrame({"text": web}))
    keep = np.arange(batch.height) % 3 != 1
    rows = filter_prepared(batch, keep)
    assert rows.height == int(keep.sum())
    codes, fresh = token_codes(rows), token_codes(rows.clone())
    assert np.array_equal(codes.counts, fresh.counts)
    assert codes.vocab.take(pa.array(codes.codes)).to_pylist() == fresh.vocab.take(pa.array(fresh.codes)).to_pylist()
    assert token_codes(batch) is token_codes(batch)  # the whole batch's encoding is still kept
    kept, again = norm_classes(rows), norm_classes(rows.clone())
    for name in ("data", "offsets", "classes"):
        assert np.array_equal(getattr(kept, name), getattr(again, name)), name
    got, want = compute_features(rows), compute_features(prepare(pl.DataFrame({"text": web.filter(pl.Series(keep))})))
    assert got.equals(want)
