"""Diversity of many sources at once (diversity/many.py) against the per-source functions, and the
on-disk sample candidates (diversity/spill.py) against the in-memory ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

import synthscope.diversity.analyzer as analyzer_module
from synthscope.diversity import many
from synthscope.diversity.analyzer import DiversityAnalyzer
from synthscope.diversity.embed import HashedEmbedder
from synthscope.diversity.lexical import lexical_metrics
from synthscope.diversity.ngrams import token_stream
from synthscope.diversity.sample import empty_sample, sample_batch, sample_tokens, truncate
from synthscope.diversity.selfbleu import self_bleu
from synthscope.diversity.spread import EmbeddingSums, mean_cosine_distance, vendi_score
from synthscope.pipeline import AuditConfig, run_audit
from synthscope.text import prepare

BUDGET, DOCS, HYP = 3_000, 12, 5  # small budgets so that many sources fill them and many do not


@pytest.fixture(scope="module")
def many_sources(dev_frame: pl.DataFrame) -> pl.DataFrame:
    """Real documents in 160 sources of 1 to 40 documents (plus copies, empty and one-word texts)."""
    texts = dev_frame["text"].head(2600).to_list()
    sizes = [1 + (i * 7) % 40 for i in range(160)]
    rows, at = [], 0
    for s, size in enumerate(sizes):
        for j in range(size):
            text = texts[at % len(texts)] if j % 9 != 4 else texts[(at - 1) % len(texts)]  # some copies
            rows.append({"doc_id": f"d{at}", "source": f"src{s:03d}", "text": text if s % 31 else "!!", "file": "f", "_row": at})
            at += 1
    rows.append({"doc_id": "one", "source": "one-word", "text": "hello", "file": "f", "_row": at})
    return prepare(pl.DataFrame(rows))


def _sample(prepared: pl.DataFrame) -> pl.DataFrame:
    return truncate(sample_batch(prepared, 1, DOCS, BUDGET, "doc_id"), DOCS, BUDGET)


def test_lexical_bleu_and_spread_of_many_sources_equal_the_per_source_functions(many_sources: pl.DataFrame) -> None:
    sample = _sample(many_sources)
    st = many.streams_of(sample, "source", "tokens_joined", "n_tokens")
    lex, pair = st.token_rank() < BUDGET, st.doc_rank() < DOCS
    grams = many.gram_hashes(st.tok, st.tok_hash(), st.pos(), 4)
    lexical = many.lexical_many(st, lex, grams, window=50, threshold=0.72, tail_rank=BUDGET // 100)
    bleu = many.self_bleu_many(st, pair, grams, HYP, 4, 0.1)
    embedder = HashedEmbedder(1)
    tok_doc = st.doc()
    from synthscope.diversity.ngrams import TokenStream

    index = np.cumsum(pair) - 1
    stream = TokenStream(st.tok[pair[tok_doc]], index[tok_doc[pair[tok_doc]]], np.asarray(st.vocab.to_pylist(), dtype=object), int(pair.sum()))
    distance, vendi = many.spread_many(embedder.embed(stream), st.doc_source[pair], st.n_sources)
    checked = 0
    for i, ((name,), group) in enumerate(sample.group_by("source", maintain_order=True)):
        assert st.names[i] == name
        tokens = token_stream(sample_tokens(group))
        budget, pairwise = tokens.head_tokens(BUDGET), tokens.head_docs(DOCS)
        if budget.n_tokens:
            for key, want in lexical_metrics(budget, window=50, threshold=0.72, tail_rank=BUDGET // 100).items():
                if key == "compression_ratio":
                    continue
                got = lexical[key][i]
                assert (want is None) == bool(np.isnan(got)), (name, key)
                if want is not None:
                    assert abs(got - want) <= 1e-9 * max(1.0, abs(want)), (name, key, got, want)
        else:
            assert all(np.isnan(v[i]) for v in lexical.values())
        want_bleu = self_bleu(pairwise, HYP) if pairwise.n_docs >= 2 and pairwise.n_tokens else None
        assert (want_bleu is None) == bool(np.isnan(bleu[i])) and (want_bleu is None or abs(bleu[i] - want_bleu) < 1e-12), name
        sums = EmbeddingSums.of(embedder.embed(pairwise))
        want_d, want_v = mean_cosine_distance(sums), (vendi_score(sums) if sums.n >= 2 else None)
        assert (want_d is None) == bool(np.isnan(distance[i])) and (want_v is None) == bool(np.isnan(vendi[i])), name
        if want_d is not None:
            assert abs(distance[i] - want_d) < 1e-5 and abs(vendi[i] - want_v) < 1e-5 * want_v, name  # float32 embeddings
        checked += 1
    assert checked == 161


def _diversity(report: dict) -> dict[str, dict]:
    return {s["source"]: s["diversity"] for s in report["sources"]}


def test_spilled_candidates_and_any_grouping_give_the_same_metrics(tmp_path: Path, many_sources: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many.parquet"
    many_sources.select("doc_id", "source", "text").write_parquet(path)
    options = dict(id_column="doc_id", workers=1, detect=False, dedup=False, diversity_budget_tokens=BUDGET, diversity_sample_docs=DOCS, diversity_hypotheses=HYP, diversity_min_docs=5)
    in_memory = run_audit([str(path)], AuditConfig(batch_size=5000, **options))  # type: ignore[arg-type]
    assert in_memory["timings"]["analyzers"]["diversity"]["spilled_rows"] == 0
    monkeypatch.setattr(analyzer_module, "MEMORY_TOKENS", 5_000)  # spill after every few batches
    monkeypatch.setattr(analyzer_module, "GROUP_TOKENS", 8_000)  # many finalize groups
    spilled = run_audit([str(path)], AuditConfig(batch_size=97, **options))  # type: ignore[arg-type]
    execution = spilled["timings"]["analyzers"]["diversity"]
    assert execution["spilled_rows"] > 0 and execution["groups"] > 5
    assert _diversity(spilled) == _diversity(in_memory)


def test_small_sources_get_null_metrics_with_their_reason(many_sources: pl.DataFrame) -> None:
    analyzer = DiversityAnalyzer(budget_tokens=1_000, sample_docs=DOCS, hypotheses=HYP, min_docs=1)
    from synthscope.analyzer import FinalizeContext

    state = analyzer.merge(analyzer.empty(), analyzer.map(many_sources))
    result = analyzer.finalize(state, FinalizeContext(workdir=Path(".")))
    one = result.per_source["one-word"]["diversity"]
    assert one["sample_documents"] == 1 and one["sample_tokens"] == 1 and one["ttr"] == 1.0
    assert one["self_bleu"] is None and one["vendi_score"] is None and one["distinct_2"] is None
    assert one["unavailable"]["self_bleu"] == "fewer than two documents with tokens in the sample"
    assert one["unavailable"]["distinct_2"] == "no document of two tokens or more in the budget"
    no_words = result.per_source["src000"]["diversity"]  # every text is "!!": no token at all
    assert no_words["sample_tokens"] == 0 and no_words["unavailable"]["mattr"] == "no tokens in the sample"
    full = result.per_source["src005"]["diversity"]  # 36 documents, 1,809 tokens: fills both budgets
    assert "unavailable" not in full and full["below_budget"] is False


def test_sources_under_the_minimum_are_not_measured_and_the_others_are_unchanged(many_sources: pl.DataFrame) -> None:
    from synthscope.analyzer import FinalizeContext

    def finalize(min_docs: int) -> dict[str, dict]:
        analyzer = DiversityAnalyzer(budget_tokens=BUDGET, sample_docs=DOCS, hypotheses=HYP, min_docs=min_docs)
        state = analyzer.merge(analyzer.empty(), analyzer.map(many_sources))
        return {name: r["diversity"] for name, r in analyzer.finalize(state, FinalizeContext(workdir=Path("."))).per_source.items()}

    every, some = finalize(1), finalize(DOCS - 2)
    sizes = many_sources.group_by("source").len().rows()
    assert set(every) == set(some) == {name for name, _ in sizes}
    small = {name for name, n in sizes if n < DOCS - 2}
    assert 0 < len(small) < len(sizes)
    for name, _ in sizes:
        if name in small:
            d = some[name]
            assert all(d[k] is None for k in analyzer_module.METRIC_FIELDS), name
            assert d["not_measured"] == f"fewer than {DOCS - 2} documents (--diversity-min-docs)" and "unavailable" not in d
            assert d["below_budget"] is True and d["sample_documents"] == every[name]["sample_documents"]
            assert d["sample_tokens"] == every[name]["sample_tokens"]
            assert d.keys() - {"not_measured"} == every[name].keys() - {"unavailable"}
        else:
            assert some[name] == every[name], name  # measured exactly as without the minimum


def test_empty_state_finalizes_to_nothing() -> None:
    from synthscope.analyzer import FinalizeContext

    analyzer = DiversityAnalyzer()
    assert analyzer.finalize(analyzer.empty(), FinalizeContext(workdir=Path("."))).per_source == {}
    assert empty_sample().is_empty()


def test_streams_cut_the_joined_tokens_as_split_does() -> None:
    """`streams_of` cuts each document's joined tokens after every space (no list of strings): the same
    tokens as `str.split(" ")`, on non-ASCII words, a document without tokens, an empty token, and a
    slice of a larger frame."""
    from synthscope.diversity.sample import JOINED
    from synthscope.text import N_TOKENS

    docs = [["über", "straße", "ok"], [], ["日本語", "x"], [""], ["l'été", "naïve", "über"], ["z"]]
    frame = pl.DataFrame(
        {"source": ["a", "a", "a", "b", "b", "c"], JOINED: [" ".join(d) for d in docs], N_TOKENS: [len(d) for d in docs]}
    )
    for sample in (frame, frame.slice(2, 3)):
        st = many.streams_of(sample, "source", JOINED, N_TOKENS)
        vocab = st.vocab.to_pylist()
        expected = [t for joined, n in zip(sample[JOINED], sample[N_TOKENS]) if n for t in joined.split(" ")]
        assert [vocab[i] for i in st.tok] == expected
        assert vocab == sorted(set(expected))
    assert many.streams_of(frame.filter(pl.col(N_TOKENS) == 0), "source", JOINED, N_TOKENS).tok.size == 0
