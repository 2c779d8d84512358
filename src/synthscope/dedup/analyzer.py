"""The dedup analyzer: exact (xxh3 of normalised text) and MinHash near duplicates per source.

`map` computes a batch's exact hashes, MinHash signatures and LSH band keys and writes them to
spill files in the analyzer's work folder; its state is only the list of parts it wrote.
`finalize` groups the band keys on disk, verifies candidate pairs by estimated Jaccard, clusters
with union-find and reports per source.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from synthscope.analyzer import DOC_ID, FILE, ROW, SOURCE, TEXT, AnalyzerResult, FinalizeContext
from synthscope.dedup.cluster import KEEP_RULES, PARTITION_ROWS, Clusters, ClusterStats, document_table, find_clusters, previews
from synthscope.dedup.hashing import DEFAULT_NGRAM, shingle_hashes
from synthscope.dedup.minhash import DEFAULT_NUM_PERM, DEFAULT_SCHEME, band_keys, signatures_from_hashes
from synthscope.dedup.params import DEFAULT_THRESHOLD, optimal_bands
from synthscope.dedup.spill import Part, band_path, docs_path, signatures_column, write_table
from synthscope.hashes import xxh3_64_strings
from synthscope.text import NORM, token_codes

PREVIEW_CHARS = 120
LARGEST_CLUSTERS = 5


@dataclass(frozen=True)
class DedupState:
    """The parts (mapped batches) whose spill files hold the documents, signatures and band keys."""

    parts: tuple[Part, ...] = ()

    @property
    def documents(self) -> int:
        return sum(p.documents for p in self.parts)


@dataclass(frozen=True)
class DedupOptions:
    """Settings of exact and near-duplicate detection."""

    threshold: float = DEFAULT_THRESHOLD
    num_perm: int = DEFAULT_NUM_PERM
    ngram: int = DEFAULT_NGRAM
    seed: int = 1
    verify: bool = True
    keep: str = "first"
    scheme: str = DEFAULT_SCHEME
    partition_rows: int = PARTITION_ROWS  # memory budget of finalize's group-by passes (rows)

    def validate(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"--minhash-threshold must be between 0 and 1 (exclusive), got {self.threshold}")
        if self.num_perm < 2:
            raise ValueError(f"--num-perm must be at least 2, got {self.num_perm}")
        if self.ngram < 1:
            raise ValueError(f"--ngram must be at least 1, got {self.ngram}")
        if self.partition_rows < 1:
            raise ValueError(f"partition rows must be at least 1, got {self.partition_rows}")
        if self.keep not in KEEP_RULES:
            raise ValueError(f"--keep must be one of {', '.join(KEEP_RULES)}, got {self.keep!r}")


class DedupAnalyzer:
    """Exact and near-duplicate rates per source, with out-of-core LSH banding."""

    name = "dedup"

    def __init__(self, workdir: Path, options: DedupOptions | None = None) -> None:
        self.options_ = options or DedupOptions()
        self.options_.validate()
        self.workdir = Path(workdir) / "dedup"
        self.bands, self.rows = optimal_bands(self.options_.threshold, self.options_.num_perm)

    # ------------------------------------------------------------------------------- protocol

    def empty(self) -> DedupState:
        return DedupState()

    def map(self, batch: pl.DataFrame) -> DedupState:
        if batch.height == 0:
            return DedupState()
        opts = self.options_
        uid = uuid.uuid4().hex
        first = batch.select(pl.col(FILE).first(), pl.col(ROW).first()).row(0)
        part = Part(first_file=str(first[0]), first_row=int(first[1]), uid=uid, documents=batch.height)
        codes = token_codes(batch)  # shared with the other analyzers of this batch
        hashes, per_doc = shingle_hashes(xxh3_64_strings(codes.vocab)[codes.codes], codes.counts, opts.ngram)
        signatures = signatures_from_hashes(hashes, per_doc, opts.num_perm, opts.seed, opts.scheme)
        columns: dict[str, Any] = {
            "i": pa.array(np.arange(batch.height, dtype=np.uint32)),
            "doc_id": batch[DOC_ID].to_arrow(),
            "source": batch[SOURCE].to_arrow(),
            "file": batch[FILE].to_arrow(),
            "_row": batch[ROW].cast(pl.Int64).to_arrow(),
            "exact": pa.array(xxh3_64_strings(batch[NORM])),
            "n_chars": batch[TEXT].str.len_chars().cast(pl.Int64).to_arrow(),
            "n_shingles": pa.array(per_doc.astype(np.int64)),
            "preview": batch[TEXT].str.slice(0, PREVIEW_CHARS).to_arrow(),
        }
        if opts.verify:
            columns["sig"] = signatures_column(signatures)
        write_table(pa.table(columns), docs_path(self.workdir, uid))
        with_shingles = np.flatnonzero(per_doc > 0)
        keys = band_keys(signatures[with_shingles], self.bands, self.rows)
        local = pa.array(with_shingles.astype(np.uint32))
        part_col = pa.array(np.full(len(with_shingles), part.part_id, dtype=np.uint64))
        for band in range(self.bands):
            table = pa.table({"part": part_col, "i": local, "key": pa.array(keys[:, band])})
            write_table(table, band_path(self.workdir, band, uid))
        return DedupState(parts=(part,))

    def merge(self, a: DedupState, b: DedupState) -> DedupState:
        return DedupState(parts=tuple(sorted(a.parts + b.parts)))

    def finalize(self, state: DedupState, ctx: FinalizeContext) -> AnalyzerResult:
        return self.start_finalize(state, ctx)()

    def start_finalize(self, state: DedupState, ctx: FinalizeContext) -> Callable[[], AnalyzerResult]:
        """Hand the clustering to one of the engine's workers (it reads the spill files in the work
        folder) and return what gathers its result, so that the pipeline finalizes the other analyzers
        meanwhile; without workers it runs when gathered."""
        results = ctx.parallel_map(finalize_dedup, [(self, state)])
        return lambda: next(iter(results))

    def clusters_summary(self, state: DedupState) -> AnalyzerResult:
        """Clusters and per-source duplicate rates of everything mapped into `state`."""
        found = self.find_clusters(state)
        if found.documents == 0:
            return AnalyzerResult(per_source={}, summary={})
        return summarise(found)

    def options(self) -> dict[str, Any]:
        o = self.options_
        return {
            "minhash_threshold": o.threshold,
            "num_perm": o.num_perm,
            "ngram": o.ngram,
            "seed": o.seed,
            "bands": self.bands,
            "rows_per_band": self.rows,
            "scheme": o.scheme,
            "verify_candidates": o.verify,
            "keep": o.keep,
            "exact_hash": "xxh3_64 of normalised text",
            "shingles": f"{o.ngram}-grams of tokens (words; characters in scripts without spaces: see tokenization); shorter documents are one shingle",
        }

    # ----------------------------------------------------------------------------------- helpers

    def find_clusters(self, state: DedupState) -> Clusters:
        """Clusters of everything mapped into `state`, in bounded memory (see dedup.cluster)."""
        o = self.options_
        return find_clusters(
            self.workdir,
            list(state.parts),
            bands=self.bands,
            num_perm=o.num_perm,
            threshold=o.threshold,
            verify=o.verify,
            keep=o.keep,
            partition_rows=o.partition_rows,
        )

    def cluster(self, state: DedupState) -> tuple[pl.DataFrame, ClusterStats]:
        """Per-document cluster table held in memory (small corpora, tests); see `find_clusters`."""
        found = self.find_clusters(state)
        return document_table(found), found.stats


def finalize_dedup(task: tuple[DedupAnalyzer, DedupState]) -> AnalyzerResult:
    """The dedup finalize of (analyzer, state), as an engine's worker runs it."""
    analyzer, state = task
    return analyzer.clusters_summary(state)


def _fraction(count: str) -> pl.Expr:
    return pl.col(count).cast(pl.Float64) / pl.col("documents").cast(pl.Float64)


def summarise(found: Clusters) -> AnalyzerResult:
    """Per-source duplicate rates and largest clusters, plus a corpus-wide summary.

    Document counts per source stream over the spill files; every other figure comes from the
    member documents (those in a cluster of two or more): the rest count as kept originals."""
    members = found.members
    near = ~pl.col("kept")
    flags = members.group_by(SOURCE).agg(
        pl.col("exact_duplicate").sum().alias("exact_duplicates"),
        (pl.col("exact_duplicate") & pl.col("exact_within")).sum().alias("exact_within"),
        (pl.col("exact_duplicate") & ~pl.col("exact_within")).sum().alias("exact_cross"),
        near.sum().alias("near_duplicates"),
        (near & pl.col("near_within")).sum().alias("near_within"),
        (near & ~pl.col("near_within")).sum().alias("near_cross"),
    )
    counted = ["exact_duplicates", "exact_within", "exact_cross", "near_duplicates", "near_within", "near_cross"]
    per = (
        found.layout.source_counts(SOURCE)
        .join(flags, on=SOURCE, how="left")
        .with_columns(pl.col(counted).fill_null(0))
        .select(
            SOURCE,
            "exact_duplicates",
            _fraction("exact_duplicates").alias("exact_duplicate_fraction"),
            _fraction("exact_within").alias("exact_duplicate_within_source_fraction"),
            _fraction("exact_cross").alias("exact_duplicate_cross_source_fraction"),
            "near_duplicates",
            _fraction("near_duplicates").alias("near_duplicate_fraction"),
            _fraction("near_within").alias("near_duplicate_within_source_fraction"),
            _fraction("near_cross").alias("near_duplicate_cross_source_fraction"),
        )
        .sort(SOURCE)
    )
    clusters = (
        members.group_by("cluster_id")
        .agg(
            pl.len().alias("size"),
            pl.col("idx").filter(pl.col("kept")).first().alias("kept_idx"),
            pl.col("doc_id").filter(pl.col("kept")).first().alias("kept_id"),
            pl.col("idx").filter(~pl.col("kept")).min().alias("copy_idx"),
            pl.col(SOURCE).unique().sort().alias("sources"),
        )
        .sort(["size", "cluster_id"], descending=[True, False])
    )
    by_source = (
        members.group_by(SOURCE, "cluster_id")
        .agg(pl.len().alias("documents_in_source"), pl.col("idx").filter(~pl.col("kept")).min().alias("own_copy_idx"))
        .join(clusters, on="cluster_id")
        .sort([SOURCE, "size", "cluster_id"], descending=[False, True, False])
        .group_by(SOURCE, maintain_order=True)
        .head(LARGEST_CLUSTERS)
        .with_columns(pl.coalesce("own_copy_idx", "copy_idx").alias("copy_idx"), (pl.int_range(pl.len()).over(SOURCE) == 0).alias("largest"))
    )
    top = clusters.head(10)
    pairs = by_source.filter("largest")
    wanted = sorted(set(by_source["kept_idx"].to_list()) | set(top["kept_idx"].to_list()) | set(pairs["copy_idx"].drop_nulls().to_list()))
    texts = previews(found.layout, wanted)
    names = dict(members.select(pl.col("idx").cast(pl.Int64), pl.struct(pl.col("doc_id").alias("id"), SOURCE)).iter_rows())

    def member(idx: int) -> dict[str, Any]:
        return {**names[idx], "preview": texts.get(idx, "")}

    def cluster_record(row: dict[str, Any]) -> dict[str, Any]:
        record = {
            "cluster_id": int(row["cluster_id"]),
            "size": int(row["size"]),
            "preview": _preview(texts.get(int(row["kept_idx"]), "")),
            "sources": list(row["sources"]),
        }
        if "documents_in_source" in row:
            record["documents_in_source"] = int(row["documents_in_source"])
            if row["largest"] and row["copy_idx"] is not None:  # the source's largest cluster: two members side by side
                record["members"] = [member(int(row["kept_idx"])), member(int(row["copy_idx"]))]
        else:  # corpus-wide list: name the kept document (ids may depend on file names)
            record["kept_id"] = row["kept_id"]
        return record

    largest: dict[str, list[dict[str, Any]]] = {}
    for row in by_source.iter_rows(named=True):
        largest.setdefault(row[SOURCE], []).append(cluster_record(row))
    per_source: dict[str, dict[str, Any]] = {}
    for row in per.iter_rows(named=True):
        source = row.pop(SOURCE)
        row["exact_duplicates"] = int(row["exact_duplicates"])
        row["near_duplicates"] = int(row["near_duplicates"])
        row["largest_clusters"] = largest.get(source, [])
        per_source[source] = row
    total = found.documents
    exact = int(members["exact_duplicate"].sum()) if members.height else 0
    near_total = int((~members["kept"]).sum()) if members.height else 0
    stats = found.stats
    summary = {
        "documents": total,
        "exact_duplicates": exact,
        "exact_duplicate_fraction": exact / total,
        "near_duplicates": near_total,
        "near_duplicate_fraction": near_total / total,
        "duplicate_clusters": clusters.height,
        "candidate_pairs": stats.candidate_pairs,
        "verified_pairs": stats.verified_pairs,
        "rejected_pairs": stats.rejected_pairs,
        "band_rows": stats.band_rows,
        "largest_clusters": [cluster_record(r) for r in top.iter_rows(named=True)],
    }
    return AnalyzerResult(per_source=per_source, summary=summary, run_figures={"spill_bytes": stats.spill_bytes})


def _preview(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
