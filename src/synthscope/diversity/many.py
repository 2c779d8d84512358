"""Diversity metrics of many sources at once: one numpy pass over the samples of all sources.

The samples of a group of sources are laid out as one token stream (sources one after the other,
each source's documents in sample order). Every metric is then a sort or a segment sum over a
sources axis instead of a Python loop per source, so a source of three documents costs three
documents, not a fixed overhead. The results equal the per-source functions of lexical.py,
selfbleu.py and spread.py up to floating-point rounding.

Word n-grams of two or more tokens are identified by 64-bit hashes of the (exact) token ids; packed
with the source number they keep at least 44 bits, so two distinct n-grams of one source collide
with a probability below 1e-3 even for a source of a million n-grams, and far below for the
budgets used here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from synthscope.hashes import xxh3_64_strings
from synthscope.text import segment_starts

_U64 = np.uint64
_MIX_1 = _U64(0xBF58476D1CE4E5B9)
_MIX_2 = _U64(0x94D049BB133111EB)
_GOLDEN = _U64(0x9E3779B97F4A7C15)


def mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        v = values.astype(_U64, copy=True)
        v ^= v >> _U64(30)
        v *= _MIX_1
        v ^= v >> _U64(27)
        v *= _MIX_2
        v ^= v >> _U64(31)
    return v


def bits_for(count: int) -> int:
    """Bits needed to number `count` items (at least 1)."""
    return max(1, int(count - 1).bit_length())


def segment_sums(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sums of consecutive segments of `counts` values (empty segments sum to 0)."""
    out = np.zeros(len(counts), dtype=np.float64 if values.dtype.kind == "f" else np.int64)
    nonempty = counts > 0
    if values.size:
        out[nonempty] = np.add.reduceat(values, segment_starts(counts)[nonempty])
    return out


@dataclass(frozen=True)
class Streams:
    """The sampled documents of many sources as one token stream.

    Documents are grouped by source (sources in `names` order) and, inside a source, in sample
    order. `tok` are exact token ids into `vocab`; `doc` the document of every token."""

    names: list[str]
    doc_source: np.ndarray  # int64, per document
    doc_tokens: np.ndarray  # int64, per document
    tok: np.ndarray  # int64, per token
    vocab: pa.Array  # large_string

    def tok_hash(self) -> np.ndarray:
        """xxh3-64 of every token's text."""
        return xxh3_64_strings(self.vocab)[self.tok] if len(self.tok) else np.zeros(0, dtype=_U64)

    @property
    def n_sources(self) -> int:
        return len(self.names)

    @property
    def n_docs(self) -> int:
        return len(self.doc_source)

    def doc(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_docs, dtype=np.int64), self.doc_tokens)

    def pos(self) -> np.ndarray:
        """Position of every token inside its document."""
        return np.arange(len(self.tok), dtype=np.int64) - np.repeat(segment_starts(self.doc_tokens), self.doc_tokens)

    def docs_per_source(self) -> np.ndarray:
        return np.bincount(self.doc_source, minlength=self.n_sources)

    def doc_rank(self) -> np.ndarray:
        """Rank of every document inside its source (0 for the first)."""
        per = self.docs_per_source()
        return np.arange(self.n_docs, dtype=np.int64) - np.repeat(segment_starts(per), per)

    def token_rank(self) -> np.ndarray:
        """Rank of every token inside its source's stream (documents concatenated)."""
        source_tokens = np.bincount(self.doc_source, weights=self.doc_tokens, minlength=self.n_sources).astype(np.int64)
        src = np.repeat(self.doc_source, self.doc_tokens)
        return np.arange(len(self.tok), dtype=np.int64) - segment_starts(source_tokens)[src]


def streams_of(sample: pl.DataFrame, source_col: str, tokens_col: str, n_tokens_col: str) -> Streams:
    """Streams of a sample frame already sorted by source and sample order; `tokens_col` holds each
    document's tokens joined by single spaces (tokens hold no spaces)."""
    names_frame = sample.select(pl.col(source_col).unique(maintain_order=True))
    names = names_frame.to_series().to_list()
    doc_source = sample.select(pl.col(source_col).rle_id()).to_series().to_numpy().astype(np.int64)
    doc_tokens = sample[n_tokens_col].to_numpy().astype(np.int64)
    flat = _spaced_tokens(sample, tokens_col, n_tokens_col)
    if len(flat):
        # ids in the order of the token strings, not of first occurrence: a source's figures then do not
        # depend on which other sources share its group (sums run in the same order either way)
        encoded = pc.dictionary_encode(flat)
        words = pc.utf8_slice_codeunits(encoded.dictionary, 0, -1)  # without the space each token ends with
        order = pl.Series(words).arg_sort().to_numpy().astype(np.int64)  # bytewise, as arrow's sort (distinct words: no ties)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        tok = rank[encoded.indices.to_numpy(zero_copy_only=False)]
        vocab = words.take(pa.array(order))
    else:
        tok, vocab = np.zeros(0, dtype=np.int64), pa.array([], pa.large_string())
    return Streams(names, doc_source, doc_tokens, tok, vocab)


def _spaced_tokens(sample: pl.DataFrame, tokens_col: str, n_tokens_col: str) -> pa.Array:
    """Every token of the sample, in order, followed by one space ("tok "): the documents' joined
    tokens with a space appended, cut after every space. The pieces are the text's own bytes with
    more offsets (no copy per token, as `str.split` and its list would make)."""
    text = sample.select(
        pl.when(pl.col(n_tokens_col) > 0).then(pl.col(tokens_col) + " ").otherwise(pl.lit("")).alias("spaced")
    ).to_series().to_arrow()
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    text = text.cast(pa.large_string())
    _, offsets_buffer, data_buffer = text.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    if data_buffer is None or offsets[-1] == offsets[0]:
        return pa.array([], pa.large_string())
    first, last = int(offsets[0]), int(offsets[-1])
    ends = np.flatnonzero(np.frombuffer(data_buffer, dtype=np.uint8, count=last)[first:] == ord(" ")) + (first + 1)
    piece_offsets = np.concatenate([[first], ends]).astype(np.int64)
    return pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(piece_offsets), data_buffer)


# --------------------------------------------------------------------------------------- n-grams


def gram_hashes(tok: np.ndarray, tok_hash: np.ndarray, pos: np.ndarray, max_n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """For n = 1..max_n: (key, valid) per token: the key of the n-gram ending at the token, valid
    where the n-gram lies inside one document (pos >= n - 1). n = 1 uses the exact token id; longer
    n-grams a 64-bit hash of the tokens' own hashes (`tok_hash`, from their text), so that an
    n-gram's key does not depend on which other sources share the stream."""
    out = [(tok.astype(_U64), np.ones(len(tok), dtype=bool))]
    current = mix64(tok_hash + _GOLDEN)
    for n in range(2, max_n + 1):
        nxt = np.zeros(len(tok), dtype=_U64)
        if len(tok) > 1:
            with np.errstate(over="ignore"):
                nxt[1:] = mix64(current[:-1] * _GOLDEN + tok_hash[1:])
        current = nxt
        out.append((current, pos >= n - 1))
    return out


def source_keys(src: np.ndarray, gram: np.ndarray, n_sources: int, exact: bool) -> np.ndarray:
    """uint64 keys sorting by (source, n-gram): the source number in the high bits, the exact id
    (n = 1) or the top bits of the hash below."""
    s_bits = bits_for(n_sources)
    if exact:
        if s_bits + bits_for(int(gram.max()) + 1 if gram.size else 1) > 64:  # pragma: no cover - > 2^40 types
            raise OverflowError("too many token types for exact keys")
        return (src.astype(_U64) << _U64(64 - s_bits)) | gram
    return (src.astype(_U64) << _U64(64 - s_bits)) | (gram >> _U64(s_bits))


def run_lengths(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first index, length) of every run of equal values in a sorted array."""
    if sorted_keys.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return first, np.diff(np.r_[first, sorted_keys.size])


def type_counts_by_source(keys: np.ndarray, n_sources: int) -> tuple[np.ndarray, np.ndarray]:
    """(source, count) of every distinct (source, type) key, grouped by source."""
    ordered = np.sort(keys)
    first, counts = run_lengths(ordered)
    s_bits = bits_for(n_sources)
    return (ordered[first] >> _U64(64 - s_bits)).astype(np.int64), counts


def neighbours(src: np.ndarray, tok: np.ndarray, n_sources: int, n_types: int) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(previous, next) occurrence of the same token in the same source's stream, as indices into
    `tok` (-1 where none); the stream holds each source's tokens contiguously and in order. Also, from
    the same sort, (source, count) of every distinct (source, type), grouped by source and type
    (`type_counts_by_source` of the exact keys)."""
    n = len(tok)
    prev = np.full(n, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    if n < 2:
        return prev, nxt, type_counts_by_source(source_keys(src, tok.astype(_U64), n_sources, exact=True), n_sources)
    s_bits, t_bits, p_bits = bits_for(n_sources), bits_for(n_types), bits_for(n)
    if s_bits + t_bits + p_bits <= 64:
        key = (src.astype(_U64) << _U64(t_bits + p_bits)) | (tok.astype(_U64) << _U64(p_bits)) | np.arange(n, dtype=_U64)
        key.sort()
        index = (key & _U64((1 << p_bits) - 1)).astype(np.int64)
        group = key >> _U64(p_bits)
        first, counts = run_lengths(group)
        type_source = (group[first] >> _U64(t_bits)).astype(np.int64)
    else:  # pragma: no cover - needs a gigantic group of sources
        order = np.lexsort((np.arange(n), tok, src))
        index, group = order, src[order].astype(_U64) * _U64(n_types) + tok[order].astype(_U64)
        first, counts = run_lengths(group)
        type_source = src[order][first].astype(np.int64)
    same = group[1:] == group[:-1]
    prev[index[1:][same]] = index[:-1][same]
    nxt[index[:-1][same]] = index[1:][same]
    return prev, nxt, (type_source, counts)


def mattr_many(prev_local: np.ndarray, pos: np.ndarray, src: np.ndarray, n: np.ndarray, distinct: np.ndarray, window: int) -> np.ndarray:
    """MATTR of every source (lexical.mattr): `pos` is each token's position in its source's stream,
    `prev_local` the position of the previous occurrence there (-1), `n` tokens and `distinct` types
    per source (a source no longer than the window gets its TTR)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = distinct / n
    long = n > window
    if not long.any():
        return out
    starts = np.where(long, n - window + 1, 0)  # windows per source
    offsets = segment_starts(starts + 1)  # each source's windows, plus one slot that takes the clipped ends
    keep = long[src]
    p, prev_p, s = pos[keep], prev_local[keep], src[keep]
    first = np.maximum(prev_p + 1, p - window + 1)
    size = int(offsets[-1] + starts[-1] + 1)
    diff = np.bincount(offsets[s] + np.minimum(first, starts[s]), minlength=size) - np.bincount(
        offsets[s] + np.minimum(p + 1, starts[s]), minlength=size
    )
    # every source's +1s and -1s cancel inside its own slots, so the running count starts from 0 at each
    # source: window j of source s sees running[offsets[s] + j] distinct types
    prefix = np.r_[0, np.cumsum(np.cumsum(diff))]
    totals = (prefix[offsets + starts] - prefix[offsets]).astype(np.float64)
    out[long] = totals[long] / starts[long] / window
    return out


def _mtld_passes(prev_local: np.ndarray, n: np.ndarray, threshold: float, step: int = 128) -> np.ndarray:
    """One MTLD pass (lexical._mtld_pass) for every source at once, in lockstep over factors.

    `prev_local` holds, for the sources' streams laid end to end, the position of the previous
    occurrence of each token inside its source's stream (-1 for a first occurrence)."""
    k = len(n)
    base = segment_starts(n)
    start = np.zeros(k, dtype=np.int64)  # current factor's first position
    scan = np.zeros(k, dtype=np.int64)  # next position to look at
    carry = np.zeros(k, dtype=np.int64)  # types seen in [start, scan) new since start
    full = np.zeros(k, dtype=np.int64)  # completed factors
    partial = np.zeros(k, dtype=np.float64)
    active = np.flatnonzero(n > 0)
    offsets = np.arange(step, dtype=np.int64)
    while active.size:
        a_start, a_scan, a_n = start[active], scan[active], n[active]
        positions = a_scan[:, None] + offsets[None, :]
        inside = positions < a_n[:, None]
        gathered = prev_local[base[active][:, None] + np.minimum(positions, a_n[:, None] - 1)]
        new_type = (gathered < a_start[:, None]) & inside
        distinct = carry[active][:, None] + np.cumsum(new_type, axis=1)
        length = positions - a_start[:, None] + 1
        with np.errstate(invalid="ignore", divide="ignore"):
            running = distinct / length
        hit_mask = (running <= threshold) & inside
        has_hit = hit_mask.any(axis=1)
        first_hit = hit_mask.argmax(axis=1)
        # a factor ends at its first hit: the next one starts after it
        hit = active[has_hit]
        full[hit] += 1
        start[hit] = scan[hit] = a_scan[has_hit] + first_hit[has_hit] + 1
        carry[hit] = 0
        # no hit in this window: carry on, or close the text with a partial factor
        miss = ~has_hit
        reached_end = miss & (a_scan + step >= a_n)
        ended = active[reached_end]
        last = a_n[reached_end] - 1 - a_scan[reached_end]
        last_ttr = running[reached_end, last]
        partial[ended] = (1 - last_ttr) / (1 - threshold)
        scan[ended] = n[ended]
        going = active[miss & ~reached_end]
        carry[going] = distinct[miss & ~reached_end, -1]
        scan[going] += step
        active = active[scan[active] < n[active]]
    return full, partial


def mtld_many(prev_local: np.ndarray, next_local: np.ndarray, n: np.ndarray, distinct: np.ndarray, threshold: float) -> np.ndarray:
    """MTLD of every source (lexical.mtld): the mean of the forward and the backward pass."""
    out = np.full(len(n), np.nan)
    whole = np.zeros(len(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        whole = distinct / n
    # backward pass: the reversed streams; a token's previous occurrence there is its next one here
    starts = segment_starts(n)
    src = np.repeat(np.arange(len(n)), n)
    local = np.arange(len(prev_local), dtype=np.int64) - starts[src]
    reversed_index = starts[src] + (n[src] - 1 - local)
    prev_backward = np.empty_like(prev_local)
    prev_backward[reversed_index] = np.where(next_local < 0, -1, n[src] - 1 - next_local)
    # both passes of every source in one lockstep walk (each stream's walk is its own: the same
    # values as two walks, in half the steps)
    full, partial = _mtld_passes(np.concatenate([prev_local, prev_backward]), np.concatenate([n, n]), threshold)
    k = len(n)
    values = []
    for direction in (slice(0, k), slice(k, 2 * k)):
        factors = full[direction] + partial[direction]
        fallback = np.where(whole == 1, 1.0, (1 - whole) / (1 - threshold))
        factors = np.where(factors == 0, fallback, factors)
        with np.errstate(invalid="ignore", divide="ignore"):
            values.append(n / factors)
    valid = n > 0
    out[valid] = ((values[0] + values[1]) / 2)[valid]
    return out


def _entropy_bits(source: np.ndarray, counts: np.ndarray, totals: np.ndarray, n_sources: int) -> np.ndarray:
    p = counts / totals[source]
    return -np.bincount(source, weights=p * np.log2(p), minlength=n_sources)


def _zipf_and_tail(source: np.ndarray, counts: np.ndarray, n: np.ndarray, tail_rank: int) -> tuple[np.ndarray, np.ndarray]:
    """Zipf exponent (lexical.zipf_exponent) and tail mass (lexical.tail_mass) of every source from
    its (source, type count) pairs."""
    k = len(n)
    order = np.lexsort((-counts, source))
    s, c = source[order], counts[order].astype(np.float64)
    per = np.bincount(s, minlength=k)
    rank = np.arange(len(s)) - np.repeat(segment_starts(per), per)
    tail = np.bincount(s, weights=np.where(rank >= tail_rank, c, 0.0), minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        tail_mass = tail / np.bincount(s, weights=c, minlength=k)
    fit = c >= 2
    m = np.bincount(s[fit], minlength=k).astype(np.float64)
    x, y, sf = np.log(rank[fit] + 1.0), np.log(c[fit]), s[fit]
    sx, sy = np.bincount(sf, weights=x, minlength=k), np.bincount(sf, weights=y, minlength=k)
    sxx, sxy = np.bincount(sf, weights=x * x, minlength=k), np.bincount(sf, weights=x * y, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (m * sxy - sx * sy) / (m * sxx - sx * sx)
    return np.where(m >= 3, -slope, np.nan), tail_mass


def lexical_many(
    st: Streams, lex: np.ndarray, grams: list[tuple[np.ndarray, np.ndarray]], *, window: int, threshold: float, tail_rank: int
) -> dict[str, np.ndarray]:
    """Every lexical field except compression_ratio (lexical.lexical_metrics) for every source, on the
    tokens selected by `lex` (a prefix of each source's stream: its token budget). NaN: no value."""
    k = st.n_sources
    src_all = np.repeat(st.doc_source, st.doc_tokens)
    src = src_all[lex]
    n = np.bincount(src, minlength=k)
    out: dict[str, np.ndarray] = {}
    # unigram types (exact ids) from the sort that finds each token's neighbours (for MATTR and MTLD)
    prev, nxt, (uni_source, uni_counts) = neighbours(src, st.tok[lex], k, len(st.vocab))
    distinct = np.bincount(uni_source, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["ttr"] = distinct / n
        out["distinct_1"] = distinct / n
        for order in (2, 3):
            gram, valid = grams[order - 1]
            use = valid & lex
            g_source, g_counts = type_counts_by_source(source_keys(src_all[use], gram[use], k, exact=False), k)
            total = np.bincount(src_all[use], minlength=k)
            out[f"distinct_{order}"] = np.bincount(g_source, minlength=k) / total
            if order == 2:
                out["bigram_entropy"] = np.where(total > 0, _entropy_bits(g_source, g_counts, total, k), np.nan)
        out["unigram_entropy"] = np.where(n > 0, _entropy_bits(uni_source, uni_counts, n, k), np.nan)
        out["hapax_share"] = np.bincount(uni_source, weights=(uni_counts == 1).astype(np.float64), minlength=k) / distinct
    out["zipf_exponent"], out["tail_mass"] = _zipf_and_tail(uni_source, uni_counts, n, tail_rank)
    # MATTR and MTLD walk each source's budget stream
    local = st.token_rank()[lex]
    prev_local = np.where(prev >= 0, local[np.maximum(prev, 0)], -1)
    next_local = np.where(nxt >= 0, local[np.maximum(nxt, 0)], -1)
    out["mattr"] = mattr_many(prev_local, local, src, n, distinct, window)
    out["mtld"] = mtld_many(prev_local, next_local, n, distinct, threshold)
    for key, values in out.items():
        out[key] = np.where(n > 0, values, np.nan)
    return out


def _gram_cells(base: np.ndarray, gram: np.ndarray, exact_bits: int | None, n_sources: int, doc_bits: int) -> np.ndarray:
    """Sorted uint64 keys (source | n-gram | document inside the source): one key per n-gram position;
    `base` holds each position's (source | document) bits (`_source_doc_bits`).

    `exact_bits` is the width of an exact n-gram id (None: a 64-bit hash, of which the top bits that
    fit are kept)."""
    s_bits = bits_for(n_sources)
    g_bits = 64 - s_bits - doc_bits
    if exact_bits is not None and exact_bits <= g_bits:
        key = gram.astype(_U64) << _U64(doc_bits)
    else:
        key = gram >> _U64(64 - g_bits)
        key <<= _U64(doc_bits)
    key |= base
    key.sort()
    return key


def _source_doc_bits(src: np.ndarray, local_doc: np.ndarray, n_sources: int) -> np.ndarray:
    """The source number in the high bits and the document inside the source in the low bits (uint64)."""
    base = src.astype(_U64) << _U64(64 - bits_for(n_sources))
    base |= local_doc.astype(_U64)
    return base


def _clipped_matches_many(keys: np.ndarray, n_sources: int, doc_bits: int, doc_offset: np.ndarray, hypothesis: np.ndarray, n_docs: int) -> np.ndarray:
    """Per document: its n-gram matches clipped by the largest count of the n-gram in any *other*
    document of its source (selfbleu._clipped_matches). `keys` come from `_gram_cells`; only
    documents marked in `hypothesis` get matches.

    An n-gram that occurs in one document of its source matches nothing, so only the n-grams seen
    in two or more documents of a source (few, beyond unigrams) go through the counting."""
    if not len(keys):
        return np.zeros(n_docs, dtype=np.int64)
    group_key = keys >> _U64(doc_bits)
    group_first, group_size = run_lengths(group_key)  # one run per (source, n-gram)
    group_last = group_first + group_size - 1
    shared = keys[group_first] != keys[group_last]  # documents sorted inside a group: several differ
    if not shared.any():
        return np.zeros(n_docs, dtype=np.int64)
    keys = keys[np.repeat(shared, group_size)]
    first, counts = run_lengths(keys)  # one run per (source, n-gram, document): a cell
    cell = keys[first]
    s_bits = bits_for(n_sources)
    doc = doc_offset[(cell >> _U64(64 - s_bits)).astype(np.int64)] + (cell & _U64((1 << doc_bits) - 1)).astype(np.int64)
    group_first, group_size = run_lengths(cell >> _U64(doc_bits))
    group = np.repeat(np.arange(len(group_first)), group_size)
    top = np.maximum.reduceat(counts, group_first)
    # the holder of the top count: the first cell of its group with it (documents in order)
    at_top = np.flatnonzero(counts == top[group])
    holder = np.full(len(group_first), -1, dtype=np.int64)
    holder[group[at_top[::-1]]] = at_top[::-1]
    rest = counts.copy()
    rest[holder] = 0
    second = np.maximum.reduceat(rest, group_first)
    best_other = top[group]
    best_other[holder] = second
    use = hypothesis[doc]
    return np.bincount(doc[use], weights=np.minimum(counts, best_other)[use], minlength=n_docs).astype(np.int64)


def _closest_other_length(src: np.ndarray, lengths: np.ndarray, hyp: np.ndarray, n_sources: int) -> np.ndarray:
    """For each hypothesis document, the length closest to its own among the other documents of its
    source (ties to the shorter; selfbleu.closest_other_length)."""
    s_bits = bits_for(n_sources)
    key = (src.astype(_U64) << _U64(64 - s_bits)) | lengths.astype(_U64)
    values = np.sort(key)
    first, counts = run_lengths(values)
    distinct = values[first]
    value_src = (distinct >> _U64(64 - s_bits)).astype(np.int64)
    value_len = (distinct & _U64((1 << (64 - s_bits)) - 1)).astype(np.int64)
    at = np.searchsorted(distinct, key[hyp])
    own = lengths[hyp]
    shared = counts[at] >= 2
    has_below = (at > 0) & (value_src[np.maximum(at - 1, 0)] == src[hyp])
    has_above = (at + 1 < len(distinct)) & (value_src[np.minimum(at + 1, len(distinct) - 1)] == src[hyp])
    below = np.where(has_below, value_len[np.maximum(at - 1, 0)], -(10**18))
    above = np.where(has_above, value_len[np.minimum(at + 1, len(distinct) - 1)], 10**18)
    nearest = np.where(own - below <= above - own, below, above)
    return np.where(shared, own, nearest)


def self_bleu_many(st: Streams, pair_docs: np.ndarray, grams: list[tuple[np.ndarray, np.ndarray]], hypotheses: int, max_n: int, epsilon: float) -> np.ndarray:
    """Self-BLEU of every source (selfbleu.self_bleu): each of its first `hypotheses` pairwise documents
    scored by sentence BLEU against all its other pairwise documents (`pair_docs` marks them; they
    are each source's first documents). NaN for a source with fewer than two such documents or no token."""
    k = st.n_sources
    doc_src = st.doc_source
    pair_count = np.bincount(doc_src[pair_docs], minlength=k)
    rank = st.doc_rank()
    hypothesis = pair_docs & (rank < hypotheses)
    doc_offset = segment_starts(st.docs_per_source())
    doc_bits = bits_for(int(pair_count.max()) if k else 1)
    tok_doc = st.doc()
    in_pair = pair_docs[tok_doc]
    every = bool(in_pair.all())  # every document pairwise (sources of at most `sample_docs` documents): no copies
    base = _source_doc_bits(doc_src[tok_doc], rank[tok_doc], k)
    if not every:
        base = base[in_pair]
    n_docs = st.n_docs
    matches = np.zeros((max_n, n_docs), dtype=np.int64)
    totals = np.zeros((max_n, n_docs), dtype=np.int64)
    type_bits = bits_for(len(st.vocab))
    for n in range(1, max_n + 1):
        gram, valid = grams[n - 1]
        use = valid if every else valid[in_pair]
        pick = slice(None) if n == 1 else use  # every token is a unigram (`valid` all true for n = 1)
        exact = type_bits * n if n <= 2 and type_bits * n <= 64 - bits_for(k) - doc_bits else None
        if n == 2 and exact is not None:  # exact pairs of token ids
            prev = np.zeros(len(st.tok), dtype=_U64)
            prev[1:] = st.tok[:-1].astype(_U64)
            gram = (prev << _U64(type_bits)) | st.tok.astype(_U64)
        keys = _gram_cells(base[pick], (gram if every else gram[in_pair])[pick], exact, k, doc_bits)
        matches[n - 1] = _clipped_matches_many(keys, k, doc_bits, doc_offset, hypothesis, n_docs)
        totals[n - 1] = np.maximum(st.doc_tokens - n + 1, 0)
    h = np.flatnonzero(hypothesis)
    m, t = matches[:, h], totals[:, h]
    precision = np.where(m == 0, epsilon, m) / np.maximum(t, 1)
    hyp_len = st.doc_tokens[h].astype(np.float64)
    ref_len = _closest_other_length(doc_src[pair_docs], st.doc_tokens[pair_docs], np.flatnonzero(hypothesis[pair_docs]), k)
    ref_len = ref_len.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a lone document: no reference (NaN below)
        bp = np.where(hyp_len > ref_len, 1.0, np.where(hyp_len == 0, 0.0, np.exp(1 - ref_len / np.maximum(hyp_len, 1))))
        scores = bp * np.exp(np.log(precision).mean(axis=0))
    scores = np.where(m[0] == 0, 0.0, scores)
    hyp_src = doc_src[h]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.bincount(hyp_src, weights=scores, minlength=k) / np.bincount(hyp_src, minlength=k)
    source_tokens = np.bincount(doc_src[pair_docs], weights=st.doc_tokens[pair_docs], minlength=k)
    return np.where((pair_count >= 2) & (source_tokens > 0), out, np.nan)


def spread_many(vectors: np.ndarray, source: np.ndarray, n_sources: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean pairwise cosine distance and Vendi score (spread.py) of every source from the embeddings
    of its documents (rows of `vectors`, grouped by `source`; zero rows are left out, as in
    EmbeddingSums.of). NaN: fewer than two documents with an embedding.

    The Vendi score takes the eigenvalues of the d x d matrix XᵀX/n or, for a source of fewer than d
    documents, of the n x n kernel XXᵀ/n: the same non-zero eigenvalues, for a fraction of the work.
    Sources of equal size are decomposed together (a stack of matrices, one LAPACK call)."""
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1)
    keep = norms > 0
    x, source = x[keep] / norms[keep, None], source[keep]
    n = np.bincount(source, minlength=n_sources)
    total = np.zeros((n_sources, x.shape[1]))
    if len(x):
        nonempty = n > 0
        total[nonempty] = np.add.reduceat(x, segment_starts(n)[nonempty], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = 1.0 - ((total * total).sum(axis=1) - n) / (n * (n - 1))
    distance = np.where(n >= 2, distance, np.nan)
    vendi = np.full(n_sources, np.nan)
    starts = segment_starts(n)
    dim = x.shape[1]
    for size in np.unique(n[n >= 2]):
        group = np.flatnonzero(n == size)
        rows = (starts[group][:, None] + np.arange(size)[None, :]).ravel()
        stack = x[rows].reshape(len(group), size, dim)
        matrices = stack @ stack.transpose(0, 2, 1) if size < dim else stack.transpose(0, 2, 1) @ stack
        eigenvalues = np.linalg.eigvalsh(matrices / size)
        lam = np.where(eigenvalues > 1e-12, eigenvalues, 0.0)
        lam = lam / lam.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.where(lam > 0, lam * np.log(np.where(lam > 0, lam, 1.0)), 0.0).sum(axis=1)
        vendi[group] = np.exp(entropy)
    return distance, vendi


def compression_many(sample: pl.DataFrame, source_col: str, tokens_col: str, n_tokens_col: str, budget_tokens_per_doc: np.ndarray, level: int) -> dict[str, float]:
    """compression_ratio of every source: raw / zstd size of its budget text (each document's budget
    tokens joined by spaces, documents joined by newlines, empty ones left out; as
    lexical.compression_ratio). Only the one document a budget cuts per source is re-joined."""
    import zstandard

    kept = sample.select(
        pl.int_range(pl.len()).alias("_i"), pl.col(source_col), pl.col(tokens_col).alias("_text"), pl.col(n_tokens_col), pl.Series("_take", budget_tokens_per_doc)
    ).filter(pl.col("_take") > 0)
    cut = kept.filter(pl.col("_take") < pl.col(n_tokens_col)).with_columns(
        pl.col("_text").str.split(" ").list.head(pl.col("_take")).list.join(" ")
    )
    whole = kept.filter(pl.col("_take") >= pl.col(n_tokens_col))
    joined = (
        pl.concat([whole, cut]).sort("_i").group_by(source_col, maintain_order=True).agg(pl.col("_text").str.join("\n"))
    )
    compressor = zstandard.ZstdCompressor(level=level)
    out = {}
    for name, body in joined.iter_rows():
        raw = body.encode("utf-8")
        out[name] = len(raw) / len(compressor.compress(raw))
    return out
