"""Example documents per source: its most and least machine-like documents, and why they scored so.

The state is one frame for all sources: the rows that are, so far, among a source's `per_side` most or
`per_side` least machine-like documents (source, logit, tie, id, the text's head, standardised
features), and the number of scored documents per source. Documents are ranked by logit, then by `tie`
(xxh64 of the preview), then by id and text: a total order, so a source's top k of a union is the top k
of the parts' top k, and merging is exact, associative and commutative: the examples do not depend on
batch size, worker count or input order. A merge re-ranks only the sources both states hold
(`source_rows.merge_shared_sources`), so the driver's merges do not grow with the number of sources. Documents with the same preview (exact copies, pages opening
with the same boilerplate) count once, by their best-ranked copy. Batches are reduced with polars
(sort, unique, rank over sources); only the few candidate rows of a batch are hashed.

Finalize keeps the examples of the sources with at least `min_documents` scored documents (smaller
sources get none, so the state's previews never reach the report for a long tail of tiny sources) and
explains each one: its features' contributions to the score (detect's `contributions`) and the spans
of its preview that the span features matched (detect.spans, on the text's head: `CONTEXT_CHARS`
beyond the preview, so a match ending inside the preview is found exactly as in the whole document).
In an audit the pipeline explains only the sources the report keeps examples for (the few dozen it leads
with: `finalize_deferred`, then `explain`): on a long tail, a few dozen sources instead of thousands.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from collections.abc import Collection
from typing import Any

import numpy as np
import polars as pl

from synthscope.analyzer import DOC_ID, SOURCE, TEXT, AnalyzerResult, FinalizeContext
from synthscope.detect.analyzer import DetectAnalyzer
from synthscope.detect.estimator import MIN_DOCUMENTS
from synthscope.detect.scorer import sigmoid
from synthscope.detect.spans import END, text_spans
from synthscope.hashes import xxh64_strings
from synthscope.source_rows import compact, merge_shared_sources

PER_SIDE = 3
PREVIEW_CHARS = 600
CONTEXT_CHARS = 100
MIN_EXAMPLE_DOCUMENTS = MIN_DOCUMENTS  # 30: below it an estimate is low-confidence, and no examples are kept
EXAMPLE_FEATURES = 4  # contributions listed per example
MIN_CONTRIBUTION = 0.005
MOST, LEAST = "most_synthetic", "least_synthetic"

LOGIT, TIE, ID, HEAD, Z = "logit", "tie", "id", "head", "z"
_PREVIEW = pl.col(HEAD).str.slice(0, PREVIEW_CHARS)
_INDEX = "_i"


class _Pending:
    """Examples not explained yet (`ExamplesAnalyzer.finalize_deferred`)."""

    def __repr__(self) -> str:
        return "PENDING"


PENDING = _Pending()


def empty_examples(features: int) -> pl.DataFrame:
    """The rows of an empty state (`features` standardised features per document)."""
    return pl.DataFrame(schema={SOURCE: pl.String, LOGIT: pl.Float64, TIE: pl.UInt64, ID: pl.String, HEAD: pl.String,
                                Z: pl.Array(pl.Float64, features)})


@dataclass
class ExampleState:
    """Candidate example rows (see the module doc) and scored documents per source."""

    rows: pl.DataFrame
    documents: dict[str, int] = field(default_factory=dict)
    stale: int = 0  # dropped rows `rows`' string buffers may still hold (source_rows.merge_shared_sources)


def _ties(previews: pl.Series) -> pl.Series:
    """xxh64 of each preview (stable across versions and platforms)."""
    return pl.Series(TIE, xxh64_strings(previews), dtype=pl.UInt64)


def _ranked(rows: pl.DataFrame, descending: bool) -> pl.DataFrame:
    """Rows in ranking order for one side, best first within each source."""
    return rows.sort([SOURCE, LOGIT, TIE, ID, HEAD], descending=[False, descending, False, False, False])


def _side(rows: pl.DataFrame, per_side: int, descending: bool) -> pl.DataFrame:
    """A source's `per_side` best rows with distinct previews (most machine-like first when `descending`)."""
    with_preview = rows if "_preview" in rows.columns else rows.with_columns(_PREVIEW.alias("_preview"))
    best = _ranked(with_preview, descending).unique([SOURCE, "_preview"], keep="first", maintain_order=True)
    return best.group_by(SOURCE, maintain_order=True).head(per_side).drop("_preview")


def select_rows(rows: pl.DataFrame, per_side: int) -> pl.DataFrame:
    """The rows that are among their source's `per_side` most or least machine-like (distinct previews)."""
    if rows.is_empty():
        return rows
    indexed = rows.with_row_index(_INDEX).with_columns(_PREVIEW.alias("_preview"))
    keep = pl.concat([_side(indexed, per_side, True)[_INDEX], _side(indexed, per_side, False)[_INDEX]]).unique()
    return compact(rows.with_row_index(_INDEX).filter(pl.col(_INDEX).is_in(keep.implode())).drop(_INDEX))


def batch_candidates(frame: pl.DataFrame, per_side: int) -> pl.DataFrame:
    """The rows of one batch that can be examples: per source and side, the best copy of each preview among
    the `per_side` best distinct logits (a superset of the top rows, whatever the tie order), then hashed."""
    previews = frame.with_columns(_PREVIEW.alias("_preview"))
    keep = []
    for descending in (True, False):
        best = previews.sort([LOGIT, ID, HEAD], descending=[descending, False, False]).unique([SOURCE, "_preview"], keep="first", maintain_order=True)
        rank = pl.col(LOGIT).rank("dense", descending=descending).over(SOURCE)
        keep.append(best.filter(rank <= per_side)[_INDEX])
    chosen = previews.filter(pl.col(_INDEX).is_in(pl.concat(keep).unique().implode()))
    return chosen.with_columns(_ties(chosen["_preview"])).drop("_preview")


class ExamplesAnalyzer:
    """Per source, the `per_side` most and least machine-like documents with their evidence."""

    name = "examples"

    def __init__(self, detect: DetectAnalyzer, per_side: int = PER_SIDE, min_documents: int = MIN_EXAMPLE_DOCUMENTS) -> None:
        if per_side < 1:
            raise ValueError(f"examples per side must be at least 1, got {per_side}")
        self.detect = detect
        self.per_side = per_side
        self.min_documents = min_documents

    def empty(self) -> ExampleState:
        return ExampleState(empty_examples(len(self.detect.contribution_terms().names)))

    def map(self, batch: pl.DataFrame) -> ExampleState:
        _, scores, scored = self.detect.scores_for(batch)
        if scored.height == 0:
            return self.empty()
        z, logits = self.detect.explained(scores), scores.logits
        frame = scored.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias(_INDEX),
            pl.col(SOURCE).cast(pl.String),
            pl.Series(LOGIT, np.asarray(logits, dtype=np.float64)),
            pl.col(DOC_ID).cast(pl.String).alias(ID),
            pl.col(TEXT).str.slice(0, PREVIEW_CHARS + CONTEXT_CHARS).alias(HEAD),
        )
        chosen = batch_candidates(frame, self.per_side)
        index = chosen[_INDEX].to_numpy()
        rows = chosen.drop(_INDEX).with_columns(pl.Series(Z, np.asarray(z, dtype=np.float64)[index], dtype=pl.Array(pl.Float64, z.shape[1])))
        documents = dict(scored.group_by(SOURCE).len().iter_rows())
        return ExampleState(select_rows(rows.select(empty_examples(z.shape[1]).columns), self.per_side), documents)

    def merge(self, a: ExampleState, b: ExampleState) -> ExampleState:
        if a.rows.is_empty() and not a.documents:
            return b
        if b.rows.is_empty() and not b.documents:
            return a
        documents = dict(a.documents)
        for source, n in b.documents.items():
            documents[source] = documents.get(source, 0) + n
        merged = merge_shared_sources(a.rows, b.rows, functools.partial(select_rows, per_side=self.per_side), a.stale + b.stale)
        return ExampleState(merged.rows, documents, merged.stale)

    def finalize(self, state: ExampleState, ctx: FinalizeContext) -> AnalyzerResult:
        return AnalyzerResult(per_source=self.explain(state))

    def finalize_deferred(self, state: ExampleState, ctx: FinalizeContext) -> AnalyzerResult:
        """The sources that have examples, each with `PENDING` in place of them: the pipeline explains
        (`explain`) only those the report keeps them for (the sources it leads with, known once every
        analyzer has finalized); the others' are dropped unexplained, as `keep_examples_of_leading` drops them."""
        return AnalyzerResult(per_source={s: {"examples": PENDING} for s in self._wanted(state)})

    def _wanted(self, state: ExampleState) -> list[str]:
        """The sources with enough scored documents for examples that have candidate rows (sorted)."""
        enough = sorted(s for s, n in state.documents.items() if n >= self.min_documents)
        held = set(state.rows[SOURCE].unique().to_list()) if state.rows.height else set()
        return [s for s in enough if s in held]

    def explain(self, state: ExampleState, sources: Collection[str] | None = None) -> dict[str, dict[str, Any]]:
        """`examples` of every source with at least `min_documents` scored documents (of those in
        `sources` only, when given): per side its `per_side` documents with their evidence."""
        wanted = [s for s in self._wanted(state) if sources is None or s in sources]
        rows = state.rows.filter(pl.col(SOURCE).is_in(wanted))
        if rows.is_empty():
            return {}
        sides = {MOST: _side(rows, self.per_side, True), LEAST: _side(rows, self.per_side, False)}
        heads = sorted(set(sides[MOST][HEAD].to_list()) | set(sides[LEAST][HEAD].to_list()))
        spans = dict(zip(heads, text_spans(heads, self.detect.model.features)))
        width = len(self.detect.contribution_terms().names)
        per_source: dict[str, dict[str, Any]] = {s: {"examples": {MOST: [], LEAST: []}} for s in sorted(set(rows[SOURCE].to_list()))}
        for side, frame in sides.items():
            contributions = self.detect.contributions(np.stack(frame[Z].to_list()) if frame.height else np.zeros((0, width)))
            for i, row in enumerate(frame.select(SOURCE, LOGIT, ID, HEAD).iter_rows(named=True)):
                record = self.example(row, contributions[i], spans[row[HEAD]], side == MOST)
                per_source[row[SOURCE]]["examples"][side].append(record)
        return per_source

    def example(self, row: dict[str, Any], contribution: np.ndarray, spans: list[dict[str, Any]], most: bool) -> dict[str, Any]:
        """One example's record: id, score, preview, whether the text goes on, its strongest features (pushing
        the score up for the most machine-like, down for the least) and the spans of its preview."""
        head: str = row[HEAD]
        order = np.argsort(-contribution if most else contribution, kind="stable")[:EXAMPLE_FEATURES]
        terms = self.detect.contribution_terms()
        features = [
            {"feature": terms.names[j], "contribution": round(float(contribution[j]), 3),
             "plain": self.detect.plain(terms.names[j], float(contribution[j]), float(terms.weights[j]))}
            for j in order.tolist()
            if (contribution[j] > MIN_CONTRIBUTION if most else contribution[j] < -MIN_CONTRIBUTION)
        ]
        return {
            "id": row[ID],
            "score": round(float(sigmoid(np.asarray(row[LOGIT]))), 4),
            "preview": head[:PREVIEW_CHARS],
            "truncated": len(head) > PREVIEW_CHARS,
            "contributions": features,
            "spans": [dict(s) for s in spans if s[END] <= PREVIEW_CHARS],
        }

    def options(self) -> dict[str, Any]:
        return {"per_side": self.per_side, "preview_chars": PREVIEW_CHARS, "min_documents": self.min_documents,
                "order": "logit, then xxh64 of the preview, then id; one example per distinct preview"}
