"""Give the rows of a raw batch their id, source and file, and sort them into analysed, empty and
skipped rows, counting each (malformed rows were already set aside by the reader)."""

from __future__ import annotations

import polars as pl

from synthscope.analyzer import DOC_ID, FILE, SOURCE, TEXT
from synthscope.io.accounting import RowCounts
from synthscope.io.readers import ROW, ColumnSpec, RawBatch
from synthscope.io.sources import SourceSpec, assign_sources


def classify(batch: RawBatch, columns: ColumnSpec, sources: SourceSpec, min_chars: int) -> tuple[pl.DataFrame, RowCounts]:
    """The analysed rows (doc_id, source, text, file, _row) of a raw batch and the batch's row counts."""
    frame = batch.frame
    text = pl.col(columns.text)
    label = batch.file.label
    fallback_id = pl.lit(label + ":") + pl.col(ROW).cast(pl.String)
    doc_id = pl.col(columns.id).fill_null(fallback_id) if columns.id else fallback_id
    frame = frame.with_columns(
        assign_sources(frame, sources, label).alias(SOURCE),
        doc_id.alias(DOC_ID),
        pl.lit(label).alias(FILE),
        text.fill_null("").alias(TEXT),
    )
    is_empty = pl.col(TEXT).str.strip_chars().str.len_chars() == 0
    is_short = pl.col(TEXT).str.len_chars() < min_chars
    flags = frame.select(is_empty.alias("empty"), (~is_empty & is_short).alias("short"))
    empty = int(flags["empty"].sum())
    skipped = int(flags["short"].sum())
    keep = ~(flags["empty"] | flags["short"])
    analysed = frame.filter(keep).select(DOC_ID, SOURCE, TEXT, FILE, ROW)
    counts = RowCounts(
        rows_read=batch.rows_read,
        analysed=analysed.height,
        empty=empty,
        malformed=len(batch.malformed),
        skipped=skipped,
        invalid_utf8=batch.invalid_utf8,
        blank_lines=batch.blank_lines,
    )
    return analysed, counts
