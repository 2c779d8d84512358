"""Embedding spread: Vendi dual form against the kernel form, mergeable sums, hashed embedder."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from synthscope.diversity.embed import HashedEmbedder, parse_embedder
from synthscope.diversity.ngrams import token_stream
from synthscope.diversity.spread import EmbeddingSums, mean_cosine_distance, unit_rows, vendi_score, vendi_score_kernel
from synthscope.errors import InputError, UsageError
from synthscope.text import tokenize

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.parametrize(("n", "d", "seed"), [(60, 8, 0), (7, 32, 1), (200, 64, 2)])
def test_vendi_dual_equals_kernel_form(n: int, d: int, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal((n, d))
    assert vendi_score(EmbeddingSums.of(x)) == pytest.approx(vendi_score_kernel(x), rel=1e-9)


def test_sums_merge_like_one_pass() -> None:
    x = np.random.default_rng(3).standard_normal((90, 16))
    whole = EmbeddingSums.of(x)
    parts = EmbeddingSums.of(x[:10]).merge(EmbeddingSums.of(x[10:55]).merge(EmbeddingSums.of(x[55:])))
    assert parts.n == whole.n
    np.testing.assert_allclose(parts.total, whole.total)
    np.testing.assert_allclose(parts.outer, whole.outer)
    assert vendi_score(parts) == pytest.approx(vendi_score(whole))


def test_mean_cosine_distance_against_all_pairs() -> None:
    x = np.random.default_rng(4).standard_normal((40, 12)) + 0.5
    u = unit_rows(x)
    sims = u @ u.T
    expected = 1 - (sims.sum() - np.trace(sims)) / (40 * 39)
    assert mean_cosine_distance(EmbeddingSums.of(x)) == pytest.approx(expected)


def test_spread_by_hand() -> None:
    same = np.tile([[3.0, 4.0]], (5, 1))
    assert vendi_score(EmbeddingSums.of(same)) == pytest.approx(1.0)
    assert mean_cosine_distance(EmbeddingSums.of(same)) == pytest.approx(0.0)
    basis = np.eye(4)
    assert vendi_score(EmbeddingSums.of(basis)) == pytest.approx(4.0)
    assert mean_cosine_distance(EmbeddingSums.of(basis)) == pytest.approx(1.0)
    assert mean_cosine_distance(EmbeddingSums.of(basis[:1])) is None
    assert EmbeddingSums.of(np.zeros((2, 3))).n == 0  # zero rows carry no direction


def docs_of(domain: str, n: int) -> list[list[str]]:
    out: list[list[str]] = []
    with gzip.open(DATA / "detect_dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["domain"] == domain and row["label"] == "human":
                out.append(tokenize(row["text"]))
                if len(out) == n:
                    break
    return out


def test_hashed_embedder_is_deterministic_and_order_free() -> None:
    docs = docs_of("xsum", 30)
    emb = HashedEmbedder(seed=7)
    a = emb.embed(token_stream(docs))
    b = emb.embed(token_stream(docs[::-1]))[::-1]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)  # vocabulary order must not matter
    np.testing.assert_allclose(emb.embed(token_stream(docs[:3])), a[:3], rtol=1e-5, atol=1e-5)  # nor the other documents
    assert not np.allclose(HashedEmbedder(seed=8).embed(token_stream(docs[:3])), a[:3])
    assert np.all(emb.embed(token_stream([[]])) == 0)


def test_hashed_embedder_separates_topics() -> None:
    """Two documents of one domain are closer than documents of different domains, on average."""
    news, science = docs_of("xsum", 40), docs_of("pubmed", 40)
    u = unit_rows(HashedEmbedder().embed(token_stream(news + science)))
    sims = u @ u.T
    within = (sims[:40, :40].sum() - 40 + sims[40:, 40:].sum() - 40) / (2 * 40 * 39)
    across = sims[:40, 40:].mean()
    assert within > across * 1.5
    u = unit_rows(HashedEmbedder(sif=False).embed(token_stream(news + science)))
    plain = u @ u.T
    plain_within = (plain[:40, :40].sum() - 40 + plain[40:, 40:].sum() - 40) / (2 * 40 * 39)
    assert within / across > plain_within / plain[:40, 40:].mean()  # SIF weights sharpen topics


def test_spread_falls_when_documents_repeat() -> None:
    docs = docs_of("writing", 80)
    collapsed = [docs[i % 8] for i in range(80)]
    emb = HashedEmbedder()
    varied, narrow = EmbeddingSums.of(emb.embed(token_stream(docs))), EmbeddingSums.of(emb.embed(token_stream(collapsed)))
    assert vendi_score(narrow) < vendi_score(varied) / 2
    assert mean_cosine_distance(narrow) < mean_cosine_distance(varied)


def test_parse_embedder_errors(tmp_path: Path) -> None:
    assert isinstance(parse_embedder("hashed", 1), HashedEmbedder)
    with pytest.raises(UsageError, match="expected 'hashed' or 'model2vec:PATH'"):
        parse_embedder("bert", 1)
    with pytest.raises(InputError, match="no such folder"):
        parse_embedder(f"model2vec:{tmp_path / 'missing'}", 1)


def test_hashed_embedder_same_vectors_whether_types_are_projected_at_once_or_per_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every word type projected once per call, or per chunk of documents (a vocabulary too large to
    project at once): the same products, so the same vectors bit for bit."""
    import synthscope.diversity.embed as embed

    docs = docs_of("xsum", 60) + docs_of("pubmed", 60)
    emb = HashedEmbedder(seed=3)
    at_once = emb.embed(token_stream(docs), chunk=16)
    monkeypatch.setattr(embed, "MAX_PROJECTED_TYPES", 0)
    per_chunk = emb.embed(token_stream(docs), chunk=16)
    assert np.array_equal(at_once, per_chunk)
    assert np.abs(at_once).sum() > 0


def test_hashed_embedder_same_vectors_with_its_type_cache_cold_warm_or_started_again() -> None:
    """The per-type values a process keeps across embed calls (type_cache.py) give the vectors of a
    call on its own, bit for bit: with the cache empty, filled by other documents, and started again
    once full."""
    import synthscope.diversity.embed as embed

    news, science = docs_of("xsum", 60), docs_of("pubmed", 60)
    emb = HashedEmbedder(seed=5)
    cache = emb._types()
    cache.clear()
    cold = emb.embed(token_stream(news))
    assert cache.size > 0
    emb.embed(token_stream(science + news[:10]))
    warm = emb.embed(token_stream(news))
    assert np.array_equal(cold, warm)
    held = cache.size
    cache.max_types = held + 5  # the next new vocabulary does not fit: the cache starts again
    try:
        again = emb.embed(token_stream(news + [["zzqx", "qqzx"] * 4] + science))
        assert cache.size < held + 5
    finally:
        cache.max_types = embed.MAX_CACHED_TYPES
        cache.clear()
    assert np.array_equal(again[:60], cold)
