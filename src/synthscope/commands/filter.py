"""`synthscope filter`: write a cleaned copy of a corpus, with every decision recorded per input row.

1. One streaming pass through the engine (the audit's reading, preparing and analyzers): the detect
   analyzer, keeping every document's score on disk (`detect.documents`), and the dedup analyzer.
2. Finalize: every source's synthetic fraction as the audit estimates it (profile or `--human-reference`);
   sources dropped whole (`--drop-sources-above`, on the interval's lower bound); dedup clusters, their kept
   copies chosen outside the dropped sources; per-source score histograms after dedup (a pass over the
   score spill); per-source thresholds for `--max-synthetic` within `--human-floor` (`detect.thresholds`,
   all sources at once), or `--score-above`.
3. Decisions per document, part by part over the spill; per-source histograms of what is kept.
4. A second pass over the inputs writes the kept rows in each input's own format under a temporary folder,
   renamed to OUT/data when complete; decisions.parquet (every input row, the rows the audit does not
   analyse included) and the report are written under temporary names and renamed.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from synthscope.analyzer import DOC_ID, SOURCE
from synthscope.dedup.analyzer import DedupAnalyzer, DedupState
from synthscope.dedup.cluster import Clusters, document_frames, keep_outside
from synthscope.dedup.spill import Part
from synthscope.detect.analyzer import DetectAnalyzer, SourceEstimates
from synthscope.detect.documents import LOGIT, ROW, ScoredDocuments, ScoredState
from synthscope.detect.profile import LOGIT_EDGES, N_BINS, score_bins
from synthscope.detect.scorer import sigmoid
from synthscope.detect.thresholds import Cuts, choose_cuts, human_documents, remaining_share, synthetic_posterior
from synthscope.engines import Engine, make_engine, single_threaded_blas
from synthscope.errors import UsageError
from synthscope.io.accounting import Accounting, RowCounts, fingerprint_file
from synthscope.io.discover import InputFile
from synthscope.io.parts import plan_parts
from synthscope.io.writable import atomic_target, check_output_folder, staged_folder
from synthscope.io.writers import output_paths, refuse_overwriting_inputs, write_without_rows
from synthscope.pipeline import (
    AuditConfig, BatchPlan, ProgressSink, RunAccounting, build_analyzers, engine_for, iter_unanalysed, job_of, plan_inputs,
    read_human_reference,
)

DATA_DIR = "data"
DECISIONS_FILE = "decisions.parquet"
REPORT_JSON = "filter_report.json"
REPORT_MD = "filter_report.md"
DUPLICATE_MODES = ("near", "exact", "keep")
FLOOR_BASES = ("lower-bound", "estimate")
REMOVAL_REASONS = ("exact_duplicate", "near_duplicate", "synthetic", "source_dropped")
REASONS = ("kept", *REMOVAL_REASONS, "empty", "malformed", "skipped", "other_language")
DECISIONS_SCHEMA = pa.schema([
    ("id", pa.large_string()), ("source", pa.large_string()), ("file", pa.large_string()), ("row", pa.int64()),
    ("kept", pa.bool_()), ("reason", pa.large_string()), ("score", pa.float64()), ("cluster_id", pa.int64()),
])
_REASON_CODE = {r: i for i, r in enumerate(REMOVAL_REASONS)}
KEPT_SOURCE, DROPPED_ABOVE, DROPPED_UNREACHABLE = 0, 1, 2  # whether a source is dropped whole, and why


@dataclass
class FilterOptions:
    """What `filter` removes: duplicates, machine-like documents (to a target or above a score), sources."""

    duplicates: str = "near"  # near | exact | keep
    max_synthetic: float | None = None  # per-source target of the estimated synthetic share kept
    score_above: float | None = None  # drop every document scoring above this instead
    human_floor: float = 0.9  # never drop more than 1 - floor of a source's estimated human documents
    floor_at: str = "lower-bound"  # human documents counted at the synthetic fraction's lower bound, or its estimate
    drop_sources_above: float | None = None  # drop a source whose estimate's lower bound exceeds this
    drop_unreachable: bool = False  # drop a source whose target cannot be met within the floor
    fail_if_unreachable: bool = False  # exit 1 when a source could not meet its target

    def validate(self) -> None:
        if self.floor_at not in FLOOR_BASES:
            raise UsageError(f"--floor-at must be one of {', '.join(FLOOR_BASES)}, got {self.floor_at!r}")
        if self.duplicates not in DUPLICATE_MODES:
            raise UsageError(f"--duplicates must be one of {', '.join(DUPLICATE_MODES)}, got {self.duplicates!r}")
        if self.max_synthetic is not None and self.score_above is not None:
            raise UsageError("give either --max-synthetic or --score-above, not both")
        for name, value in (("--max-synthetic", self.max_synthetic), ("--score-above", self.score_above),
                            ("--human-floor", self.human_floor), ("--drop-sources-above", self.drop_sources_above)):
            if value is not None and not 0.0 <= value <= 1.0:
                raise UsageError(f"{name} must be between 0 and 1, got {value}")
        if (self.drop_unreachable or self.fail_if_unreachable) and self.max_synthetic is None:
            raise UsageError("--drop-unreachable and --fail-if-unreachable need --max-synthetic")


@dataclass
class FilterResult:
    """The report (also written as filter_report.json) and where the outputs are."""

    report: dict[str, Any]
    data_dir: Path
    decisions_path: Path
    report_paths: list[Path] = field(default_factory=list)


@dataclass
class SourcePlan:
    """Per source (rows aligned with `sources`): what to drop and what the estimator expects of it."""

    sources: list[str]
    before: SourceEstimates  # estimates on every analysed document (as the audit gives them)
    base: SourceEstimates  # estimates on the documents left after dedup (thresholds are chosen on these)
    base_counts: np.ndarray  # (S, K) score histograms after dedup
    dropped: np.ndarray  # (S,) int8: KEPT_SOURCE, DROPPED_ABOVE (--drop-sources-above) or DROPPED_UNREACHABLE
    cut: np.ndarray  # (S,) first dropped score bin for --max-synthetic (K: none)
    cuts: Cuts | None
    unscored: np.ndarray | None = None  # (S,) documents in a language the profile does not cover (never scored)


def run_filter(paths: list[str], config: AuditConfig, options: FilterOptions, out_dir: Path,
               progress: ProgressSink | None = None, write_progress: ProgressSink | None = None) -> FilterResult:
    """Filter the corpus at `paths` into `out_dir` (data/, decisions.parquet, filter_report.json/.md)."""
    options.validate()
    started = time.time()
    inputs, ignored, plan = plan_inputs(paths, config)
    given = config  # the human reference takes its own defaults (id column) from its own files
    config = replace(plan.resolved(config), detect=True, dedup=options.duplicates != "keep", diversity=False)
    out_dir = Path(out_dir)
    data_dir = out_dir / DATA_DIR
    decisions_path = out_dir / DECISIONS_FILE
    report_paths = [out_dir / REPORT_JSON, out_dir / REPORT_MD]
    refuse_overwriting_inputs(inputs, [decisions_path, *report_paths], folders=[data_dir])
    check_output_folder(out_dir, "the filtered corpus")
    with tempfile.TemporaryDirectory(prefix="synthscope-", dir=config.workdir) as work_name:
        work = Path(work_name)
        analyzers = build_analyzers(config, work)
        detect = next(a for a in analyzers if isinstance(a, DetectAnalyzer))
        dedup = next((a for a in analyzers if isinstance(a, DedupAnalyzer)), None)
        if config.human_reference:
            read_human_reference([detect], replace(given, detect=True))
        scored = ScoredDocuments(detect, work)
        accounting = Accounting()
        file_counts: dict[str, RowCounts] = {}
        t0 = time.perf_counter()
        # one engine for both passes: its workers map the first and write the files of the second (outputs
        # are local: with Ray, whose tasks may run on other machines, a local pool writes them)
        engine = engine_for(config, max(len(plan_parts(inputs, config.batch_size)), len(inputs)), progress is not None)
        writer = engine if engine.name != "ray" else make_engine(min(config.workers, len(inputs)))
        try:
            scored_state, dedup_state = _first_pass(inputs, plan, config, engine, scored, dedup, accounting, file_counts, progress)
            t1 = time.perf_counter()
            with single_threaded_blas():
                source_plan, clusters = _plan_sources(scored, scored_state, dedup, dedup_state, options)
                decisions = _decide(scored, scored_state, clusters, source_plan, options, work)
            t2 = time.perf_counter()
            # everything is written under temporary names, then renamed: decisions.parquet, data/, the report last
            with staged_folder(data_dir) as staging, atomic_target(decisions_path) as partial_decisions:
                tasks = _file_tasks(inputs, plan, config, decisions, file_counts, data_dir, staging, work)
                outputs = _second_pass(writer, tasks, partial_decisions, write_progress)
                for path in report_paths:  # an earlier run's report no longer describes what is in OUT
                    path.unlink(missing_ok=True)
        finally:
            engine.close()
            writer.close()
        t3 = time.perf_counter()
    from synthscope.report.filter import build_filter_report, write_filter_report

    records = source_records(source_plan, decisions, options)
    report = build_filter_report(
        options=_report_options(plan, config, options),
        source_spec=plan.sources.describe(),
        inputs=[_input_record(f, file_counts, outputs) for f in inputs],
        ignored_files=ignored,
        accounting=accounting,
        sources=records,
        analyzers={"detect": detect.options(), **({"dedup": dedup.options()} if dedup else {})},
        timings={"total_seconds": time.time() - started, "first_pass_seconds": t1 - t0, "plan_seconds": t2 - t1, "second_pass_seconds": t3 - t2},
    )
    write_filter_report(report, report_paths)
    return FilterResult(report, data_dir, decisions_path, report_paths)


def _input_record(file: InputFile, file_counts: dict[str, RowCounts], outputs: list[FileOutput]) -> dict[str, Any]:
    counts = file_counts.get(file.label, RowCounts())
    out = next(o for o in outputs if o.label == file.label)
    return {
        "path": file.label, "format": file.format, "compression": file.compression, "bytes": file.bytes,
        "rows": counts.rows_read, "accounting": counts.as_dict(), "fingerprint": fingerprint_file(file.path),
        "output": {"path": out.relative, "rows": out.rows, "fingerprint": out.fingerprint},
    }


def _report_options(plan: BatchPlan, config: AuditConfig, options: FilterOptions) -> dict[str, Any]:
    recorded = plan.report_options(config)
    for name in ("detect", "dedup", "diversity", "diversity_budget_tokens", "diversity_sample_docs", "diversity_hypotheses", "diversity_min_docs", "embedder"):
        recorded.pop(name, None)
    return {**recorded, **asdict(options)}


# ------------------------------------------------------------------------------------- first pass


def _first_pass(
    inputs: list[InputFile], plan: BatchPlan, config: AuditConfig, engine: Engine, scored: ScoredDocuments,
    dedup: DedupAnalyzer | None, accounting: Accounting, file_counts: dict[str, RowCounts], progress: ProgressSink | None,
) -> tuple[ScoredState, DedupState | None]:
    """Read, prepare and map the corpus once (the audit's pipeline and engine): scores and dedup spills."""
    analyzers: list[Any] = [scored] + ([dedup] if dedup is not None else [])
    parts = plan_parts(inputs, config.batch_size)
    if engine.draws_progress:
        progress = None
    run_accounting = RunAccounting(progress)
    run_accounting.accounting, run_accounting.file_counts = accounting, file_counts
    if progress is not None:
        progress.start(sum(f.bytes for f in inputs), len(inputs))
    try:
        with single_threaded_blas():
            states = engine.run(job_of(analyzers, plan, config, scored.workdir.parent), parts, run_accounting.add).states
        run_accounting.finish(inputs, config)
    finally:
        if progress is not None:
            progress.finish()
    return states[0], (states[1] if dedup is not None else None)


# ------------------------------------------------------------------------------------------ plan


def _source_codes(frame: pl.DataFrame, sources: list[str]) -> np.ndarray:
    """Index of each row's source in the sorted `sources` (vectorised through an Enum)."""
    return frame[SOURCE].cast(pl.Enum(sources)).to_physical().to_numpy().astype(np.int64)


def _document_facts(scored: ScoredDocuments, state: ScoredState, clusters: Clusters | None, duplicates: str) -> Iterator[tuple[Part, pl.DataFrame]]:
    """Every analysed document, part by part in input order: file, _row, doc_id, source, logit, and its
    duplicate facts (`duplicate`: null, exact_duplicate or near_duplicate; `cluster_id`)."""
    facts = document_frames(clusters, ["_row"]) if clusters is not None else None
    for part, frame in scored.frames(state):
        if facts is None:
            yield part, frame.with_columns(pl.lit(None, dtype=pl.String).alias("duplicate"), pl.lit(None, dtype=pl.Int64).alias("cluster_id"))
            continue
        dup = next(facts)
        if dup.height != frame.height or not (dup["_row"] == frame[ROW]).all():
            raise RuntimeError(f"score and dedup spills disagree on a part of {part.first_file}")
        exact = pl.col("_exact")
        if duplicates == "exact":
            duplicate, cluster = pl.when(exact).then(pl.lit("exact_duplicate")), dup["exact_root"]
        else:
            duplicate = pl.when(~pl.col("_kept")).then(pl.when(exact).then(pl.lit("exact_duplicate")).otherwise(pl.lit("near_duplicate")))
            cluster = dup["cluster_id"]
        frame = frame.with_columns(dup["kept"].alias("_kept"), dup["exact_duplicate"].alias("_exact"), pl.Series("cluster_id", cluster, dtype=pl.Int64))
        yield part, frame.with_columns(duplicate.otherwise(None).alias("duplicate")).drop("_kept", "_exact")


def _histograms(frames: Iterator[tuple[Part, pl.DataFrame]], sources: list[str], keep: pl.Expr) -> np.ndarray:
    """(S, K) score histograms of the documents selected by `keep`, streaming over the parts."""
    counts = np.zeros((len(sources), N_BINS))
    for _, frame in frames:
        chosen = frame.filter(keep & pl.col(LOGIT).is_not_nan())  # documents in an unsupported language have no score
        if chosen.height:
            np.add.at(counts, (_source_codes(chosen, sources), score_bins(chosen[LOGIT].to_numpy())), 1.0)
    return counts


def _plan_sources(scored: ScoredDocuments, state: ScoredState, dedup: DedupAnalyzer | None, dedup_state: DedupState | None,
                  options: FilterOptions) -> tuple[SourcePlan, Clusters | None]:
    """Estimates, whole-source drops, clusters and per-source thresholds, for all sources at once."""
    detect = scored.detect
    sources = sorted(state.scores)
    counts = np.stack([state.scores[s].counts for s in sources]) if sources else np.zeros((0, N_BINS))
    topic_sums = detect.topic_sums(state.scores, sources)  # matches sources to calibration groups (None: pooled)
    before = detect.estimate_sources(sources, counts, topic_sums)
    dropped = np.full(len(sources), KEPT_SOURCE, dtype=np.int8)
    if options.drop_sources_above is not None:
        dropped[np.nan_to_num(before.estimates.ci_low, nan=0.0) > options.drop_sources_above] = DROPPED_ABOVE
    clusters = None
    if dedup is not None and dedup_state is not None:
        avoided = set(np.asarray(sources, dtype=object)[dropped != KEPT_SOURCE].tolist())
        clusters = keep_outside(dedup.find_clusters(dedup_state), avoided)
    base_counts, base = counts, before
    if clusters is not None:
        base_counts = _histograms(_document_facts(scored, state, clusters, options.duplicates), sources, pl.col("duplicate").is_null())
        if not np.array_equal(base_counts, counts):
            base = detect.estimate_sources(sources, base_counts, topic_sums)
    cut = np.full(len(sources), N_BINS, dtype=np.int64)
    cuts = None
    if options.max_synthetic is not None:
        posterior = synthetic_posterior(base.estimates.estimate, base.human, base.synthetic)
        floor_alpha = base.estimates.ci_low if options.floor_at == "lower-bound" else base.estimates.estimate
        floor_posterior = synthetic_posterior(floor_alpha, base.human, base.synthetic)
        cuts = choose_cuts(base_counts, posterior, options.max_synthetic, options.human_floor, floor_posterior)
        cut = cuts.cut
        if options.drop_unreachable:
            dropped[(~cuts.target_met) & (dropped == KEPT_SOURCE)] = DROPPED_UNREACHABLE
    unscored = np.array([state.scores[s].unsupported for s in sources], dtype=np.int64)
    return SourcePlan(sources, before, base, base_counts, dropped, cut, cuts, unscored), clusters


# ------------------------------------------------------------------------------------- decisions


@dataclass
class Decisions:
    """Per-document decisions spilled per part, and what they keep per source."""

    parts: dict[str, list[Path]]  # file label -> decision parts in row order
    kept_counts: np.ndarray  # (S, K) score histograms of the kept documents
    removed: np.ndarray  # (S, len(REMOVAL_REASONS)) documents removed per reason
    kept_documents: np.ndarray | None = None  # (S,) kept documents, scored or not


def _decide(scored: ScoredDocuments, state: ScoredState, clusters: Clusters | None, plan: SourcePlan,
            options: FilterOptions, work: Path) -> Decisions:
    """Every analysed document's decision (reason order: source dropped, duplicate, synthetic, kept),
    written part by part to the work folder."""
    folder = work / "decisions"
    folder.mkdir()
    sources = plan.sources
    kept_counts = np.zeros((len(sources), N_BINS))
    kept_documents = np.zeros(len(sources), dtype=np.int64)
    removed = np.zeros((len(sources), len(REMOVAL_REASONS)), dtype=np.int64)
    parts: dict[str, list[Path]] = {}
    for k, (part, frame) in enumerate(_document_facts(scored, state, clusters, options.duplicates)):
        codes = _source_codes(frame, sources)
        logits = frame[LOGIT].to_numpy()
        if options.score_above is not None:
            synthetic = sigmoid(logits) > options.score_above
        else:
            synthetic = score_bins(logits) >= plan.cut[codes]
        synthetic &= np.isfinite(logits)  # a document in a language the profile does not cover is never judged
        reason = (
            pl.when(pl.col("_dropped")).then(pl.lit("source_dropped"))
            .when(pl.col("duplicate").is_not_null()).then(pl.col("duplicate"))
            .when(pl.col("_synthetic")).then(pl.lit("synthetic"))
            .otherwise(pl.lit("kept"))
        )
        frame = frame.with_columns(pl.Series("_dropped", plan.dropped[codes] != KEPT_SOURCE), pl.Series("_synthetic", synthetic))
        decided = frame.select(
            pl.col(DOC_ID).alias("id"), SOURCE, "file", pl.col(ROW).alias("row"), reason.alias("reason"),
            pl.Series("score", sigmoid(logits)).fill_nan(None), "cluster_id",  # null: no score (unsupported language)
        ).with_columns((pl.col("reason") == "kept").alias("kept"))
        kept = decided["kept"].to_numpy()
        kept_scored = kept & np.isfinite(logits)
        np.add.at(kept_counts, (codes[kept_scored], score_bins(logits[kept_scored])), 1.0)
        np.add.at(kept_documents, codes[kept], 1)
        for name, code in _REASON_CODE.items():
            mask = (decided["reason"] == name).to_numpy()
            if mask.any():
                np.add.at(removed[:, code], codes[mask], 1)
        path = folder / f"part-{k:08d}.parquet"
        decided.select(DECISIONS_SCHEMA.names).write_parquet(path, compression="zstd", compression_level=1)
        parts.setdefault(part.first_file, []).append(path)
    return Decisions(parts, kept_counts, removed, kept_documents)


# ------------------------------------------------------------------------------------ second pass


@dataclass
class FileOutput:
    """One input's cleaned copy."""

    label: str
    path: Path  # final location under OUT/data
    relative: str  # the same, relative to OUT (data/...)
    rows: int
    fingerprint: str


@dataclass(frozen=True)
class FileTask:
    """One input file's share of the second pass (picklable: it runs on the engine's workers)."""

    file: InputFile
    plan: BatchPlan
    config: AuditConfig
    parts: tuple[Path, ...]  # the file's decision parts (its analysed rows), in row order
    has_unanalysed: bool  # the file has rows the audit does not analyse (they are read again)
    target: Path  # the staged copy
    final: Path  # where the copy ends up under OUT/data
    relative: str  # the same, relative to OUT (data/...)
    decisions: Path  # every row's decision, in row order, written here for the caller to append
    work: Path


def _file_tasks(inputs: list[InputFile], plan: BatchPlan, config: AuditConfig, decisions: Decisions,
                file_counts: dict[str, RowCounts], data_dir: Path, staging: Path, work: Path) -> list[FileTask]:
    targets = output_paths(inputs, data_dir)
    folder = work / "file-decisions"
    folder.mkdir()
    tasks = []
    for k, file in enumerate(inputs):
        counts = file_counts.get(file.label, RowCounts())
        relative = targets[file.label].relative_to(data_dir)
        tasks.append(FileTask(file, plan, config, tuple(decisions.parts.get(file.label, [])), counts.analysed < counts.rows_read,
                              staging / relative, targets[file.label], (Path(DATA_DIR) / relative).as_posix(),
                              folder / f"file-{k:06d}.parquet", work))
    return tasks


def write_file(task: FileTask) -> tuple[int, str]:
    """Write one input's kept rows in its own format, and its decisions (the rows the audit does not analyse
    merged in); returns the rows written and the copy's fingerprint."""
    unanalysed = _unanalysed(task.file, task.plan, task.config) if task.has_unanalysed else None
    dropped = _dropped_rows(list(task.parts), unanalysed)
    rows = write_without_rows(task.file, dropped, task.target, task.work)
    with pq.ParquetWriter(task.decisions, DECISIONS_SCHEMA, compression="zstd", compression_level=1) as writer:
        for table in _decision_tables(task.file, list(task.parts), unanalysed):
            writer.write_table(table)
    return rows, fingerprint_file(task.target)


def _second_pass(engine: Engine, tasks: list[FileTask], decisions_path: Path, progress: ProgressSink | None) -> list[FileOutput]:
    """Write every input's copy (files in parallel on the engine's workers) and append their decisions to
    `decisions_path` in input order, one row group at a time."""
    outputs: list[FileOutput] = []
    if progress is not None:
        progress.start(sum(t.file.bytes for t in tasks), len(tasks))
    try:
        with pq.ParquetWriter(decisions_path, DECISIONS_SCHEMA, compression="zstd") as writer:
            for task, (rows, fingerprint) in zip(tasks, engine.parallel_map(write_file, tasks)):
                part = pq.ParquetFile(task.decisions)
                for group in range(part.num_row_groups):
                    writer.write_table(part.read_row_group(group))
                outputs.append(FileOutput(task.file.label, task.final, task.relative, rows, fingerprint))
                if progress is not None:
                    progress.advance(task.file.bytes, rows)
    finally:
        if progress is not None:
            progress.finish()
    return outputs


def _unanalysed(file: InputFile, plan: BatchPlan, config: AuditConfig) -> pl.DataFrame:
    """The file's rows that are not analysed (empty, skipped, malformed), read as the audit reads them."""
    frames = list(iter_unanalysed(file, plan, config))
    schema = {ROW: pl.Int64, DOC_ID: pl.String, SOURCE: pl.String, "reason": pl.String}
    return pl.concat(frames).cast(schema).sort(ROW) if frames else pl.DataFrame(schema=schema)  # type: ignore[arg-type]


def _dropped_rows(parts: list[Path], unanalysed: pl.DataFrame | None) -> np.ndarray:
    """Row numbers of a file that are not written: documents not kept, and rows not analysed."""
    rows = [pl.read_parquet(p, columns=["row", "kept"]).filter(~pl.col("kept"))["row"].to_numpy() for p in parts]
    if unanalysed is not None:
        rows.append(unanalysed[ROW].to_numpy())
    return np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, dtype=np.int64)


def _decision_tables(file: InputFile, parts: list[Path], unanalysed: pl.DataFrame | None) -> Iterator[pa.Table]:
    """The file's decisions in row order, one part at a time, with the unanalysed rows merged in."""
    extra = pl.DataFrame(schema={k: pl.String if k != "row" else pl.Int64 for k in ("id", "source", "file", "row")})
    if unanalysed is not None and unanalysed.height:
        extra = unanalysed.select(pl.col(DOC_ID).alias("id"), SOURCE, pl.lit(file.label).alias("file"), pl.col(ROW).alias("row"), "reason")
        extra = extra.with_columns(pl.lit(False).alias("kept"), pl.lit(None, dtype=pl.Float64).alias("score"), pl.lit(None, dtype=pl.Int64).alias("cluster_id"))
    taken = 0
    for k, path in enumerate(parts):
        frame = pl.read_parquet(path)
        if extra.height > taken:
            upper = pl.read_parquet(parts[k + 1], columns=["row"])["row"][0] if k + 1 < len(parts) else None
            rows = extra["row"].to_numpy()
            stop = len(rows) if upper is None else int(np.searchsorted(rows, upper))
            if stop > taken:
                frame = pl.concat([frame, extra.slice(taken, stop - taken).select(frame.columns)]).sort("row")
                taken = stop
        yield frame.to_arrow().cast(DECISIONS_SCHEMA)
    if extra.height > taken:
        yield extra.slice(taken).select(DECISIONS_SCHEMA.names).to_arrow().cast(DECISIONS_SCHEMA)


# ---------------------------------------------------------------------------------------- outcome


DROPPED_NAMES = {DROPPED_ABOVE: "estimate_above_threshold", DROPPED_UNREACHABLE: "target_unreachable"}


def _interval(point: np.ndarray, low: np.ndarray, high: np.ndarray, i: int, digits: int = 4) -> dict[str, Any] | None:
    if not np.isfinite(point[i]):
        return None
    return {"estimate": round(float(point[i]), digits), "ci_low": round(float(low[i]), digits), "ci_high": round(float(high[i]), digits)}


def source_records(plan: SourcePlan, decisions: Decisions, options: FilterOptions) -> list[dict[str, Any]]:
    """Per source, largest first: documents before and after, removals by reason, the synthetic fraction
    before (as the audit estimates it) and the expected one after, the estimated human documents and how
    many were lost, the threshold and whether the target was met. Expectations come from the estimate's
    score densities (`detect.thresholds`); their intervals from the estimate's interval."""
    est = plan.base.estimates
    posteriors = [synthetic_posterior(a, plan.base.human, plan.base.synthetic) for a in (est.estimate, est.ci_low, est.ci_high)]
    kept = decisions.kept_counts
    share = [remaining_share(kept, w) for w in posteriors]  # point, low, high (rises with the fraction)
    human_before = [human_documents(plan.base_counts, w) for w in posteriors]  # point, high, low
    human_lost = [hb - human_documents(kept, w) for hb, w in zip(human_before, posteriors)]
    documents = plan.before.estimates.documents + (plan.unscored if plan.unscored is not None else 0)
    after = decisions.kept_documents if decisions.kept_documents is not None else kept.sum(axis=1)
    records = []
    for i, source in enumerate(plan.sources):
        lost_fraction = float(human_lost[0][i] / human_before[0][i]) if human_before[0][i] > 1e-9 else 0.0
        threshold = None
        if options.score_above is not None:
            threshold = options.score_above
        elif options.max_synthetic is not None and plan.cut[i] < N_BINS:
            threshold = round(float(sigmoid(np.asarray(LOGIT_EDGES[plan.cut[i]]))), 6)
        target_met = None
        if plan.cuts is not None and plan.dropped[i] != DROPPED_ABOVE:
            target_met = bool(plan.cuts.target_met[i])
        records.append({
            "source": source,
            "documents_before": int(documents[i]),
            "documents_after": int(after[i]),
            "removed": {name: int(decisions.removed[i, code]) for name, code in _REASON_CODE.items()},
            "synthetic_fraction_before": plan.before.records[i],
            "synthetic_fraction_deduplicated": plan.base.records[i],
            "synthetic_fraction_after": _interval(share[0], share[1], share[2], i),
            "human_documents": _interval(human_before[0], human_before[2], human_before[1], i, 1),
            "human_documents_lost": _interval(human_lost[0], human_lost[2], human_lost[1], i, 1),
            "human_loss_fraction": round(lost_fraction, 4),
            "threshold": threshold,
            "target_met": target_met,
            "dropped": DROPPED_NAMES.get(int(plan.dropped[i])),
        })
    return sorted(records, key=lambda r: (-r["documents_before"], r["source"]))
