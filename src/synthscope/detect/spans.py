"""Where a document's span features matched: the listed words, stock phrases, transition openers and
participial clauses that detect's features count, as character spans of the original text.

The spans come from the very patterns and word lists the features count (`features.match_patterns`,
`features.token_rules` on the tokens of `text.py`), run on the same normalised text (NFKC, lower case,
white space collapsed), so a document has exactly as many spans of a feature as the feature counted.
Each match is found with one vectorised `replace_all` that wraps its `span` group in NUL marks, then
`split`: the piece lengths give the offsets. Offsets are then mapped back to the original text, in
Unicode code points (Python string indexes): normalising keeps the white-space separated words of a
text (it only collapses the white space between them), so the k-th word of the normalised text is the
k-th word of the original, and inside a word whose normalised form has its length (almost every word)
an offset maps to itself. The rare rest is mapped by normalising the word one character (with its
combining marks) at a time: a word whose normalisation changes its length ('…' becomes '...', a
ligature, a decomposed accent), and a text whose normalisation adds white space (NFKC turns '´' into a
space and an accent); a span boundary inside such a character falls on its edge.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection

import numpy as np
import polars as pl
import pyarrow as pa

from synthscope.analyzer import TEXT
from synthscope.detect.features import SPAN_FEATURES, TokenRule, match_patterns, token_rules
from synthscope.text import CHARACTER_TOKEN_PATTERN, CHARACTERS, NORM, TOKEN_PATTERN, TOKENIZATION, prepare, segment_starts

FEATURE, START, END = "feature", "start", "end"
SPAN_STRUCT = pl.Struct({FEATURE: pl.String, START: pl.Int64, END: pl.Int64})
SPANS_DTYPE = pl.List(SPAN_STRUCT)
_MARK = "\x00"
_MARKED = "${pre}\x00${span}\x00"
_POSITION_BITS = 40  # offsets inside one text stay below 2**40 characters


def span_features(features: Collection[str] | None = None) -> list[str]:
    """The span features among `features` (all of them when None), in SPAN_FEATURES order."""
    return [f for f in SPAN_FEATURES if features is None or f in features]


def document_spans(batch: pl.DataFrame, features: Collection[str] | None = None) -> pl.Series:
    """Per row of a prepared batch: the spans of its `text` that the span features matched (only those
    in `features`, when given), as a list of structs (feature, start, end), sorted by start, end and
    feature. `start`/`end` are code-point offsets into the original text (end exclusive)."""
    wanted = set(span_features(features))
    norm = batch[NORM].fill_null("").str.replace_all(_MARK, "\x01", literal=True)  # keep the marks unambiguous
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    names = list(SPAN_FEATURES)
    for match in match_patterns():
        if match.feature in wanted:
            rows, starts, ends, _ = _matches(norm, match.pattern)
            found.append((rows, starts, ends, np.full(len(rows), names.index(match.feature), dtype=np.int64)))
    rules = [rule for f, rule in token_rules().items() if f in wanted]
    if rules:
        found.extend(_token_matches(batch, norm, rules, names))
    rows = np.concatenate([f[0] for f in found]) if found else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([f[1] for f in found]) if found else np.zeros(0, dtype=np.int64)
    ends = np.concatenate([f[2] for f in found]) if found else np.zeros(0, dtype=np.int64)
    codes = np.concatenate([f[3] for f in found]) if found else np.zeros(0, dtype=np.int64)
    raw_starts, raw_ends = _to_original(batch[TEXT].fill_null(""), norm, rows, starts, ends)
    order = np.lexsort((codes, raw_ends, raw_starts, rows))
    return _as_lists(batch.height, rows[order], raw_starts[order], raw_ends[order], np.asarray(names, dtype=object)[codes[order]])


def text_spans(texts: list[str], features: Collection[str] | None = None) -> list[list[dict[str, object]]]:
    """`document_spans` of raw texts (normalised and tokenised as the audit does), as Python lists."""
    if not texts:
        return []
    spans = document_spans(prepare(pl.DataFrame({TEXT: texts}, schema={TEXT: pl.String})), features)
    return [list(s) if s is not None else [] for s in spans.to_list()]


def _matches(norm: pl.Series, pattern: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, pl.Series]:
    """(row, start, end, text) of every match's `span` group in the normalised texts (offsets in them)."""
    hit = norm.str.contains(pattern).fill_null(False)
    if not hit.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, pl.Series([], dtype=pl.String)
    row_of = hit.arg_true().to_numpy().astype(np.int64)
    pieces = norm.filter(hit).str.replace_all(pattern, _MARKED).str.split(_MARK)
    lengths = pieces.list.eval(pl.element().str.len_chars()).explode().to_numpy().astype(np.int64)
    per_row = pieces.list.len().to_numpy().astype(np.int64)
    first = np.zeros(len(per_row), dtype=np.int64)
    np.cumsum(per_row[:-1], out=first[1:])
    ends = np.cumsum(lengths)
    ends -= np.repeat(ends[first] - lengths[first], per_row)  # offsets inside each text
    index = np.arange(len(lengths), dtype=np.int64) - np.repeat(first, per_row)
    odd = index % 2 == 1  # pieces alternate: text, span, text, span, ..., text
    rows = np.repeat(row_of, per_row)[odd]
    return rows, ends[odd] - lengths[odd], ends[odd], pieces.explode().filter(pl.Series(odd))


def _token_matches(
    batch: pl.DataFrame, norm: pl.Series, rules: list[TokenRule], names: list[str]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Spans of the tokens a word-level rule counts, tokenising each text as `prepare` did (only texts
    holding a listed word or a searched-for character are tokenised)."""
    needles = sorted(set().union(*(rule.words for rule in rules)) | {rule.contains for rule in rules if rule.contains})
    candidate = norm.str.contains_any(needles).fill_null(False).to_numpy()
    characters = (batch[TOKENIZATION] == CHARACTERS).fill_null(False).to_numpy() if TOKENIZATION in batch.columns else np.zeros(len(norm), bool)
    out = []
    for pattern, rows_of_kind in ((TOKEN_PATTERN, candidate & ~characters), (CHARACTER_TOKEN_PATTERN, candidate & characters)):
        if not rows_of_kind.any():
            continue
        at = np.flatnonzero(rows_of_kind)
        rows, starts, ends, tokens = _matches(norm.gather(at), f"(?P<pre>)(?P<span>{pattern})")
        for rule in rules:
            keep = rule.matches(tokens).to_numpy()
            out.append((at[rows[keep]], starts[keep], ends[keep], np.full(int(keep.sum()), names.index(rule.feature), dtype=np.int64)))
    return out


def _to_original(
    text: pl.Series, norm: pl.Series, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Map offsets in the normalised texts to offsets in the original texts (see the module doc)."""
    raw_starts, raw_ends = starts.copy(), ends.copy()
    if len(rows) == 0:
        return raw_starts, raw_ends
    with_spans = np.unique(rows)
    raw = text.gather(with_spans)
    normal = norm.gather(with_spans)
    raw_words = raw.str.extract_all(r"\S+")
    raw_len = raw_words.list.eval(pl.element().str.len_chars()).explode().fill_null(0).to_numpy().astype(np.int64)
    raw_count = raw_words.list.len().to_numpy().astype(np.int64)
    gaps = raw.str.strip_chars_start().str.extract_all(r"\s+")
    gap_len = gaps.list.eval(pl.element().str.len_chars()).explode().fill_null(0).to_numpy().astype(np.int64)
    gap_count = gaps.list.len().to_numpy().astype(np.int64)
    lead = (raw.str.len_chars() - raw.str.strip_chars_start().str.len_chars()).to_numpy().astype(np.int64)
    norm_words = normal.str.split(" ")
    norm_len = norm_words.list.eval(pl.element().str.len_chars()).explode().fill_null(0).to_numpy().astype(np.int64)
    norm_count = norm_words.list.len().to_numpy().astype(np.int64)
    aligned = raw_count == norm_count
    # exploded word arrays of the aligned rows only (raw_len/norm_len hold every row's words)
    raw_first = segment_starts(raw_count)
    norm_first = segment_starts(norm_count)
    gap_first = segment_starts(gap_count)
    word_row = np.repeat(np.arange(len(with_spans)), norm_count)
    pos_in_row = np.arange(len(norm_len)) - np.repeat(norm_first, norm_count)
    in_aligned = aligned[word_row]
    raw_index = np.where(in_aligned, raw_first[word_row] + np.minimum(pos_in_row, np.maximum(raw_count[word_row] - 1, 0)), 0)
    r_len = np.where(in_aligned, raw_len[raw_index] if len(raw_len) else 0, 0)
    has_gap = pos_in_row < gap_count[word_row]
    g_len = np.where(in_aligned & has_gap, gap_len[np.minimum(gap_first[word_row] + pos_in_row, max(len(gap_len) - 1, 0))] if len(gap_len) else 0, 0)
    step = r_len + g_len
    r_start = np.cumsum(step) - step
    r_start -= np.repeat(r_start[norm_first], norm_count)
    r_start += np.repeat(lead, norm_count)
    n_start = np.cumsum(norm_len + 1) - (norm_len + 1)
    n_start -= np.repeat(n_start[norm_first], norm_count)
    keys = (word_row.astype(np.int64) << _POSITION_BITS) + n_start

    local = np.searchsorted(with_spans, rows)
    row_ok = aligned[local]
    raw_word_text = raw_words.explode()

    def map_positions(positions: np.ndarray, is_end: bool) -> np.ndarray:
        probe = positions - 1 if is_end else positions
        word = np.searchsorted(keys, (local.astype(np.int64) << _POSITION_BITS) + np.maximum(probe, 0), side="right") - 1
        word = np.clip(word, 0, len(keys) - 1)
        offset = positions - n_start[word]
        nl, rl, rs = norm_len[word], r_len[word], r_start[word]
        mapped = np.where(offset <= 0, rs, np.where(offset >= nl, rs + rl, rs + offset))
        odd = row_ok & (nl != rl) & (offset > 0) & (offset < nl)
        for i in np.flatnonzero(odd):  # inside a word whose normalisation changed its length: rare
            w = int(word[i])
            raw_word = str(raw_word_text[int(raw_index[w])])
            mapped[i] = rs[i] + _offset_in_word(raw_word, int(offset[i]), is_end)
        return mapped

    raw_starts = map_positions(starts, False)
    raw_ends = map_positions(ends, True)
    ranges_of: dict[int, list[tuple[int, int]]] = {}
    for i in np.flatnonzero(~row_ok):  # normalisation added white space: map character by character
        j = int(local[i])
        if j not in ranges_of:
            ranges_of[j] = _char_ranges(str(raw[j]))
        ranges = ranges_of[j]
        last = len(ranges) - 1
        raw_starts[i] = ranges[min(int(starts[i]), last)][0] if ranges else 0
        raw_ends[i] = ranges[min(int(ends[i]) - 1, last)][1] if ranges else 0
    return raw_starts, raw_ends


# Unicode White_Space, what the regex class \\s and polars' strip_chars mean by white space (str.isspace
# would also take the separators U+001C-U+001F)
_WHITE_SPACE = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B))))


def _normal(chars: str) -> str:
    """One character with its combining marks, normalised as text.normalize_expr does (white space aside)."""
    return unicodedata.normalize("NFKC", chars).lower().replace("’", "'")


def _clusters(text: str) -> list[tuple[int, int]]:
    """(start, end) of each character with the combining marks that follow it."""
    out: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if out and unicodedata.combining(ch):
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


def _offset_in_word(raw_word: str, offset: int, is_end: bool) -> int:
    """The offset in `raw_word` of `offset` characters into its normalised form."""
    done = 0
    for start, end in _clusters(raw_word):
        size = len(_normal(raw_word[start:end]))
        if (offset < done + size) if not is_end else (offset <= done + size):
            return end if is_end else start
        done += size
    return len(raw_word)


def _char_ranges(text: str) -> list[tuple[int, int]]:
    """For each character of the normalised `text`, the range of original characters it came from."""
    pieces: list[tuple[str, int, int]] = []
    for start, end in _clusters(text):
        for ch in _normal(text[start:end]):
            pieces.append((ch, start, end))
    out: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    for ch, start, end in pieces:
        if ch in _WHITE_SPACE:
            run = (run[0], end) if run else (start, end)
            continue
        if run is not None and out:  # a white-space run between words: one space
            out.append(run)
        run = None
        out.append((start, end))
    return out


def _as_lists(height: int, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, features: np.ndarray) -> pl.Series:
    """A list-of-struct Series with one (possibly empty) list per row; rows sorted ascending."""
    counts = np.bincount(rows, minlength=height) if len(rows) else np.zeros(height, dtype=np.int64)
    offsets = np.zeros(height + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    struct = pa.StructArray.from_arrays(
        [pa.array(features.tolist(), pa.large_string()), pa.array(starts, pa.int64()), pa.array(ends, pa.int64())],
        names=[FEATURE, START, END],
    )
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), struct)
    series = pl.from_arrow(lists)
    assert isinstance(series, pl.Series)
    return series.alias("spans").cast(SPANS_DTYPE)
