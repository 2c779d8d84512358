"""Normalisation and the shared dictionary encoding of a batch's tokens."""

from __future__ import annotations

import numpy as np
import polars as pl

from synthscope.text import TOKENS, normalize_expr, prepare, token_codes
from tests.conftest import SAMPLE_DATA

WHITESPACE = ["a  b", "a\tb", "a \t b", "\n\na", " a ", "a\u00a0b", "a\u00a0 b", "a\r\nb", "a\u2028b", "  ", "x\u3000\u3000y", "a b c"]


def test_whitespace_collapses_as_a_plain_run_replacement(dev_frame: pl.DataFrame) -> None:
    """Only runs that need changing are replaced, with the same result as every \\s+ run -> one space."""
    texts = pl.concat([dev_frame["text"], pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet")["text"], pl.Series(WHITESPACE)])
    frame = pl.DataFrame({"text": texts})
    plain = frame.select(
        pl.col("text").str.normalize("NFKC").str.to_lowercase().str.replace_all("’", "'", literal=True)
        .str.replace_all(r"\s+", " ").str.strip_chars()
    )
    assert frame.select(normalize_expr(pl.col("text"))).equals(plain)


def test_token_codes_encode_the_tokens_once_per_batch() -> None:
    batch = prepare(pl.DataFrame({"text": ["The cat and the hat.", "", "cat cat", "Ünïcode café"]}))
    codes = token_codes(batch)
    assert token_codes(batch) is codes  # shared by the analyzers mapping this batch
    vocab = np.asarray(codes.vocab.to_pylist(), dtype=object)
    assert [list(vocab[codes.codes[a : a + n]]) for a, n in zip(codes.starts, codes.counts)] == batch[TOKENS].to_list()
    assert codes.positions().tolist() == [0, 1, 2, 3, 4, 0, 1, 0, 1]
    assert codes.doc_index().tolist() == [0, 0, 0, 0, 0, 2, 2, 3, 3]
    other = prepare(pl.DataFrame({"text": ["dog"]}))
    assert token_codes(other).vocab.to_pylist() == ["dog"]


def test_nfkc_only_where_needed_equals_normalising_everything(dev_frame: pl.DataFrame) -> None:
    from synthscope.text import nfkc, normalize_series

    odd = ["ﬁne ﬂoor", "x²", "Ａｂｃ", "e\u0301", "a\u00a0b", "①", "already fine", "", "Ǆ", "ﬀ"]
    texts = pl.concat([dev_frame["text"], pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet")["text"], pl.Series(odd)])
    assert nfkc(texts).equals(texts.str.normalize("NFKC"))
    assert normalize_series(texts).equals(pl.select(normalize_expr(pl.lit(texts))).to_series())
    # ASCII texts are not checked (always NFKC); nulls stay null, non-ASCII ones between them are still normalised
    mixed = pl.Series(["plain ascii", None, "ﬁne", "", "tab\tand newline\n", "Ａ", None, "x²y"], dtype=pl.String)
    assert nfkc(mixed).to_list() == ["plain ascii", None, "fine", "", "tab\tand newline\n", "A", None, "x2y"]
    assert nfkc(mixed).equals(mixed.str.normalize("NFKC"))
