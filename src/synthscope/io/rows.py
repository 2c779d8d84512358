"""Give the rows of a raw batch their id, source and file, and sort them into analysed, empty,
skipped and other-language rows, counting each (malformed rows were already set aside by the reader)."""

from __future__ import annotations

import polars as pl

from synthscope.analyzer import DOC_ID, FILE, SOURCE, TEXT
from synthscope.io.accounting import RowCounts
from synthscope.io.readers import ROW, ColumnSpec, RawBatch
from synthscope.io.sources import SourceSpec, assign_sources
from synthscope.language import LANGUAGE, identify


def label_rows(batch: RawBatch, columns: ColumnSpec, sources: SourceSpec) -> pl.DataFrame:
    """The parsed rows of a raw batch with their id, source, file and text (null text as '')."""
    frame = batch.frame
    text = pl.col(columns.text)
    label = batch.file.label
    fallback_id = pl.lit(label + ":") + pl.col(ROW).cast(pl.String)
    doc_id = pl.col(columns.id).fill_null(fallback_id) if columns.id else fallback_id
    return frame.with_columns(
        assign_sources(frame, sources, label).alias(SOURCE),
        doc_id.alias(DOC_ID),
        pl.lit(label).alias(FILE),
        text.fill_null("").alias(TEXT),
    )


def row_flags(frame: pl.DataFrame, min_chars: int) -> pl.DataFrame:
    """Per labelled row: `empty` (blank text) and `short` (not blank, under `min_chars` characters: skipped)."""
    is_empty = pl.col(TEXT).str.strip_chars().str.len_chars() == 0
    is_short = pl.col(TEXT).str.len_chars() < min_chars
    return frame.select(is_empty.alias("empty"), (~is_empty & is_short).alias("short"))


def classify(
    batch: RawBatch, columns: ColumnSpec, sources: SourceSpec, min_chars: int, languages: tuple[str, ...] = ()
) -> tuple[pl.DataFrame, RowCounts]:
    """The analysed rows (doc_id, source, text, file, _row, language) of a raw batch and its row counts:
    ids and sources given, empty and short rows split off, and with `languages` the rows identified
    as another language counted as other_language."""
    frame = label_rows(batch, columns, sources)
    flags = row_flags(frame, min_chars)
    empty = int(flags["empty"].sum())
    skipped = int(flags["short"].sum())
    keep = ~(flags["empty"] | flags["short"])
    analysed = frame.filter(keep).select(DOC_ID, SOURCE, TEXT, FILE, ROW)
    analysed = analysed.with_columns(identify(analysed[TEXT]))
    other_language = 0
    if languages:
        wanted = analysed[LANGUAGE].is_in(list(languages))
        other_language = analysed.height - int(wanted.sum())
        analysed = analysed.filter(wanted)
    counts = RowCounts(
        rows_read=batch.rows_read,
        analysed=analysed.height,
        empty=empty,
        malformed=len(batch.malformed),
        skipped=skipped,
        other_language=other_language,
        invalid_utf8=batch.invalid_utf8,
        blank_lines=batch.blank_lines,
    )
    return analysed, counts
