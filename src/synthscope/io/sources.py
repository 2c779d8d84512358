"""Assign each row its source: the file, a column's value, or the registrable domain of a URL."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

import polars as pl
import tldextract

NO_SOURCE = "(none)"  # no URL (null or blank)
INVALID_URL = "(invalid url)"  # a value with no usable host: "not a url", a bad byte in the host
# Optional scheme, "//", optional userinfo, then the host (a bracketed IPv6 literal or a name), an
# optional port, and the end of the authority. Whitespace inside the host makes the value invalid.
_AUTHORITY = r"^(?:[a-zA-Z][a-zA-Z0-9+.\-]*:)?//(?:[^@/?#\s]*@)?(\[[^\]/?#\s]*\]|[^\[\]:/?#\s@]+)(?::[0-9]*)?(?:[/?#]|$)"
_HAS_AUTHORITY = r"^(?:[a-zA-Z][a-zA-Z0-9+.\-]*:)?//"
_ASCII_HOST = re.compile(r"[a-z0-9_\-.]+")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
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
def canonical_host(host: str) -> str | None:
    """One spelling per host, or None when it is not a host name.

    IP literals stay whole (IPv6 compressed, in brackets as in a URL: "[2001:db8::1]"); internationalised names take their
    Unicode form ("xn--bcher-kva.de" and "BÜCHER.de" -> "bücher.de", IDNA 2003 as in Python's codec,
    which allows "_" in labels); ASCII names keep letters, digits, "-", "_" and ".".
    """
    if host.startswith("["):
        try:
            return f"[{ipaddress.ip_address(host[1:-1]).compressed}]"
        except ValueError:
            return None
    if _IPV4.fullmatch(host):
        return host
    if host.isascii():
        if not _ASCII_HOST.fullmatch(host) or ".." in host:
            return None
        if "xn--" not in host:
            return host
    try:
        return host.encode("idna").decode("idna").lower()
    except UnicodeError:
        return None


@lru_cache(maxsize=200_000)
def registrable_domain(host: str) -> str:
    """The registrable domain of a host ("news.bbc.co.uk" -> "bbc.co.uk"; "bücher.de" and
    "xn--bcher-kva.de" -> "bücher.de"); IP literals whole; the host itself when it has no public
    suffix ("wiki.local", "localhost"); INVALID_URL when it is not a host name."""
    canonical = canonical_host(host)
    if canonical is None:
        return INVALID_URL
    if canonical.startswith("[") or _IPV4.fullmatch(canonical):
        return canonical
    parts = _extractor()(canonical)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return canonical


def host_expr(url: pl.Expr) -> pl.Expr:
    """The lower-cased host of a URL ("https://a.b.org:80/x" -> "a.b.org", "[::1]" kept with its
    brackets); bare hosts are accepted, surrounding whitespace ignored; null when there is no host."""
    url = url.str.strip_chars()
    with_scheme = pl.when(url.str.contains(_HAS_AUTHORITY)).then(url).otherwise(pl.lit("//") + url)
    return with_scheme.str.extract(_AUTHORITY, 1).str.to_lowercase().str.strip_chars_end(".")


def domains(urls: pl.Series) -> pl.Series:
    """Registrable domains of a batch of URLs: hosts are extracted by one polars expression, and the
    public-suffix lookup runs once per distinct host. Null or blank URLs give NO_SOURCE, values
    without a usable host INVALID_URL."""
    frame = pl.DataFrame({"url": urls.cast(pl.String)}).select(
        pl.col("url").str.strip_chars().fill_null("").alias("url"),
        host_expr(pl.col("url")).alias("host"),
    )
    distinct = frame["host"].drop_nulls().unique()
    mapping = {h: registrable_domain(h) for h in distinct.to_list()}
    domain = frame["host"].replace_strict(mapping, default=None, return_dtype=pl.String)
    blank = frame["url"] == ""
    return pl.select(
        pl.when(blank).then(pl.lit(NO_SOURCE)).otherwise(domain.fill_null(INVALID_URL))
    ).to_series()


def assign_sources(frame: pl.DataFrame, spec: SourceSpec, file_label: str) -> pl.Series:
    """The source of every row of a raw batch."""
    if spec.mode == "file":
        return pl.Series("source", [file_label] * frame.height, dtype=pl.String)
    assert spec.column is not None
    column = frame[spec.column]
    if spec.mode == "domain":
        return domains(column).alias("source")
    return column.cast(pl.String).fill_null(NO_SOURCE).alias("source")
