"""`synthscope dedup`: cluster a corpus, write clusters.parquet and optionally the deduplicated corpus."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from synthscope.dedup.analyzer import DedupAnalyzer, summarise
from synthscope.dedup.cluster import Clusters, document_frames
from synthscope.errors import UsageError
from synthscope.io.discover import InputFile, discover_inputs
from synthscope.io.parts import plan_parts
from synthscope.io.writable import atomic_target, check_output_folder
from synthscope.io.writers import refuse_overwriting_inputs, write_without_rows
from synthscope.pipeline import AuditConfig, ProgressSink, check_engine, check_workdir, dedup_options, job_of, resolve_plan, start_run

CLUSTERS_FILE = "clusters.parquet"
DEDUPLICATED_DIR = "deduplicated"


@dataclass
class DedupResult:
    """What `run_dedup` wrote and the corpus-wide figures."""

    clusters_path: Path
    summary: dict[str, Any]
    per_source: dict[str, dict[str, Any]]
    deduplicated: list[tuple[str, Path, int]]  # (input label, output path, rows written)
    accounting: dict[str, int]
    warnings: list[str]


def run_dedup(
    paths: list[str],
    config: AuditConfig,
    out_dir: Path,
    write_deduplicated: bool = False,
    progress: ProgressSink | None = None,
) -> DedupResult:
    """Cluster the corpus at `paths`; write `out_dir/clusters.parquet` (id, source, cluster_id,
    is_duplicate, kept, file, row) and, if asked, each input file without its duplicates."""
    if config.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    if config.workers < 1:
        raise UsageError("--workers must be at least 1")
    check_engine(config)
    check_workdir(config.workdir)
    inputs, _ = discover_inputs(paths, config.text_column)
    plan = resolve_plan(inputs, config)
    config = plan.resolved(config)
    clusters_path = out_dir / CLUSTERS_FILE
    names = _output_names(inputs)
    targets = {f.label: out_dir / DEDUPLICATED_DIR / names[f.label] for f in inputs} if write_deduplicated else {}
    refuse_overwriting_inputs(inputs, [clusters_path, *targets.values()])
    check_output_folder(out_dir, "the dedup output")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="synthscope-", dir=config.workdir) as work:
        try:
            analyzer = DedupAnalyzer(Path(work), dedup_options(config))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        parts = plan_parts(inputs, config.batch_size)
        engine, run_accounting, progress = start_run(config, inputs, len(parts), progress)
        try:
            try:
                state = engine.run(job_of([analyzer], plan, config, Path(work)), parts, run_accounting.add).states[0]
            finally:
                engine.close()
        finally:
            if progress is not None:
                progress.finish()
        accounting = run_accounting.accounting
        found = analyzer.find_clusters(state)
        write_clusters(found, clusters_path)
        result = summarise(found) if found.documents else None
        written: list[tuple[str, Path, int]] = []
        if write_deduplicated:
            written = _write_deduplicated(inputs, found, targets, Path(work))
    return DedupResult(
        clusters_path=clusters_path,
        summary=result.summary if result else {"documents": 0},
        per_source=result.per_source if result else {},
        deduplicated=written,
        accounting=accounting.totals.as_dict(),
        warnings=accounting.warnings,
    )


_CLUSTERS_SCHEMA = {
    "id": pl.String, "source": pl.String, "cluster_id": pl.Int64, "is_duplicate": pl.Boolean, "kept": pl.Boolean,
    "file": pl.String, "row": pl.Int64,
}  # fmt: skip


def write_clusters(found: Clusters, path: Path) -> None:
    """Write clusters.parquet (id, source, cluster_id, is_duplicate, kept, file, row) in input
    order, one part of the spill at a time (one row group each)."""
    with atomic_target(path) as partial:
        writer: pq.ParquetWriter | None = None
        try:
            for frame in document_frames(found, ["doc_id", "source", "file", "_row"]):
                table = _clusters_frame(frame).to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(partial, table.schema, compression="zstd")
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            pl.DataFrame(schema=_CLUSTERS_SCHEMA).write_parquet(partial)


def _clusters_frame(docs: pl.DataFrame) -> pl.DataFrame:
    return docs.select(
        pl.col("doc_id").alias("id"), "source", "cluster_id", "is_duplicate", "kept", "file", pl.col("_row").alias("row")
    ).cast(_CLUSTERS_SCHEMA)  # type: ignore[arg-type]


def _output_names(inputs: list[InputFile]) -> dict[str, str]:
    """File name of each input's deduplicated copy: its base name, made unique when needed."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for k, f in enumerate(inputs):
        name = f.path.name
        if name in taken:
            name = f"{k:04d}-{name}"
        taken.add(name)
        names[f.label] = name
    return names


def _write_deduplicated(inputs: list[InputFile], found: Clusters, targets: dict[str, Path], work: Path) -> list[tuple[str, Path, int]]:
    members = found.members
    removed = members.filter(~pl.col("kept")).group_by("file").agg(pl.col("_row").sort()) if members.height else pl.DataFrame()
    drop = {row[0]: row[1] for row in removed.iter_rows()}
    written = []
    for f in inputs:
        target = targets[f.label]
        rows = pl.Series(drop.get(f.label, []), dtype=pl.Int64).to_numpy()
        written.append((f.label, target, write_without_rows(f, rows, target, work)))
    return written
