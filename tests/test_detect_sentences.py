"""Sentence lengths from character classes equal the regex definition (a match of SENTENCE_PATTERN, its
`\\w+` runs counted, sentences without a word dropped) on real text, normalised or raw, and on generated
strings made of the characters that decide sentence ends."""

from __future__ import annotations

import numpy as np
import polars as pl

from synthscope.char_classes import OTHER, SENTENCE_END, SPACE, WORD, byte_classes
from synthscope.detect.sentences import SENTENCE_PATTERN, sentence_length_stats, sentence_lengths
from synthscope.text import prepare
from tests.conftest import SAMPLE_DATA


def regex_lengths(texts: pl.Series) -> list[list[int]]:
    """The definition: polars' regex engine, one match per sentence, then one per word."""
    lists = texts.str.extract_all(SENTENCE_PATTERN).list.eval(pl.element().str.count_matches(r"\w+"))
    lists = lists.list.eval(pl.element().filter(pl.element() > 0))
    return [list(v) if v is not None else [] for v in lists.to_list()]


def class_lengths(texts: pl.Series) -> list[list[int]]:
    lengths, doc = sentence_lengths(texts.to_arrow())
    out: list[list[int]] = [[] for _ in range(texts.len())]
    for value, d in zip(lengths.tolist(), doc.tolist()):
        out[d].append(value)
    return out


EDGE = [
    "", "ok", ".", "!", "...", ". . .", "a.", "a..", "a...", "a.. b", "a... b", "a.b c", "a .b", "!a", "? a",
    "wait.. what", "wait... what", "no!!! yes?? maybe?! fine.", "e.g. this, i.e. that.", "3.14 is pi. ok",
    "end.\u00a0next", "end.\u2003next", "end.\tnext", "end.\nnext", "end.\u201cquoted\u201d next", "end.\u00e9t\u00e9 x",
    "caf\u00e9 na\u00efve. \u00fcber alles!", "\u4f60\u597d\u3002\u4e16\u754c. ok", "don't stop. it's fine", "_ __ _x. y_",
    "\u0661\u0662\u0663. \u0664", "a\u0301b. c", "   leading. trailing   ", "...start", "mid...dle. end",
]


def generated(count: int, seed: int) -> list[str]:
    """Random strings over the characters that matter: sentence ends, spaces of several kinds, word
    characters (ASCII and not), other punctuation."""
    alphabet = list("..!!??   ab1_,;-'\"\u00e9\u00df\u4e2d\u0301\u00a0\t\n\u2014\u201c")
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(alphabet, size=rng.integers(0, 40))) for _ in range(count)]


def test_byte_classes_are_the_regex_engines() -> None:
    texts = pl.Series(["a\u00e9\u4e2d _1", ".!?,\u00a0\u2003\t\u201c\u0301"])
    chars = byte_classes(texts.to_arrow())
    by_char = [int(chars.classes[chars.offsets[0] + len("a\u00e9\u4e2d _1"[:i].encode())]) for i in range(6)]
    assert by_char == [WORD, WORD, WORD, SPACE, WORD, WORD]
    second = "._!?,\u00a0\u2003\t\u201c\u0301".replace("_", "")
    start = int(chars.offsets[1])
    got = [int(chars.classes[start + len(second[:i].encode())]) for i in range(len(second))]
    # U+0301 (a combining mark) is a word character for the regex engine's \w
    assert got == [SENTENCE_END, SENTENCE_END, SENTENCE_END, OTHER, SPACE, SPACE, SPACE, OTHER, WORD]


def test_sentence_lengths_equal_the_regex_on_edge_cases_and_generated_text() -> None:
    for texts in (EDGE, generated(3000, 1), generated(3000, 2)):
        series = pl.Series(texts, dtype=pl.String)
        assert class_lengths(series) == regex_lengths(series)


def test_sentence_lengths_equal_the_regex_on_real_text(dev_frame: pl.DataFrame) -> None:
    web = pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet")["text"]
    for texts in (dev_frame["text"], web):
        for series in (texts, prepare(pl.DataFrame({"text": texts}))["norm"]):  # raw and normalised
            assert class_lengths(series) == regex_lengths(series)


def test_null_texts_have_no_sentences_and_the_statistics_follow_the_lists() -> None:
    series = pl.Series(["One two. Three four five.", None, "Alone here", "", "a. b c. d e f."], dtype=pl.String)
    assert class_lengths(series) == [[2, 3], [], [2], [], [1, 2, 3]]
    mean, variation = sentence_length_stats(series.to_arrow())
    assert np.isnan(mean[1]) and np.isnan(mean[3]) and np.isnan(variation[2])
    assert mean[0] == 2.5 and mean[2] == 2.0 and mean[4] == 2.0
    assert abs(variation[4] - 0.5) < 1e-15 and abs(variation[0] - np.std([2, 3], ddof=1) / 2.5) < 1e-15
