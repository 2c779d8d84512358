"""The diversity analyzer: a bottom-k document sample per source in the stream, metrics at finalize.

map/merge keep each source's sample candidates (sample.py; a merge truncates again only the sources
both sides hold, `source_rows.merge_shared_sources`), in memory until they pass a token
budget, then on disk partitioned by source (spill.py), so memory depends neither on the corpus size
nor on the number of sources. finalize reads one group of partitions at a time (in parallel when the
engine offers workers), truncates every source's candidates to its sample and measures all the
group's sources at once (many.py): the lexical metrics on the first `budget_tokens` tokens of the
sample (documents in hash order), self-BLEU and embedding spread on the first `sample_docs`
documents, so every source is measured on the same budget. A source with fewer than `min_docs`
documents is not measured (every metric null with the reason): on a long tail of sites most sources
have a handful of documents, whose figures are noise and not comparable with a full budget's, and
measuring them would cost as much as measuring every document of the corpus.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthscope.analyzer import SOURCE, AnalyzerResult, FinalizeContext
from synthscope.diversity import many
from synthscope.diversity.embed import Embedder, parse_embedder
from synthscope.diversity.lexical import MATTR_WINDOW, MTLD_THRESHOLD
from synthscope.diversity.ngrams import TokenStream
from synthscope.diversity.sample import JOINED, empty_sample, sample_batch, truncate
from synthscope.diversity.selfbleu import EPSILON, MAX_N
from synthscope.diversity.spill import PARTITIONS, Spill, partition_groups, partition_of, read_partitions, write_spill
from synthscope.source_rows import merge_shared_sources
from synthscope.text import N_TOKENS

DEFAULT_BUDGET_TOKENS = 50_000
DEFAULT_SAMPLE_DOCS = 500
DEFAULT_HYPOTHESES = 200
DEFAULT_MIN_DOCS = 30  # the report's small-source size (report.overview.DETAIL_MIN_DOCUMENTS)
COMPRESSION_LEVEL = 3  # zstd
MEMORY_TOKENS = 12_000_000  # candidate tokens held in memory before they go to disk (~100 MB)
GROUP_TOKENS = 1_500_000  # candidate tokens measured together in one finalize step (~300 MB of arrays)

LEXICAL_FIELDS = (
    "ttr", "mattr", "mtld", "distinct_1", "distinct_2", "distinct_3", "unigram_entropy", "bigram_entropy",
    "hapax_share", "zipf_exponent", "tail_mass", "compression_ratio",
)
NO_TOKENS = "no tokens in the sample"
METRIC_FIELDS = (*LEXICAL_FIELDS, "self_bleu", "embedding_cosine_distance", "vendi_score")
_REASONS = {
    "distinct_2": "no document of two tokens or more in the budget",
    "bigram_entropy": "no document of two tokens or more in the budget",
    "distinct_3": "no document of three tokens or more in the budget",
    "zipf_exponent": "fewer than three word types occur twice in the budget",
    "self_bleu": "fewer than two documents with tokens in the sample",
    "embedding_cosine_distance": "fewer than two documents with tokens in the sample",
    "vendi_score": "fewer than two documents with tokens in the sample",
}


@dataclass(frozen=True)
class DiversityState:
    """Sample candidates: per source in memory (`sample`), and on disk once they grew (`spills`)."""

    sample: pl.DataFrame = field(default_factory=empty_sample)
    spills: tuple[Spill, ...] = ()
    stale: int = 0  # dropped rows `sample`'s string buffers may still hold (source_rows.merge_shared_sources)


@dataclass(frozen=True)
class Settings:
    """Everything a finalize step needs to measure a group of sources (picklable)."""

    seed: int
    budget_tokens: int
    sample_docs: int
    hypotheses: int
    embedder: str
    mattr_window: int
    mtld_threshold: float
    tail_rank: int
    min_docs: int = 1


@dataclass(frozen=True)
class GroupTask:
    """One finalize step: some partitions' spilled candidates plus their in-memory candidates."""

    settings: Settings
    spills: tuple[Spill, ...]
    partitions: tuple[int, ...]
    in_memory: pl.DataFrame


@functools.lru_cache(maxsize=4)
def _embedder(spec: str, seed: int) -> Embedder:
    return parse_embedder(spec, seed)


def _value(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def too_few_documents(small: pl.DataFrame, settings: Settings, embedder_name: str) -> dict[str, dict[str, Any]]:
    """The fields of sources whose sample (all their documents) is under `settings.min_docs`: what
    was measured and how, every metric null, and `not_measured`: the reason (instead of `unavailable`)."""
    reason = f"fewer than {settings.min_docs} documents (--diversity-min-docs)"
    counts = small.group_by(SOURCE, maintain_order=True).agg(pl.len().alias("docs"), pl.col(N_TOKENS).sum().alias("tokens"))
    out: dict[str, dict[str, Any]] = {}
    for name, docs, tokens in counts.iter_rows():
        fields: dict[str, Any] = dict.fromkeys(METRIC_FIELDS)
        fields.update(
            embedder=embedder_name,
            budget_tokens=settings.budget_tokens,
            budget_documents=settings.sample_docs,
            sample_tokens=min(int(tokens), settings.budget_tokens),
            sample_documents=int(docs),
            self_bleu_hypotheses=min(settings.hypotheses, int(docs)),
            below_budget=True,
            seed=settings.seed,
            not_measured=reason,  # one reason for every metric (a long tail has thousands of such sources)
        )
        out[name] = fields
    return out


def measure(sample: pl.DataFrame, settings: Settings) -> dict[str, dict[str, Any]]:
    """All diversity fields of every source of a sample (sorted by source, then sample order); a
    source of fewer than `settings.min_docs` documents gets its metrics null (`too_few_documents`)."""
    small: dict[str, dict[str, Any]] = {}
    if settings.min_docs > 1 and sample.height:
        enough = pl.len().over(SOURCE) >= settings.min_docs
        small = too_few_documents(sample.filter(~enough), settings, _embedder(settings.embedder, settings.seed).name)
        if small:
            sample = sample.filter(enough)
    measured = _measure_all(sample, settings)
    return {**measured, **small} if small else measured


def _measure_all(sample: pl.DataFrame, settings: Settings) -> dict[str, dict[str, Any]]:
    st = many.streams_of(sample, SOURCE, JOINED, N_TOKENS)
    k = st.n_sources
    if k == 0:
        return {}
    lex = st.token_rank() < settings.budget_tokens
    pair = st.doc_rank() < settings.sample_docs
    grams = many.gram_hashes(st.tok, st.tok_hash(), st.pos(), max(3, MAX_N))
    lexical = many.lexical_many(
        st, lex, grams, window=settings.mattr_window, threshold=settings.mtld_threshold, tail_rank=settings.tail_rank
    )
    tok_doc = st.doc()
    src = np.repeat(st.doc_source, st.doc_tokens)
    lex_tokens = np.bincount(src[lex], minlength=k)
    compression = many.compression_many(
        sample, SOURCE, JOINED, N_TOKENS, np.bincount(tok_doc[lex], minlength=st.n_docs), COMPRESSION_LEVEL
    )
    bleu = many.self_bleu_many(st, pair, grams, settings.hypotheses, MAX_N, EPSILON)
    in_pair = pair[tok_doc]
    pair_index = np.cumsum(pair) - 1
    stream = TokenStream(st.tok[in_pair], pair_index[tok_doc[in_pair]], st.vocab, int(pair.sum()))
    embedder = _embedder(settings.embedder, settings.seed)
    distance, vendi = many.spread_many(embedder.embed(stream), st.doc_source[pair], k)
    pair_docs = np.bincount(st.doc_source[pair], minlength=k)
    out: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(st.names):
        fields: dict[str, Any] = {key: _value(lexical[key][i]) for key in LEXICAL_FIELDS if key != "compression_ratio"}
        fields["compression_ratio"] = compression.get(name) if lex_tokens[i] else None
        fields = {key: fields[key] for key in LEXICAL_FIELDS}
        fields["self_bleu"] = _value(bleu[i])
        fields["embedding_cosine_distance"] = _value(distance[i])
        fields["vendi_score"] = _value(vendi[i])
        docs = int(pair_docs[i])
        fields.update(
            embedder=embedder.name,
            budget_tokens=settings.budget_tokens,
            budget_documents=settings.sample_docs,
            sample_tokens=int(lex_tokens[i]),
            sample_documents=docs,
            self_bleu_hypotheses=min(settings.hypotheses, docs),
            below_budget=bool(lex_tokens[i] < settings.budget_tokens or docs < settings.sample_docs),
            seed=settings.seed,
        )
        missing = {key: (NO_TOKENS if not lex_tokens[i] else _REASONS.get(key, NO_TOKENS)) for key in METRIC_FIELDS if fields[key] is None}
        if missing:
            fields["unavailable"] = missing
        out[name] = fields
    return out


def measure_group(task: GroupTask) -> dict[str, dict[str, Any]]:
    """Read a group of partitions, truncate every source's candidates to its sample, measure them."""
    s = task.settings
    frames = read_partitions(task.spills, list(task.partitions))
    if task.in_memory.height:
        frames.append(task.in_memory)
    if not frames:
        return {}
    sample = truncate(pl.concat(frames), s.sample_docs, s.budget_tokens)  # sorted by SORT_KEY
    return measure(sample, s)


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
        min_docs: int = DEFAULT_MIN_DOCS,
        embedder: str = "hashed",
        mattr_window: int = MATTR_WINDOW,
        mtld_threshold: float = MTLD_THRESHOLD,
        tail_rank: int | None = None,
        sample_key: str = "doc_id",
        workdir: Path | None = None,
        memory_tokens: int | None = None,
    ) -> None:
        self.seed = seed
        self.sample_key = sample_key
        self.budget_tokens = budget_tokens
        self.sample_docs = sample_docs
        self.hypotheses = hypotheses
        if min_docs < 1:
            raise ValueError(f"the minimum of documents must be at least 1 (got {min_docs})")
        # at most the documents sampled per source: a sample under min_docs rows then holds all its source's documents
        self.min_docs = min(min_docs, sample_docs)
        self.embedder_spec = embedder
        self.embedder = parse_embedder(embedder, seed)
        self.mattr_window = mattr_window
        self.mtld_threshold = mtld_threshold
        self.tail_rank = tail_rank if tail_rank is not None else max(1, budget_tokens // 100)
        self.workdir = None if workdir is None else Path(workdir) / "diversity"
        self.memory_tokens = MEMORY_TOKENS if memory_tokens is None else memory_tokens

    @property
    def group_tokens(self) -> int:
        return GROUP_TOKENS

    def settings(self) -> Settings:
        return Settings(
            self.seed, self.budget_tokens, self.sample_docs, self.hypotheses, self.embedder_spec,
            self.mattr_window, self.mtld_threshold, self.tail_rank, self.min_docs,
        )

    def empty(self) -> DiversityState:
        return DiversityState()

    def map(self, batch: pl.DataFrame) -> DiversityState:
        return DiversityState(sample_batch(batch, self.seed, self.sample_docs, self.budget_tokens, self.sample_key))

    def merge(self, a: DiversityState, b: DiversityState) -> DiversityState:
        reduce = functools.partial(truncate, docs=self.sample_docs, tokens=self.budget_tokens)
        merged = merge_shared_sources(a.sample, b.sample, reduce, a.stale + b.stale)
        sample = merged.rows
        spills = tuple(sorted(a.spills + b.spills, key=lambda s: s.path))
        if self.workdir is not None and sample.height and int(sample[N_TOKENS].sum()) > self.memory_tokens:
            return DiversityState(empty_sample(), (*spills, write_spill(sample, self.workdir)))
        return DiversityState(sample, spills, merged.stale)

    def finalize(self, state: DiversityState, ctx: FinalizeContext) -> AnalyzerResult:
        return self.start_finalize(state, ctx)()

    def start_finalize(self, state: DiversityState, ctx: FinalizeContext) -> Callable[[], AnalyzerResult]:
        """Hand the finalize steps to the engine (its workers start on them at once, where it has
        workers) and return what gathers their results, so that the pipeline can finalize the other
        analyzers meanwhile."""
        tasks = self.tasks(state)
        results = ctx.parallel_map(measure_group, tasks)
        spilled = sum(sum(s.rows) for s in state.spills)

        def collect() -> AnalyzerResult:
            per_source: dict[str, dict[str, Any]] = {}
            for result in results:
                per_source.update({name: {"diversity": fields} for name, fields in result.items()})
            per_source = dict(sorted(per_source.items()))
            below = [s for s, f in per_source.items() if f["diversity"]["below_budget"] and "not_measured" not in f["diversity"]]
            not_measured = sum("not_measured" in f["diversity"] for f in per_source.values())
            summary = {**self.options(), "sources_below_budget": below, "sources_not_measured": not_measured}
            return AnalyzerResult(per_source=per_source, summary=summary, run_figures={"spilled_rows": spilled, "groups": len(tasks)})

        return collect

    def tasks(self, state: DiversityState) -> list[GroupTask]:
        """The finalize steps: groups of partitions of about GROUP_TOKENS candidate tokens, the largest
        first (the engine's workers take them in this order, so the last ones to finish are small and
        no worker waits long for another at the end; the results do not depend on the order)."""
        memory = state.sample.with_columns(partition_of(state.sample[SOURCE]))
        tokens = np.zeros(PARTITIONS, np.int64)
        if memory.height:
            tokens += np.bincount(memory["_partition"].to_numpy().astype(np.int64), weights=memory[N_TOKENS].to_numpy(), minlength=PARTITIONS).astype(np.int64)
            tokens += np.bincount(memory["_partition"].to_numpy().astype(np.int64), minlength=PARTITIONS)  # documents without tokens count too
        for spill in state.spills:
            tokens = tokens + np.asarray(spill.tokens, dtype=np.int64) + np.asarray(spill.rows, dtype=np.int64)
        settings = self.settings()
        tasks = []
        groups = partition_groups(tokens, self.group_tokens)
        for group in sorted(groups, key=lambda g: -int(tokens[g].sum())):  # stable: equal sizes in partition order
            in_memory = memory.filter(pl.col("_partition").is_in(group)).drop("_partition")
            spills = tuple(s for s in state.spills if any(s.rows[p] for p in group))
            tasks.append(GroupTask(settings, spills, tuple(group), in_memory))
        return tasks

    def options(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "budget_tokens": self.budget_tokens,
            "budget_documents": self.sample_docs,
            "min_documents": self.min_docs,
            "self_bleu_hypotheses": self.hypotheses,
            "self_bleu": f"sentence BLEU-{MAX_N}, nltk smoothing method1 (epsilon {EPSILON}), other sampled documents as references",
            "mattr_window": self.mattr_window,
            "mtld_threshold": self.mtld_threshold,
            "tail_rank": self.tail_rank,
            "compression": f"zstd level {COMPRESSION_LEVEL}",
            "embedder": self.embedder.name,
            "sample": f"bottom-k by xxh64({self.sample_key}, seed) per source",
        }
