"""The deterministic per-source document sample: bottom-k by a seeded xxhash of the document id.

The key is the document id when the user names an id column, else the document text, so that a
corpus gives the same sample whatever its files are called or in which format they come (fallback
ids contain the file name); exact copies of a text then enter or leave the sample together.

A source's sample is the prefix of its documents sorted by (hash, doc_id, file, row) that is needed
to hold at least `docs` documents and at least `tokens` tokens: a row is kept while fewer than `docs`
rows or fewer than `tokens` tokens precede it. The rule is monotone in the prefix, so the sample of a
union is the same rule applied to the union of the parts' samples: merge is associative, commutative
and independent of batch order and size.
"""

from __future__ import annotations

import polars as pl

from synthscope.analyzer import DOC_ID, FILE, ROW, SOURCE, TEXT
from synthscope.hashes import xxh64_strings
from synthscope.source_rows import compact
from synthscope.text import N_TOKENS, TOKENS

HASH = "sample_hash"
JOINED = "tokens_joined"  # a document's tokens joined by single spaces: ~20x smaller than a list of strings
SAMPLE_SCHEMA = {
    SOURCE: pl.String,
    HASH: pl.UInt64,
    DOC_ID: pl.String,
    FILE: pl.String,
    ROW: pl.Int64,
    JOINED: pl.String,
    N_TOKENS: pl.Int64,
}
SORT_KEY = [SOURCE, HASH, DOC_ID, FILE, ROW]
_BATCH_ROW = "_batch_row"


def id_hashes(keys: pl.Series, seed: int) -> pl.Series:
    """xxh64 of every key (document id or text) with the run's seed (stable across versions and platforms)."""
    return pl.Series(HASH, xxh64_strings(keys, seed), dtype=pl.UInt64)


def empty_sample() -> pl.DataFrame:
    """The identity of `merge_samples`."""
    return pl.DataFrame(schema=SAMPLE_SCHEMA)


def truncate(frame: pl.DataFrame, docs: int, tokens: int) -> pl.DataFrame:
    """Keep, per source, the hash-ordered prefix holding >= `docs` documents and >= `tokens` tokens."""
    if frame.is_empty():
        return frame
    ordered = frame.sort(SORT_KEY)
    rank = pl.int_range(pl.len()).over(SOURCE)
    before = (pl.col(N_TOKENS).cum_sum() - pl.col(N_TOKENS)).over(SOURCE)
    return compact(ordered.filter((rank < docs) | (before < tokens)))


def sample_batch(batch: pl.DataFrame, seed: int, docs: int, tokens: int, key: str = DOC_ID) -> pl.DataFrame:
    """The sample state of one prepared batch; `key` is the hashed column (doc_id or text)."""
    if key not in (DOC_ID, TEXT):
        raise ValueError(f"sample key must be {DOC_ID!r} or {TEXT!r}, not {key!r}")
    frame = batch.select(
        pl.col(SOURCE).cast(pl.String),
        id_hashes(batch[key].cast(pl.String), seed),
        pl.col(DOC_ID).cast(pl.String),
        pl.col(FILE).cast(pl.String),
        pl.col(ROW).cast(pl.Int64),
        pl.col(N_TOKENS).cast(pl.Int64),
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(_BATCH_ROW),
    )
    kept = truncate(frame, docs, tokens)
    rows = kept[_BATCH_ROW]
    if 2 * kept.height < batch.height:  # a few large sources: join the tokens of the kept rows only
        joined = batch[TOKENS].gather(rows).list.join(" ")
    else:  # a long tail keeps most rows: joining them all and picking is cheaper than picking the lists
        joined = batch[TOKENS].list.join(" ").gather(rows)
    joined = joined.alias(JOINED)
    return kept.with_columns(joined).select(list(SAMPLE_SCHEMA))


def merge_samples(a: pl.DataFrame, b: pl.DataFrame, docs: int, tokens: int) -> pl.DataFrame:
    """Sample of the union of two samples."""
    if a.is_empty():
        return b
    if b.is_empty():
        return a
    return truncate(pl.concat([a, b]), docs, tokens)


def sample_tokens(sample: pl.DataFrame) -> pl.Series:
    """The sampled documents' token lists, back from their joined form (tokens hold no spaces)."""
    tokens = (
        pl.when(pl.col(N_TOKENS) > 0)
        .then(pl.col(JOINED).str.split(" "))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
    )
    return sample.select(tokens.alias(TOKENS)).to_series()
