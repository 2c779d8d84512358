"""Normalisation and tokenisation shared by every analyzer (polars string expressions).

One definition of a token for the whole tool: a run of word characters, with inner apostrophes
kept ("don't", "o'clock"), taken from the NFKC-normalised, lower-cased text.
"""

from __future__ import annotations

import polars as pl

TOKEN_PATTERN = r"\w+(?:['’]\w+)*"
NORM = "norm"
TOKENS = "tokens"
N_TOKENS = "n_tokens"


def normalize_expr(expr: pl.Expr) -> pl.Expr:
    """NFKC, lower case, curly apostrophes made straight, white space collapsed and stripped."""
    return (
        expr.str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all("’", "'", literal=True)
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def tokens_expr(normalized: pl.Expr) -> pl.Expr:
    """Tokens of already-normalised text."""
    return normalized.str.extract_all(TOKEN_PATTERN)


def prepare(frame: pl.DataFrame, text_column: str = "text") -> pl.DataFrame:
    """Add `norm` (normalised text), `tokens` (list of str) and `n_tokens` to a batch."""
    return frame.with_columns(normalize_expr(pl.col(text_column)).alias(NORM)).with_columns(
        tokens_expr(pl.col(NORM)).alias(TOKENS)
    ).with_columns(pl.col(TOKENS).list.len().cast(pl.Int64).alias(N_TOKENS))


def normalize(text: str) -> str:
    """Normalise one text exactly as batches are normalised."""
    return str(pl.select(normalize_expr(pl.lit(text, dtype=pl.String))).item())


def tokenize(text: str) -> list[str]:
    """Tokens of one raw text exactly as batches tokenise it (normalised first)."""
    out = pl.select(tokens_expr(normalize_expr(pl.lit(text, dtype=pl.String)))).item()
    return list(out) if out is not None else []
