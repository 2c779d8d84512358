"""The previous (polars explode + join) implementation of the detect features, kept as the reference
that tests compare the vectorised implementation in synthscope.detect.features with."""

from __future__ import annotations

import polars as pl

from synthscope.analyzer import TEXT
from synthscope.detect import markers
from synthscope.detect.features import (
    _PARTICIPLE,
    FEATURE_NAMES,
    FIRST_PERSON,
    KOBAK_MAX_ZIPF,
    OOV_ZIPF,
    RARE_ZIPF,
    TRANSITIONS,
    TTR_WINDOW,
    _phrase_pattern,
)
from synthscope.detect.sentences import SENTENCE_PATTERN as _SENTENCE
from synthscope.text import NORM, TOKENS

_ROW = "_feature_row"
_TRANSITION = r"(?:^|[.!?] )(?:" + "|".join(TRANSITIONS) + r")\b"


def _token_features(batch: pl.DataFrame, language: str | None = "en") -> pl.DataFrame:
    """Word-level features from the exploded token lists, one row per document row index; word
    frequencies from `language`'s wordfreq table (None: an empty table, the features do not apply)."""
    english = markers.word_zipf("en")
    zipf = markers.word_zipf(language) if language else english.clear()
    kobak = (
        pl.DataFrame({"word": list(markers.kobak_style_words())})
        .join(english, on="word", how="left")
        .filter(pl.col("zipf").fill_null(0.0) < KOBAK_MAX_ZIPF)["word"]
    )
    words = (
        batch.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias(_ROW), pl.col(TOKENS))
        .explode(TOKENS)
        .drop_nulls(TOKENS)
        .with_columns(pl.int_range(pl.len()).over(_ROW).alias("_pos"))
        .join(zipf, left_on=TOKENS, right_on="word", how="left")
    )
    tok = pl.col(TOKENS)
    alpha = ~tok.str.contains(r"\d")
    tri = pl.concat_str([tok, tok.shift(-1).over(_ROW), tok.shift(-2).over(_ROW)], separator=" ")
    words = words.with_columns(tri.alias("_tri"), alpha.alias("_alpha"))
    surprise = 9.0 - pl.col("zipf").fill_null(OOV_ZIPF)
    in_window = pl.col("_pos") < TTR_WINDOW
    return words.group_by(_ROW).agg(
        tok.is_in(kobak.implode()).mean().alias("kobak_style_rate"),
        tok.is_in(list(markers.liang_adjectives())).mean().alias("liang_adjective_rate"),
        surprise.filter(pl.col("_alpha")).mean().alias("lexical_surprise"),
        (pl.col("zipf").fill_null(OOV_ZIPF) < RARE_ZIPF).filter(pl.col("_alpha")).mean().alias("rare_word_share"),
        tok.str.len_chars().mean().cast(pl.Float64).alias("word_length_mean"),
        (tok.filter(in_window).n_unique() / in_window.sum()).cast(pl.Float64).alias("type_token_ratio"),
        (1.0 - pl.col("_tri").drop_nulls().n_unique() / pl.col("_tri").drop_nulls().len()).alias("repeated_trigram_share"),
        tok.is_in(list(FIRST_PERSON)).mean().alias("first_person_rate"),
        tok.str.contains("'", literal=True).mean().alias("contraction_rate"),
    )


def compute_features(batch: pl.DataFrame, language: str | None = "en") -> pl.DataFrame:
    """One Float64 column per feature in FEATURE_NAMES, one row per batch row (same order); word
    frequencies from `language`'s wordfreq table (see `frequency_language`)."""
    n_words = pl.col(TOKENS).list.len().cast(pl.Float64)
    per_word = lambda expr: (expr.cast(pl.Float64) / n_words).fill_nan(None)  # noqa: E731
    sentence_lengths = (
        pl.col(NORM).str.extract_all(_SENTENCE).list.eval(pl.element().str.count_matches(r"\w+")).list.eval(
            pl.element().filter(pl.element() > 0)
        )
    )
    text = pl.col(TEXT)
    chatgpt = _phrase_pattern(markers.hc3_chatgpt_phrases())
    human = _phrase_pattern(markers.hc3_human_phrases())
    frame = batch.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(_ROW),
        (100 * per_word(pl.col(NORM).str.count_matches(chatgpt))).alias("hc3_chatgpt_phrases"),
        (100 * per_word(pl.col(NORM).str.count_matches(human))).alias("hc3_human_phrases"),
        sentence_lengths.list.mean().alias("sentence_length_mean"),
        (sentence_lengths.list.std() / sentence_lengths.list.mean()).alias("sentence_length_cv"),
        per_word(text.str.count_matches(",", literal=True)).alias("comma_rate"),
        per_word(text.str.count_matches(r"[;:]")).alias("colon_semicolon_rate"),
        per_word(text.str.count_matches(r"[—–]| - | -- ")).alias("dash_rate"),
        per_word(text.str.count_matches(r"[()\[\]]")).alias("paren_rate"),
        per_word(text.str.count_matches(r"[\"“”«»]")).alias("quote_rate"),
        per_word(text.str.count_matches(r"[!?]")).alias("exclaim_question_rate"),
        per_word(text.str.count_matches(r"\d")).alias("digit_rate"),
        per_word(pl.col(NORM).str.count_matches(_TRANSITION)).alias("transition_rate"),
        per_word(pl.col(NORM).str.count_matches(_PARTICIPLE)).alias("participle_clause_rate"),
    )
    words = _token_features(batch, language)
    out = frame.join(words, on=_ROW, how="left", maintain_order="left")
    return out.select([pl.col(name).cast(pl.Float64).fill_nan(None) for name in FEATURE_NAMES])
