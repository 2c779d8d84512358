"""Words per sentence of every document of a batch, from character classes (numpy), without a regex
match per sentence and per word.

A sentence is a match of `SENTENCE_PATTERN` and its length the number of `\\w+` runs in it; sentences
without a word are dropped. Scanning a text, that pattern consumes any character that is not `.!?`,
or a `.!?` together with the next character when that one is not white space, and stops at a `.!?`
followed by white space or the end of the text. Inside a run of `.!?` characters the scan takes them
in pairs from the run's first character, so a sentence ends after a run of *odd* length followed by
white space or the end (`"Wait.. what"` is one sentence, `"Wait... what"` two). A word never contains
`.!?` or white space, so every word lies inside one sentence, and a document's sentence lengths are
the numbers of word starts between consecutive sentence ends. The classes of characters are polars'
regex engine's own (`synthscope.char_classes`), so the lengths are the regex's
(`tests/test_detect_sentences.py` compares them on real and generated text).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from synthscope.char_classes import SENTENCE_END, SPACE, WORD, ByteClasses, byte_classes, run_starts

SENTENCE_PATTERN = r"(?:[^.!?]|[.!?]\S)+[.!?]*"


def _sentence_ends(classes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Byte positions just past every sentence end (the end of an odd run of `.!?` followed by white
    space or the end of its document), ascending."""
    ends = np.flatnonzero(classes == SENTENCE_END)
    if not len(ends):
        return ends
    doc = np.searchsorted(offsets, ends, side="right") - 1
    new_run = np.ones(len(ends), dtype=bool)
    new_run[1:] = (ends[1:] != ends[:-1] + 1) | (doc[1:] != doc[:-1])
    run_start = np.flatnonzero(new_run)
    run_length = np.diff(np.append(run_start, len(ends)))
    after = ends[run_start + run_length - 1] + 1
    at_document_end = after >= offsets[doc[run_start] + 1]
    spaced = classes[np.minimum(after, len(classes) - 1)] == SPACE
    return after[(run_length % 2 == 1) & (at_document_end | spaced)]


def sentence_lengths(texts: pa.Array | ByteClasses) -> tuple[np.ndarray, np.ndarray]:
    """(words of every sentence that has one, the document of each), documents in order, sentences in
    text order; null texts have no sentences. `texts` may be given as their `byte_classes`."""
    chars = texts if isinstance(texts, ByteClasses) else byte_classes(texts)
    offsets, classes = chars.offsets, chars.classes
    documents = len(offsets) - 1
    words = run_starts(classes == WORD, offsets)  # where every word begins
    ends = _sentence_ends(classes, offsets)
    bounds = np.concatenate([offsets[:-1], ends])
    bound_doc = np.concatenate([np.arange(documents, dtype=np.int64), np.searchsorted(offsets, ends, side="right") - 1])
    order = np.argsort(bounds, kind="stable")  # a document's start before a sentence end at the same byte
    bounds, bound_doc = bounds[order], bound_doc[order]
    counts = np.diff(np.searchsorted(words, np.append(bounds, offsets[-1])))
    keep = counts > 0
    return counts[keep], bound_doc[keep]


def sentence_length_stats(texts: pa.Array | ByteClasses) -> tuple[np.ndarray, np.ndarray]:
    """Per document: (mean words per sentence, their coefficient of variation: sample standard deviation
    over the mean); NaN without a sentence (the mean) or with fewer than two (the variation)."""
    lengths, doc = sentence_lengths(texts)
    documents = len(texts.offsets) - 1 if isinstance(texts, ByteClasses) else len(texts)
    n = np.bincount(doc, minlength=documents).astype(np.float64)
    values = lengths.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(doc, weights=values, minlength=documents) / n
        deviation = values - mean[doc]
        std = np.sqrt(np.bincount(doc, weights=deviation * deviation, minlength=documents) / (n - 1))
        mean[n == 0] = np.nan
        std[n < 2] = np.nan
        return mean, std / mean
