"""Self-BLEU with count tables against nltk's sentence_bleu (method1 smoothing) and by hand."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from synthscope.diversity.ngrams import token_stream
from synthscope.diversity.selfbleu import closest_other_length, self_bleu, sentence_bleus
from synthscope.text import tokenize

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_docs(n: int, domain: str, max_tokens: int = 80) -> list[list[str]]:
    docs: list[list[str]] = []
    with gzip.open(DATA / "detect_dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["domain"] == domain:
                docs.append(tokenize(row["text"])[:max_tokens])
                if len(docs) == n:
                    break
    return docs


def nltk_scores(docs: list[list[str]], hypotheses: int) -> list[float]:
    bleu = pytest.importorskip("nltk.translate.bleu_score")
    smooth = bleu.SmoothingFunction().method1
    return [
        bleu.sentence_bleu(docs[:i] + docs[i + 1 :], docs[i], smoothing_function=smooth)
        for i in range(min(hypotheses, len(docs)))
    ]


@pytest.mark.parametrize("domain", ["xsum", "writing", "pubmed"])
def test_matches_nltk_on_real_documents(domain: str) -> None:
    docs = real_docs(40, domain)
    ours = sentence_bleus(token_stream(docs), 15)
    assert ours == pytest.approx(nltk_scores(docs, 15), rel=1e-9, abs=1e-12)


def test_matches_nltk_on_edge_cases() -> None:
    docs = [
        ["the", "cat", "sat", "on", "the", "mat"],
        ["the", "cat"],  # shorter than 4 tokens: empty higher orders, smoothed
        ["zebra", "quagga"],  # no unigram match at all -> 0
        ["the", "the", "the", "the", "the", "the", "the"],  # clipping
        ["on", "the", "mat", "the", "cat", "sat"],
        ["the", "cat", "sat", "on", "the", "mat"],  # exact duplicate of the first
        ["a"] * 12,
        ["a"] * 15,
    ]
    ours = sentence_bleus(token_stream(docs), len(docs))
    assert ours == pytest.approx(nltk_scores(docs, len(docs)), rel=1e-9, abs=1e-12)
    assert ours[2] == 0.0
    assert ours[0] == pytest.approx(1.0)  # its duplicate is a reference


def test_self_bleu_by_hand() -> None:
    same = [["a", "b", "c", "d", "e"]] * 3
    assert self_bleu(token_stream(same)) == pytest.approx(1.0)
    disjoint = [["a", "b", "c", "d"], ["e", "f", "g", "h"], ["i", "j", "k", "l"]]
    assert self_bleu(token_stream(disjoint)) == 0.0
    # hyp "a b c d" vs ref "a b c e": p1 = 3/4, p2 = 2/3, p3 = 1/2, p4 = 0 -> 0.1/1; same length, bp = 1
    two = [["a", "b", "c", "d"], ["a", "b", "c", "e"]]
    expected = (3 / 4 * 2 / 3 * 1 / 2 * 0.1) ** 0.25
    assert sentence_bleus(token_stream(two), 1)[0] == pytest.approx(expected)


def test_closest_other_length_excludes_itself_and_prefers_shorter() -> None:
    lengths = np.array([10, 7, 13, 10, 3])
    # 10 -> another 10 exists; 7 -> 10 (3 away) vs 3 (4 away) -> 10; 13 -> 10; 3 -> 7
    assert closest_other_length(lengths, 5).tolist() == [10, 10, 10, 10, 7]
    assert closest_other_length(np.array([4, 2, 6]), 1).tolist() == [2]  # tie 2 vs 6 -> shorter


def test_repeated_documents_raise_self_bleu() -> None:
    docs = real_docs(60, "writing")
    collapsed = [docs[i % 10] for i in range(60)]
    assert self_bleu(token_stream(collapsed)) > self_bleu(token_stream(docs)) + 0.3
