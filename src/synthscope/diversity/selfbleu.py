"""Self-BLEU of a document sample with n-gram count tables (no per-pair loop).

Each of the first `hypotheses` documents is scored by sentence BLEU-4 against all the other sampled
documents as references, exactly as `nltk.translate.bleu_score.sentence_bleu` with
`SmoothingFunction().method1` (epsilon 0.1 added to zero matches) does; self-BLEU is the mean.
Clipping needs, per n-gram, the largest count in any *other* document: the table keeps the largest and
the second-largest count per n-gram and the document holding the largest.
"""

from __future__ import annotations

import numpy as np

from synthscope.diversity.ngrams import TokenStream, ngram_ids

MAX_N = 4
EPSILON = 0.1


def _clipped_matches(grams: np.ndarray, docs: np.ndarray, n_hyp: int) -> tuple[np.ndarray, np.ndarray]:
    """Per hypothesis: clipped n-gram matches against the other documents, and its n-gram count."""
    if grams.size == 0:
        zeros = np.zeros(n_hyp, dtype=np.int64)
        return zeros, zeros
    n_grams = int(grams.max()) + 1
    cells, counts = np.unique(docs * n_grams + grams, return_counts=True)
    doc, gram = cells // n_grams, cells % n_grams
    order = np.lexsort((-counts, gram))  # by n-gram, largest count first
    doc, gram, counts = doc[order], gram[order], counts[order]
    first = np.r_[True, gram[1:] != gram[:-1]]
    head = np.flatnonzero(first)
    top_count = np.zeros(n_grams, dtype=np.int64)
    top_doc = np.full(n_grams, -1, dtype=np.int64)
    second = np.zeros(n_grams, dtype=np.int64)
    top_count[gram[head]] = counts[head]
    top_doc[gram[head]] = doc[head]
    has_second = head + 1 < gram.size
    runner = head[has_second] + 1
    same = gram[runner] == gram[head[has_second]]
    second[gram[runner[same]]] = counts[runner[same]]
    is_hyp = doc < n_hyp
    d, g, c = doc[is_hyp], gram[is_hyp], counts[is_hyp]
    best_other = np.where(top_doc[g] == d, second[g], top_count[g])
    matches = np.bincount(d, weights=np.minimum(c, best_other), minlength=n_hyp)
    totals = np.bincount(d, weights=c, minlength=n_hyp)
    return matches.astype(np.int64), totals.astype(np.int64)


def closest_other_length(lengths: np.ndarray, n_hyp: int) -> np.ndarray:
    """For each hypothesis, the reference length closest to its own among the other documents
    (ties go to the shorter one, as in nltk)."""
    values, counts = np.unique(lengths, return_counts=True)
    hyp = lengths[:n_hyp]
    at = np.searchsorted(values, hyp)
    own_shared = counts[at] >= 2
    below = np.where(at > 0, values[np.maximum(at - 1, 0)], -(10**18))
    above = np.where(at + 1 < values.size, values[np.minimum(at + 1, values.size - 1)], 10**18)
    nearest = np.where(hyp - below <= above - hyp, below, above)
    return np.where(own_shared, hyp, nearest)


def sentence_bleus(stream: TokenStream, hypotheses: int, max_n: int = MAX_N, epsilon: float = EPSILON) -> np.ndarray:
    """BLEU of each of the first `hypotheses` documents against all the other documents."""
    if stream.n_docs < 2:
        raise ValueError("self-BLEU needs at least two documents")
    n_hyp = min(hypotheses, stream.n_docs)
    matches = np.zeros((max_n, n_hyp), dtype=np.int64)
    totals = np.zeros((max_n, n_hyp), dtype=np.int64)
    for n, (grams, docs) in enumerate(ngram_ids(stream, max_n)):
        matches[n], totals[n] = _clipped_matches(grams, docs, n_hyp)
    denominators = np.maximum(totals, 1)
    precision = np.where(matches == 0, epsilon, matches) / denominators
    lengths = stream.doc_lengths()
    hyp_len = lengths[:n_hyp].astype(np.float64)
    ref_len = closest_other_length(lengths, n_hyp).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(hyp_len > ref_len, 1.0, np.where(hyp_len == 0, 0.0, np.exp(1 - ref_len / np.maximum(hyp_len, 1))))
    scores = bp * np.exp(np.log(precision).mean(axis=0))
    return np.where(matches[0] == 0, 0.0, scores)


def self_bleu(stream: TokenStream, hypotheses: int = 200) -> float:
    """Mean sentence BLEU-4 of the first `hypotheses` documents against the rest of the sample."""
    return float(sentence_bleus(stream, hypotheses).mean())
