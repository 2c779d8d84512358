"""Languages analyzer: documents per (source, language, tokenisation), top languages with shares.

The state is a small table of (source, language, tokenization) -> documents: exact, mergeable and
bounded by the number of distinct languages per source. Finalize works on all sources at once
(group-bys), so a long tail of sources costs little.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from synthscope import language
from synthscope.analyzer import SOURCE, AnalyzerResult, FinalizeContext
from synthscope.language import LANGUAGE, UNDETERMINED
from synthscope.text import CHARACTERS, TOKENIZATION, WORDS

TOP_LANGUAGES = 5
TOP_LANGUAGES_CORPUS = 10
_SCHEMA = {SOURCE: pl.String, LANGUAGE: pl.String, TOKENIZATION: pl.String, "documents": pl.Int64}


def _top(counts: pl.DataFrame, keys: list[str], limit: int) -> pl.DataFrame:
    """Per `keys` group: its `limit` most frequent languages with documents and share (ties by code)."""
    by_language = counts.group_by([*keys, LANGUAGE]).agg(pl.col("documents").sum())
    total = pl.col("documents").sum().over(keys) if keys else pl.col("documents").sum()
    ranked = by_language.with_columns((pl.col("documents") / total).alias("share")).sort(
        [*keys, "documents", LANGUAGE], descending=[*([False] * len(keys)), True, False]
    )
    return ranked.group_by(keys, maintain_order=True).head(limit) if keys else ranked.head(limit)


def _records(rows: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {"language": r[LANGUAGE], "documents": int(r["documents"]), "share": round(float(r["share"]), 4)}
        for r in rows.select(LANGUAGE, "documents", "share").iter_rows(named=True)
    ]


class LanguageStats:
    """Top languages (with shares) and the tokenisation used, per source and for the corpus."""

    name = "languages"

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=_SCHEMA)

    def map(self, batch: pl.DataFrame) -> pl.DataFrame:
        lang = pl.col(LANGUAGE) if LANGUAGE in batch.columns else pl.lit(UNDETERMINED)
        kind = pl.col(TOKENIZATION) if TOKENIZATION in batch.columns else pl.lit(WORDS)
        return (
            batch.select(pl.col(SOURCE).cast(pl.String), lang.cast(pl.String).alias(LANGUAGE), kind.cast(pl.String).alias(TOKENIZATION))
            .group_by(SOURCE, LANGUAGE, TOKENIZATION)
            .agg(pl.len().cast(pl.Int64).alias("documents"))
        )

    def merge(self, a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
        if a.is_empty():
            return b
        if b.is_empty():
            return a
        return pl.concat([a, b]).group_by(SOURCE, LANGUAGE, TOKENIZATION).agg(pl.col("documents").sum())

    def finalize(self, state: pl.DataFrame, ctx: FinalizeContext) -> AnalyzerResult:
        if state.is_empty():
            return AnalyzerResult(per_source={})
        top = _top(state, [SOURCE], TOP_LANGUAGES)
        languages = top.group_by(SOURCE, maintain_order=True).agg(pl.col(LANGUAGE), pl.col("documents"), pl.col("share"))
        kind = pl.col(TOKENIZATION)
        kinds = state.group_by(SOURCE).agg(
            pl.col("documents").filter(kind == WORDS).sum().alias(WORDS), pl.col("documents").filter(kind == CHARACTERS).sum().alias(CHARACTERS)
        )
        per_source: dict[str, dict[str, Any]] = {}
        for source, codes, documents, shares, words, characters in languages.join(kinds, on=SOURCE, how="left").iter_rows():
            records = [{"language": c, "documents": int(d), "share": round(float(s), 4)} for c, d, s in zip(codes, documents, shares)]
            per_source[str(source)] = {"languages": records, "tokenization": {WORDS: int(words or 0), CHARACTERS: int(characters or 0)}}
        corpus_kinds = dict(state.group_by(TOKENIZATION).agg(pl.col("documents").sum()).iter_rows())
        summary = {
            "languages": _records(_top(state, [], TOP_LANGUAGES_CORPUS)),
            "distinct_languages": int(state[LANGUAGE].n_unique()),
            "tokenization": {WORDS: int(corpus_kinds.get(WORDS, 0)), CHARACTERS: int(corpus_kinds.get(CHARACTERS, 0))},
            **language.describe(),
        }
        return AnalyzerResult(per_source=per_source, summary=summary)

    def options(self) -> dict[str, Any]:
        return {
            **language.describe(),
            "top_languages": TOP_LANGUAGES,
            "tokenization": "per document from its script: words, or characters (Chinese, Japanese kana, Thai, Lao, Khmer, Myanmar)",
        }
