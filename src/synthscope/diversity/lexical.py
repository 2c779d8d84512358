"""Lexical diversity of a token budget: TTR, MATTR, MTLD, distinct-n, entropies, vocabulary tail.

Every function takes the budget as a TokenStream (see ngrams.py) and is vectorised with numpy,
except MTLD, which walks factor by factor (each factor is found with numpy).
"""

from __future__ import annotations

import zlib

import numpy as np

from synthscope.diversity.ngrams import TokenStream, ngram_ids

MATTR_WINDOW = 50
MTLD_THRESHOLD = 0.72
COMPRESSION_LEVEL = 6


def type_counts(ids: np.ndarray) -> np.ndarray:
    """Occurrences of every type that occurs (order irrelevant)."""
    counts = np.bincount(ids)
    return counts[counts > 0]


def ttr(ids: np.ndarray) -> float:
    """Type-token ratio."""
    return float(np.unique(ids).size / ids.size)


def previous_occurrence(ids: np.ndarray) -> np.ndarray:
    """Index of the previous occurrence of the same token, -1 for a first occurrence."""
    order = np.argsort(ids, kind="stable")
    prev = np.full(ids.size, -1, dtype=np.int64)
    same = ids[order[1:]] == ids[order[:-1]]
    prev[order[1:][same]] = order[:-1][same]
    return prev


def mattr(ids: np.ndarray, window: int = MATTR_WINDOW) -> float:
    """Moving-average TTR (Covington & McFall 2010): mean TTR over all windows of `window` tokens.

    A text shorter than the window gets its plain TTR. Token i adds one type to every window that
    starts after its previous occurrence and at or before i, which a difference array counts in O(n).
    """
    n = ids.size
    if n <= window:
        return ttr(ids)
    prev = previous_occurrence(ids)
    positions = np.arange(n)
    first = np.maximum(prev + 1, positions - window + 1)
    starts = n - window + 1
    diff = np.bincount(np.minimum(first, starts), minlength=starts + 1) - np.bincount(
        np.minimum(positions + 1, starts), minlength=starts + 1
    )
    distinct = np.cumsum(diff)[:starts]
    return float(distinct.mean() / window)


def _mtld_pass(ids: np.ndarray, threshold: float) -> float:
    """One MTLD pass (McCarthy & Jarvis 2010), as in lexicalrichness: tokens per factor."""
    n = ids.size
    prev = previous_occurrence(ids)
    factors = 0.0
    start = 0
    last_ttr = 1.0
    while start < n:
        chunk = 256
        while True:
            end = min(n, start + chunk)
            new_type = prev[start:end] < start
            distinct = np.cumsum(new_type)
            running = distinct / np.arange(1, end - start + 1)
            hit = np.flatnonzero(running <= threshold)
            if hit.size or end == n:
                break
            chunk *= 4
        if hit.size:
            factors += 1
            start += int(hit[0]) + 1
            last_ttr = 1.0
            continue
        last_ttr = float(running[-1])
        factors += (1 - last_ttr) / (1 - threshold)
        start = n
    if factors == 0:
        whole = ttr(ids)
        factors = 1.0 if whole == 1 else (1 - whole) / (1 - threshold)
    return n / factors


def mtld(ids: np.ndarray, threshold: float = MTLD_THRESHOLD) -> float:
    """Measure of textual lexical diversity: mean of the forward and the backward pass."""
    return (_mtld_pass(ids, threshold) + _mtld_pass(ids[::-1], threshold)) / 2


def entropy_bits(counts: np.ndarray) -> float:
    """Shannon entropy (bits) of a distribution given by counts."""
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def zipf_exponent(counts: np.ndarray) -> float | None:
    """Zipf exponent s: least-squares slope of log frequency on log rank, negated.

    Fitted over the types seen at least twice (the hapax plateau would flatten the fit);
    None when fewer than three such types exist.
    """
    freq = np.sort(counts)[::-1]
    freq = freq[freq >= 2]
    if freq.size < 3:
        return None
    x = np.log(np.arange(1, freq.size + 1))
    y = np.log(freq)
    slope = np.polyfit(x, y, 1)[0]
    return float(-slope)


def tail_mass(counts: np.ndarray, tail_rank: int) -> float:
    """Share of tokens whose type ranks below the `tail_rank` most frequent types."""
    freq = np.sort(counts)[::-1]
    return float(freq[tail_rank:].sum() / freq.sum())


def compression_ratio(stream: TokenStream) -> float:
    """Raw size / zlib size (level 6) of the budget, tokens joined by spaces, documents by newlines."""
    raw = "\n".join(t for t in stream.texts() if t).encode("utf-8")
    return len(raw) / len(zlib.compress(raw, COMPRESSION_LEVEL))


def lexical_metrics(
    stream: TokenStream, *, window: int = MATTR_WINDOW, threshold: float = MTLD_THRESHOLD, tail_rank: int = 500
) -> dict[str, float | None]:
    """All lexical report fields of a non-empty token budget."""
    if stream.n_tokens == 0:
        raise ValueError("lexical metrics need at least one token")
    ids = stream.ids
    counts = type_counts(ids)
    grams = ngram_ids(stream, 3)
    distinct = {f"distinct_{n}": (float(np.unique(g).size / g.size) if g.size else None) for n, (g, _) in enumerate(grams, 1)}
    bigrams = grams[1][0]
    return {
        "ttr": ttr(ids),
        "mattr": mattr(ids, window),
        "mtld": mtld(ids, threshold),
        **distinct,
        "unigram_entropy": entropy_bits(counts),
        "bigram_entropy": entropy_bits(type_counts(bigrams)) if bigrams.size else None,
        "hapax_share": float((counts == 1).sum() / counts.size),
        "zipf_exponent": zipf_exponent(counts),
        "tail_mass": tail_mass(counts, tail_rank),
        "compression_ratio": compression_ratio(stream),
    }

