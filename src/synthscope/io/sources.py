"""Assign each row its source: the file, a column's value, or the registrable domain of a URL."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import polars as pl
import tldextract

NO_SOURCE = "(none)"
_HOST_PATTERN = r"^(?:[a-zA-Z][a-zA-Z0-9+.\-]*:)?//(?:[^@/?#]*@)?([^:/?#\s]+)"


@dataclass(frozen=True)
class SourceSpec:
    """How sources are chosen: `mode` is "file", "domain" or "column"; `column` names the column."""

    mode: str
    column: str | None = None

    def describe(self) -> str:
        return {"file": "file", "domain": f"domain of {self.column!r}", "column": f"column {self.column!r}"}[self.mode]


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # The bundled public suffix list snapshot only: never fetched, never cached on disk.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)


@lru_cache(maxsize=200_000)
def registrable_domain(host: str) -> str:
    """The registrable domain of a host name ("news.bbc.co.uk" -> "bbc.co.uk"); IPs stay as they are."""
    parts = _extractor()(host)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return parts.domain or host


def host_expr(url: pl.Expr) -> pl.Expr:
    """The lower-cased host of a URL ("https://a.b.org:80/x" -> "a.b.org"); bare hosts are accepted."""
    with_scheme = pl.when(url.str.contains("//")).then(url).otherwise(pl.lit("//") + url)
    return with_scheme.str.extract(_HOST_PATTERN, 1).str.to_lowercase().str.strip_chars(".")


def domains(urls: pl.Series) -> pl.Series:
    """Registrable domains of a batch of URLs; the public-suffix lookup runs once per distinct host."""
    hosts = pl.select(host_expr(pl.lit(urls))).to_series()
    distinct = hosts.drop_nulls().unique()
    mapping = {h: registrable_domain(h) for h in distinct.to_list()}
    return hosts.replace_strict(mapping, default=None, return_dtype=pl.String).fill_null(NO_SOURCE)


def assign_sources(frame: pl.DataFrame, spec: SourceSpec, file_label: str) -> pl.Series:
    """The source of every row of a raw batch."""
    if spec.mode == "file":
        return pl.Series("source", [file_label] * frame.height, dtype=pl.String)
    assert spec.column is not None
    column = frame[spec.column]
    if spec.mode == "domain":
        return domains(column).alias("source")
    return column.cast(pl.String).fill_null(NO_SOURCE).alias("source")
