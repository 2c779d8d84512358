"""The diversity analyzer: a bottom-k document sample per source in the stream, metrics at finalize.

map/merge only keep the sample (sample.py). finalize computes, per source, the lexical metrics on the
first `budget_tokens` tokens of the sample (documents in hash order), and self-BLEU and embedding
spread on the first `sample_docs` documents, so every source is measured on the same budget.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from synthscope.analyzer import SOURCE, AnalyzerResult, FinalizeContext
from synthscope.diversity.embed import Embedder, parse_embedder
from synthscope.diversity.lexical import MATTR_WINDOW, MTLD_THRESHOLD, lexical_metrics
from synthscope.diversity.ngrams import TokenStream, token_stream
from synthscope.diversity.sample import empty_sample, merge_samples, sample_batch, sample_tokens
from synthscope.diversity.selfbleu import EPSILON, MAX_N, self_bleu
from synthscope.diversity.spread import EmbeddingSums, mean_cosine_distance, vendi_score

DEFAULT_BUDGET_TOKENS = 50_000
DEFAULT_SAMPLE_DOCS = 500
DEFAULT_HYPOTHESES = 200

LEXICAL_FIELDS = (
    "ttr", "mattr", "mtld", "distinct_1", "distinct_2", "distinct_3", "unigram_entropy", "bigram_entropy",
    "hapax_share", "zipf_exponent", "tail_mass", "compression_ratio",
)


def embedding_sums(embedder: Embedder, stream: TokenStream) -> EmbeddingSums:
    """Σx and Σxxᵀ of the documents' unit embeddings."""
    return EmbeddingSums.of(embedder.embed(stream))


class DiversityAnalyzer:
    """Lexical diversity, self-BLEU and embedding spread per source on a fixed, seeded budget."""

    name = "diversity"

    def __init__(
        self,
        *,
        seed: int = 1,
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        sample_docs: int = DEFAULT_SAMPLE_DOCS,
        hypotheses: int = DEFAULT_HYPOTHESES,
        embedder: str = "hashed",
        mattr_window: int = MATTR_WINDOW,
        mtld_threshold: float = MTLD_THRESHOLD,
        tail_rank: int | None = None,
        sample_key: str = "doc_id",
    ) -> None:
        self.seed = seed
        self.sample_key = sample_key
        self.budget_tokens = budget_tokens
        self.sample_docs = sample_docs
        self.hypotheses = hypotheses
        self.embedder_spec = embedder
        self.embedder = parse_embedder(embedder, seed)
        self.mattr_window = mattr_window
        self.mtld_threshold = mtld_threshold
        self.tail_rank = tail_rank if tail_rank is not None else max(1, budget_tokens // 100)

    def empty(self) -> pl.DataFrame:
        return empty_sample()

    def map(self, batch: pl.DataFrame) -> pl.DataFrame:
        return sample_batch(batch, self.seed, self.sample_docs, self.budget_tokens, self.sample_key)

    def merge(self, a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
        return merge_samples(a, b, self.sample_docs, self.budget_tokens)

    def source_metrics(self, docs: pl.Series | list[list[str]]) -> dict[str, Any]:
        """All diversity fields of one source from its hash-ordered sample documents."""
        sample = token_stream(docs)
        budget = sample.head_tokens(self.budget_tokens)
        pairwise = sample.head_docs(self.sample_docs)
        fields: dict[str, Any] = dict.fromkeys(LEXICAL_FIELDS)
        if budget.n_tokens:
            fields.update(lexical_metrics(budget, window=self.mattr_window, threshold=self.mtld_threshold, tail_rank=self.tail_rank))
        fields["self_bleu"] = self_bleu(pairwise, self.hypotheses) if pairwise.n_docs >= 2 and pairwise.n_tokens else None
        sums = embedding_sums(self.embedder, pairwise)
        fields["embedding_cosine_distance"] = mean_cosine_distance(sums)
        fields["vendi_score"] = vendi_score(sums) if sums.n >= 2 else None
        fields.update(
            embedder=self.embedder.name,
            budget_tokens=self.budget_tokens,
            budget_documents=self.sample_docs,
            sample_tokens=budget.n_tokens,
            sample_documents=pairwise.n_docs,
            self_bleu_hypotheses=min(self.hypotheses, pairwise.n_docs),
            below_budget=budget.n_tokens < self.budget_tokens or pairwise.n_docs < self.sample_docs,
            seed=self.seed,
        )
        return fields

    def finalize(self, state: pl.DataFrame, ctx: FinalizeContext) -> AnalyzerResult:
        per_source = {
            str(source): {"diversity": self.source_metrics(sample_tokens(group))}
            for (source,), group in state.group_by(SOURCE, maintain_order=True)
        }
        below = sorted(s for s, f in per_source.items() if f["diversity"]["below_budget"])
        summary = {**self.options(), "sources_below_budget": below}
        return AnalyzerResult(per_source=per_source, summary=summary)

    def options(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "budget_tokens": self.budget_tokens,
            "budget_documents": self.sample_docs,
            "self_bleu_hypotheses": self.hypotheses,
            "self_bleu": f"sentence BLEU-{MAX_N}, nltk smoothing method1 (epsilon {EPSILON}), other sampled documents as references",
            "mattr_window": self.mattr_window,
            "mtld_threshold": self.mtld_threshold,
            "tail_rank": self.tail_rank,
            "embedder": self.embedder.name,
            "sample": f"bottom-k by xxh64({self.sample_key}, seed) per source",
        }
