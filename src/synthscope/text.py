"""Normalisation and tokenisation shared by every analyzer (polars string expressions).

One definition of a token for the whole tool, chosen per document from its script:
- `words` (the default): a run of word characters, with inner apostrophes kept ("don't", "o'clock"),
  taken from the NFKC-normalised, lower-cased text;
- `characters`, for documents written mostly in a script without spaces between words (Chinese,
  Japanese kana, Thai, Lao, Khmer, Myanmar): every character of those scripts (with its combining
  marks) is a token, and runs of other word characters (Latin words, numbers) stay whole tokens.
  Word n-grams of such tokens are character n-grams, so MinHash shingles and the diversity metrics
  measure what they measure in spaced languages.
A document is `characters` when at least a third of the word characters in the first
`SCRIPT_PREFIX_CHARS` characters of its normalised text are in those scripts. Documents without any
such character are tokenised exactly as before the choice existed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from synthscope.char_classes import ByteClasses, byte_classes, word_tokens

TOKEN_PATTERN = r"\w+(?:['’]\w+)*"
# Every run of white space becomes one space: matching only runs of two or more and single
# non-space white space (tab, newline, no-break space) gives the same text as r"\s+" -> " " and
# leaves the common single spaces alone, which is several times faster.
WHITESPACE_TO_COLLAPSE = r"\s{2,}|[^\S ]"
# Scripts written without spaces between words.
UNSPACED_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
UNSPACED_CHAR = f"[{UNSPACED_SCRIPTS}]"
_SPACED_WORD = f"[\\w--[{UNSPACED_SCRIPTS}]]"
CHARACTER_TOKEN_PATTERN = f"[[{UNSPACED_SCRIPTS}]--\\p{{M}}]\\p{{M}}*|{_SPACED_WORD}+(?:['’]{_SPACED_WORD}+)*"
SCRIPT_PREFIX_CHARS = 200
WORDS = "words"
CHARACTERS = "characters"
TOKENIZATION = "tokenization"
NORM = "norm"
TOKENS = "tokens"
N_TOKENS = "n_tokens"


def normalize_expr(expr: pl.Expr) -> pl.Expr:
    """NFKC, lower case, curly apostrophes made straight, white space collapsed and stripped."""
    return _after_nfkc(expr.str.normalize("NFKC"))


def _after_nfkc(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase().str.replace_all("’", "'", literal=True).str.replace_all(WHITESPACE_TO_COLLAPSE, " ").str.strip_chars()


def nfkc(texts: pl.Series) -> pl.Series:
    """NFKC of every text, normalising only the texts not already in NFKC (most are: checking with
    `unicodedata.is_normalized` is several times cheaper than normalising; ASCII texts, which are
    always in NFKC, are not even checked). Texts that Python's Unicode tables (the interpreter's
    version) call normalised are left as they are."""
    # ASCII text is NFKC: only the others are checked (no Python string made for an ASCII text)
    non_ascii = (texts.str.len_bytes() != texts.str.len_chars()).fill_null(False).arg_true()
    values = texts.gather(non_ascii).to_list()
    changing = [row for row, text in zip(non_ascii.to_list(), values) if not unicodedata.is_normalized("NFKC", text)]
    if not changing:
        return texts
    rows = pl.Series(changing, dtype=pl.UInt32)
    return texts.scatter(rows, texts.gather(rows).str.normalize("NFKC"))


def normalize_series(texts: pl.Series) -> pl.Series:
    """`normalize_expr` of a batch of texts, with the NFKC step of `nfkc`."""
    return pl.select(_after_nfkc(pl.lit(nfkc(texts.cast(pl.String))))).to_series()


def tokens_expr(normalized: pl.Expr) -> pl.Expr:
    """Tokens of already-normalised text."""
    return normalized.str.extract_all(TOKEN_PATTERN)


def character_tokens_expr(normalized: pl.Expr) -> pl.Expr:
    """Tokens of already-normalised text in the `characters` tokenisation."""
    return normalized.str.extract_all(CHARACTER_TOKEN_PATTERN)


def unspaced_documents(normalized: pl.Series) -> pl.Series:
    """Per document: True when it is written mostly in a script without spaces (see module doc).

    Looks only at a bounded prefix; a batch without any such character costs one short scan."""
    prefix = normalized.str.slice(0, SCRIPT_PREFIX_CHARS)
    candidates = prefix.str.contains(UNSPACED_CHAR).fill_null(False)
    if not candidates.any():
        return candidates
    unspaced = prefix.str.count_matches(UNSPACED_CHAR)
    word = prefix.str.count_matches(r"\w")
    return candidates & (3 * unspaced >= word)


def _string_array(texts: pl.Series) -> pa.Array:
    """A string series as one arrow array (chunks combined)."""
    arrow = texts.to_arrow()
    return arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow


def _word_tokens(texts: pl.Series) -> tuple[pl.Series, pa.LargeListArray, ByteClasses]:
    """`texts.str.extract_all(TOKEN_PATTERN)` computed from the texts' character classes (same lists),
    the same lists as arrow, and the classes."""
    arrow = _string_array(texts.cast(pl.String))
    chars = byte_classes(arrow)
    lists = word_tokens(arrow, chars)
    out = pl.from_arrow(lists)
    assert isinstance(out, pl.Series)
    return out.alias(texts.name), lists, chars


@dataclass(frozen=True)
class _Prepared:
    """What `prepare` computed for a batch that analyzers reuse: its tokens as arrow, the character
    classes of its normalised text."""

    frame: pl.DataFrame
    tokens: pa.LargeListArray
    norm_classes: ByteClasses


def _tokenize(normalized: pl.Series) -> tuple[pl.Series, pl.Series, tuple[pa.LargeListArray, ByteClasses] | None]:
    """`tokenize_series`, and (the tokens as arrow, the character classes of `normalized`) when every
    document is in the `words` tokenisation."""
    unspaced = unspaced_documents(normalized)
    if not unspaced.any():
        tokens, lists, chars = _word_tokens(normalized)
        return tokens.alias(TOKENS), pl.Series(TOKENIZATION, [WORDS] * normalized.len(), dtype=pl.String), (lists, chars)
    rows = unspaced.arg_true()
    others = (~unspaced).arg_true()
    parts = pl.concat([
        _word_tokens(normalized.gather(others))[0],
        normalized.gather(rows).str.extract_all(CHARACTER_TOKEN_PATTERN),
    ])
    tokens = parts.gather(pl.concat([others, rows]).arg_sort())
    kind = pl.Series(TOKENIZATION, [WORDS] * normalized.len(), dtype=pl.String).scatter(rows, CHARACTERS)
    return tokens.alias(TOKENS), kind, None


# Every list that keeps what was computed for the last batch (its frame, tokens, encodings, scores) so
# that the analyzers mapping the same batch share it; `forget_batches` empties them all.
_BATCH_CACHES: list[list[Any]] = []


def batch_cache(cache: list[Any]) -> list[Any]:
    """Register a module's per-batch cache (a list) with `forget_batches`; returns it."""
    _BATCH_CACHES.append(cache)
    return cache


def forget_batches() -> None:
    """Drop what the per-batch caches keep of the last batch. Called once every analyzer has mapped a
    batch: otherwise that batch's frame, token lists, encodings and scores stay alive while the next
    batch is read and prepared, and a worker holds two batches at its peak instead of one."""
    for cache in _BATCH_CACHES:
        cache.clear()


_PREPARED: list[_Prepared] = batch_cache([])  # the last batch `prepare` made (held with its frame: an id cannot be reused)


_FILTERED_CLASSES: list[tuple[pl.DataFrame, ByteClasses]] = batch_cache([])  # the last frame `filter_prepared` made


def norm_classes(batch: pl.DataFrame) -> ByteClasses:
    """The character classes of a prepared batch's normalised text (`char_classes.byte_classes`): those
    `prepare` computed for its tokens when `batch` is the frame it returned (or `filter_prepared` took
    rows of), else computed now."""
    for kept in _PREPARED:
        if kept.frame is batch:
            return kept.norm_classes
    for frame, classes in _FILTERED_CLASSES:
        if frame is batch:
            return classes
    return byte_classes(_string_array(batch[NORM]))


def tokenize_series(normalized: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(tokens, tokenization) of normalised texts: each document in the tokenisation of its script."""
    tokens, kind, _ = _tokenize(normalized)
    return tokens, kind


def prepare(frame: pl.DataFrame, text_column: str = "text") -> pl.DataFrame:
    """Add `norm` (normalised text), `tokens` (list of str), `n_tokens` and `tokenization` (`words` or
    `characters`, chosen per document from its script) to a batch."""
    frame = frame.with_columns(normalize_series(frame[text_column]).alias(NORM))
    tokens, kind, reused = _tokenize(frame[NORM])
    frame = frame.with_columns(tokens, kind).with_columns(pl.col(TOKENS).list.len().cast(pl.Int64).alias(N_TOKENS))
    # the analyzers' shared encoding of this batch (`token_codes`) starts from these lists, not from
    # the frame's column converted back to arrow; `norm_classes` gives the classes again
    _PREPARED[:] = [_Prepared(frame, *reused)] if reused is not None else []
    return frame


def normalize(text: str) -> str:
    """Normalise one text exactly as batches are normalised."""
    return str(pl.select(normalize_expr(pl.lit(text, dtype=pl.String))).item())


def tokenize(text: str) -> list[str]:
    """Tokens of one raw text exactly as batches tokenise it (normalised first, tokenisation chosen
    from its script)."""
    out = tokenize_series(pl.Series([normalize(text)], dtype=pl.String))[0][0]
    return list(out) if out is not None else []


def segment_starts(counts: np.ndarray) -> np.ndarray:
    """Index of every segment's first item in a flat array of segments of `counts` items, back to back."""
    out = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=out[1:])
    return out


@dataclass(frozen=True)
class TokenCodes:
    """A batch's tokens dictionary-encoded: `codes[i]` indexes `vocab` for the i-th token of the
    batch (documents back to back), `counts[d]` is the number of tokens of document d."""

    codes: np.ndarray  # int32
    vocab: pa.Array  # large_string, distinct tokens (in order of first occurrence; a superset after `filter_prepared`)
    counts: np.ndarray  # int64

    @property
    def starts(self) -> np.ndarray:
        """Index of every document's first token in `codes`."""
        return segment_starts(self.counts)

    def doc_index(self) -> np.ndarray:
        """The document (row) of every token."""
        return np.repeat(np.arange(len(self.counts), dtype=np.int64), self.counts)

    def positions(self) -> np.ndarray:
        """The position of every token inside its document (0 for the first)."""
        return np.arange(len(self.codes), dtype=np.int64) - np.repeat(self.starts, self.counts)


_LAST_CODES: list[tuple[pl.DataFrame, TokenCodes]] = batch_cache([])
KEPT_ENCODINGS = 2  # a batch and the rows of it that one analyzer filtered (detect's supported rows)


def filter_prepared(batch: pl.DataFrame, keep: np.ndarray) -> pl.DataFrame:
    """The rows of a prepared batch where the boolean `keep` is True, with the batch's shared token
    encoding (`token_codes`) and, when `prepare` made the batch, the classes of its normalised text
    (`norm_classes`) taken for those rows: an analyzer that reads them from the filtered frame does not
    encode or classify its rows again, and the whole batch's encoding is kept for the analyzers after it.
    The filtered encoding keeps the batch's vocabulary (tokens of dropped rows included)."""
    rows = batch.filter(pl.Series(keep))
    codes = token_codes(batch)
    subset = TokenCodes(codes.codes[np.repeat(keep, codes.counts)], codes.vocab, codes.counts[keep])
    _LAST_CODES[:] = [(rows, subset), (batch, codes)]
    prepared = [kept.norm_classes for kept in _PREPARED if kept.frame is batch]
    _FILTERED_CLASSES[:] = [(rows, prepared[0].take_rows(keep))] if prepared else []
    return rows


def token_codes(batch: pl.DataFrame) -> TokenCodes:
    """The dictionary encoding of a prepared batch's `tokens` (arrow hash encoding, one pass).

    Analyzers mapping the same batch share it: the encodings of the last two frames asked for are kept
    (with a reference to each frame, so the identity check cannot be fooled by a reused id)."""
    for frame, kept in _LAST_CODES:
        if frame is batch:
            return kept
    prepared = [kept.tokens for kept in _PREPARED if kept.frame is batch]
    tokens = prepared[0] if prepared else batch[TOKENS].to_arrow()
    if isinstance(tokens, pa.ChunkedArray):
        tokens = tokens.combine_chunks() if tokens.num_chunks != 1 else tokens.chunk(0)
    counts = pc.fill_null(pc.list_value_length(tokens), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(tokens)
    if len(flat) == 0:
        codes = TokenCodes(np.zeros(0, dtype=np.int32), pa.array([], pa.large_string()), counts)
    else:
        encoded = pc.dictionary_encode(flat.cast(pa.large_string()))
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        codes = TokenCodes(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), encoded.dictionary, counts)
    _LAST_CODES[:] = [(batch, codes), *_LAST_CODES[: KEPT_ENCODINGS - 1]]
    return codes
