"""The `synthscope` command line: parse options, call the library, render. Nothing else."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from synthscope import __version__
from synthscope.errors import SynthscopeError, Terminated
from synthscope.dedup.hashing import DEFAULT_NGRAM
from synthscope.dedup.minhash import DEFAULT_NUM_PERM
from synthscope.dedup.params import DEFAULT_THRESHOLD
from synthscope.diversity.analyzer import DEFAULT_BUDGET_TOKENS, DEFAULT_HYPOTHESES, DEFAULT_MIN_DOCS, DEFAULT_SAMPLE_DOCS
from synthscope.engines import ENGINE_NAMES, usable_cores
from synthscope.io.storage import is_url
from synthscope.language import parse_languages
from synthscope.pipeline import DEFAULT_BATCH_SIZE, AuditConfig, run_audit
from synthscope.io.writable import atomic_target, check_output_file, check_output_folder, check_step_summary, write_text_atomically
from synthscope.report.escape import printable, terminal_text

class _PlainConsole(Console):
    """A rich console whose closed pipe raises BrokenPipeError (rich's own handler exits 1, which reads
    as a failed check): the command then ends quietly with its own exit code."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def plain_console(**kwargs: Any) -> Console:
    """A rich console that never reads markup or emoji codes in what it prints: user strings (paths,
    columns, source names) are printed literally; styles are given as Text objects."""
    return _PlainConsole(markup=False, emoji=False, highlight=False, **kwargs)


stderr = plain_console(stderr=True)


def say(console: Console, message: str, label: str = "", style: str = "") -> None:
    """Print one line: an optional styled label, then `message` literally (controls made visible)."""
    line = Text.assemble((label, style), terminal_text(message)) if label else terminal_text(message, style=style)
    console.print(line, soft_wrap=True)


class RichProgress:
    """A rich progress bar on stderr: documents, MB read, documents per second."""

    def __init__(self, console: Console, label: str = "reading") -> None:
        self._progress = Progress(
            TextColumn(label, style="bold", markup=False),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[docs]:,} docs"),
            TextColumn("{task.fields[rate]:,.0f} docs/s"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task: TaskID | None = None
        self._docs = 0

    def start(self, total_bytes: int, files: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task("read", total=max(total_bytes, 1), docs=0, rate=0.0)

    def advance(self, raw_bytes: int, documents: int) -> None:
        assert self._task is not None
        self._docs += documents
        elapsed = self._progress.tasks[0].elapsed or 1e-9
        self._progress.update(self._task, advance=raw_bytes, docs=self._docs, rate=self._docs / elapsed)

    def finish(self) -> None:
        self._progress.stop()


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def _run_guarded(debug: bool, action: Any) -> Any:
    """Run an action; known errors become one stderr line and their exit code, others exit 3.

    Ctrl-C exits 130 and SIGTERM 143 with one line, after the work's temporary files are removed
    (SIGTERM is turned into an exception for the time of the action so that cleanup code runs).
    """
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return action()
    except SynthscopeError as exc:
        say(stderr, str(exc), "error: ", "red")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        say(stderr, "interrupted")
        sys.exit(130)
    except Terminated:
        say(stderr, "terminated")
        sys.exit(143)
    except Exception as exc:  # noqa: BLE001 - the one place that turns crashes into exit code 3
        if debug:
            traceback.print_exc()
        say(stderr, f"{type(exc).__name__}: {exc} (run with --debug for the traceback)", "internal error: ", "red")
        sys.exit(3)
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def closed_stdout_is_quiet() -> Iterator[None]:
    """Printing to a closed pipe (`synthscope audit ... | head -1`) ends quietly: the rest of the
    output is discarded and the command keeps its own exit code."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass  # not a real file descriptor (e.g. captured in tests)


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        say(stderr, warning, "warning: ", "yellow")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="synthscope")
def main() -> None:
    """Audit text corpora for synthetic contamination, duplication and diversity loss."""


def input_options(func: Any) -> Any:
    """PATHS plus the reading options shared by every command that reads a corpus."""
    return click.argument("paths", nargs=-1, required=True)(reading_options(func))


def reading_options(func: Any) -> Any:
    """Reading options shared by every command that reads a corpus (columns, sources, batching)."""
    decorators = [
        click.option("--text-column", default="text", show_default=True, help="Column holding the document text."),
        click.option("--id-column", default=None, help="Column holding document ids (default: file:row)."),
        click.option(
            "--by",
            default=None,
            help="Source of each document: 'file', 'domain' (of --url-column) or a column name. "
            "Default: the 'source' column if present, else 'file'.",
        ),
        click.option("--url-column", default="url", show_default=True, help="URL column used by --by domain."),
        click.option("--batch-size", default=DEFAULT_BATCH_SIZE, show_default=True, type=click.IntRange(min=1), help="Rows per batch."),
        click.option("--strict", is_flag=True, help="Treat a malformed row as an error (exit 2)."),
        click.option("--min-chars", default=0, show_default=True, type=click.IntRange(min=0), help="Skip texts shorter than this (counted as skipped)."),
        click.option("--language", "language", default=None, metavar="CODES",
                     help="Only documents identified as these languages, e.g. 'en,de' (others are counted as other_language; 'und' keeps undetermined ones)."),
        click.option("--workers", default=None, type=click.IntRange(min=1), help="Worker processes that read and analyse parts of the input (1: this process). Default: the usable CPU cores."),
        click.option("--workdir", default=None, metavar="DIR",
                     help="Folder for temporary and spill files (default: the system's temporary folder). With --engine ray on a "
                          "cluster: a folder every node mounts at the same path."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
        click.option("--debug", is_flag=True, help="Show tracebacks of internal errors."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def engine_options(func: Any) -> Any:
    """Which engine maps the parts of the input (audit, dedup, filter)."""
    decorators = [
        click.option("--engine", type=click.Choice(ENGINE_NAMES), default=None,
                     help="local: this process; pool: --workers processes; ray: Ray Data tasks on a Ray cluster. "
                          "Default: local for --workers 1, else pool."),
        click.option("--ray-address", default=None, metavar="ADDR",
                     help="With --engine ray: the cluster to connect to (default: RAY_ADDRESS, else a local Ray started for the run)."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def dedup_options(func: Any) -> Any:
    """Options of exact and MinHash near-duplicate detection (audit and dedup)."""
    decorators = [
        click.option("--minhash-threshold", default=DEFAULT_THRESHOLD, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True), help="Jaccard similarity above which documents are near duplicates."),
        click.option("--num-perm", default=DEFAULT_NUM_PERM, show_default=True, type=click.IntRange(min=2), help="MinHash permutations (signature length)."),
        click.option("--ngram", default=DEFAULT_NGRAM, show_default=True, type=click.IntRange(min=1), help="Words per shingle."),
        click.option("--seed", default=1, show_default=True, type=int, help="Seed of the MinHash permutations, the diversity sample and the hashed embedder."),
        click.option("--no-verify", is_flag=True, help="Keep every LSH candidate pair (skip the estimated-Jaccard check)."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _workdir(raw: str | None) -> Any:
    """--workdir as a Path; a URL stays as given, for the library to refuse it with its own message."""
    return None if raw is None else raw if is_url(raw) else Path(raw)


def _config(kwargs: dict[str, Any]) -> AuditConfig:
    return AuditConfig(
        calibration=kwargs.get("calibration"),
        confidence=kwargs.get("confidence", 0.9),
        text_column=kwargs["text_column"],
        id_column=kwargs["id_column"],
        by=kwargs["by"],
        url_column=kwargs["url_column"],
        batch_size=kwargs["batch_size"],
        strict=kwargs["strict"],
        min_chars=kwargs["min_chars"],
        languages=list(parse_languages(kwargs.get("language"))),
        workers=kwargs["workers"] or usable_cores(),
        workdir=_workdir(kwargs.get("workdir")),
        engine=kwargs.get("engine"),
        ray_address=kwargs.get("ray_address"),
        seed=kwargs.get("seed", 1),
        minhash_threshold=kwargs.get("minhash_threshold", DEFAULT_THRESHOLD),
        num_perm=kwargs.get("num_perm", DEFAULT_NUM_PERM),
        ngram=kwargs.get("ngram", DEFAULT_NGRAM),
        verify_duplicates=not kwargs.get("no_verify", False),
        keep=kwargs.get("keep", "first"),
    )


def check_options(func: Any) -> Any:
    """Thresholds, baseline and config options shared by `audit` and `compare`."""
    decorators = [
        click.option("--fail-on-synthetic", type=click.FloatRange(0, 1), default=None, help="Fail when a source's synthetic fraction exceeds this."),
        click.option("--fail-on-near-dup", type=click.FloatRange(0, 1), default=None, help="Fail when a source's near-duplicate fraction exceeds this."),
        click.option("--max-synthetic-increase", type=click.FloatRange(0, 1), default=None, help="Fail when a source's synthetic fraction rose by more than this (absolute) since the baseline."),
        click.option("--max-diversity-drop", type=click.FloatRange(0, 1), default=None, help="Fail when a key diversity metric fell by more than this share (0.1 = 10%) since the baseline."),
        click.option("--allow-unsupported-language", is_flag=True, default=None,
                     help="A synthetic fraction left null because a source is in a language the calibration profile does not cover warns instead of failing (config: allow_unsupported_language = true)."),
        click.option("--baseline-is-human", is_flag=True, help="The baseline predates LLM text: use its per-source score distribution as the human reference."),
        click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Check settings: synthscope.toml ([checks]) or pyproject.toml ([tool.synthscope.checks]). Default: found in the working folder."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _settings(kwargs: dict[str, Any]) -> tuple[Any, Path | None]:
    from synthscope.report.config import resolve_settings

    flags = {k: kwargs[k] for k in ("fail_on_synthetic", "fail_on_near_dup", "max_synthetic_increase", "max_diversity_drop")}
    flags["allow_unsupported_language"] = kwargs.get("allow_unsupported_language") or None
    return resolve_settings(kwargs["config_file"], Path.cwd(), **flags)


def _evaluate(report: dict[str, Any], kwargs: dict[str, Any], settings: Any, config_path: Path | None, baseline: Any, baseline_label: str | None) -> None:
    from synthscope.report.ci import evaluate

    evaluate(
        report,
        settings,
        baseline=baseline,
        baseline_label=baseline_label,
        baseline_is_human=kwargs["baseline_is_human"],
        config_file=None if config_path is None else str(config_path),
        require_baseline=kwargs["max_synthetic_increase"] is not None or kwargs["max_diversity_drop"] is not None,
    )


def diversity_options(func: Any) -> Any:
    """Options of the diversity analyzer, and which analyzers to skip."""
    decorators = [
        click.option("--no-diversity", is_flag=True, help="Skip the diversity analyzer."),
        click.option("--no-dedup", is_flag=True, help="Skip the duplicate analyzer."),
        click.option("--no-detect", is_flag=True, help="Skip the synthetic-text analyzer."),
        click.option("--no-examples", is_flag=True, help="Leave the example documents out of the reports (duplicate clusters keep their short previews)."),
        click.option("--diversity-budget-tokens", default=DEFAULT_BUDGET_TOKENS, show_default=True, type=click.IntRange(min=1),
                     help="Tokens per source for the lexical diversity metrics (first tokens of the seeded sample)."),
        click.option("--diversity-sample-docs", default=DEFAULT_SAMPLE_DOCS, show_default=True, type=click.IntRange(min=2),
                     help="Documents per source for self-BLEU and embedding spread."),
        click.option("--diversity-min-docs", default=DEFAULT_MIN_DOCS, show_default=True, type=click.IntRange(min=1),
                     help="Sources with fewer documents get no diversity metrics (null, with the reason): too few to compare."),
        click.option("--self-bleu-hypotheses", default=DEFAULT_HYPOTHESES, show_default=True, type=click.IntRange(min=1),
                     help="Sampled documents scored by BLEU against the rest of the sample."),
        click.option("--embedder", default="hashed", show_default=True,
                     help="Document embedder for embedding spread: 'hashed' (no download) or 'model2vec:PATH' (local folder)."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _apply_diversity_options(config: AuditConfig, kwargs: dict[str, Any]) -> None:
    config.diversity = not kwargs["no_diversity"]
    config.dedup = not kwargs["no_dedup"]
    config.detect = not kwargs["no_detect"]
    config.examples = not kwargs["no_examples"]
    config.diversity_budget_tokens = kwargs["diversity_budget_tokens"]
    config.diversity_sample_docs = kwargs["diversity_sample_docs"]
    config.diversity_hypotheses = kwargs["self_bleu_hypotheses"]
    config.diversity_min_docs = kwargs["diversity_min_docs"]
    config.embedder = kwargs["embedder"]


@main.command()
@input_options
@engine_options
@dedup_options
@click.option("-o", "--output", default="synthscope-report", show_default=True, type=click.Path(), help="Report folder.")
@click.option("--format", "formats", default="json,md,html,parquet", show_default=True, help="Files to write: any of json, md, html, parquet (sources.parquet: one row per source), comma-separated.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report to stdout instead of the summary table.")
@click.option("--calibration", default=None, type=click.Path(dir_okay=False), help="Calibration profile JSON (default: the shipped profile).")
@click.option("--confidence", default=0.9, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True), help="Confidence level of synthetic-fraction intervals.")
@click.option("--baseline", type=click.Path(dir_okay=False), default=None, help="An earlier report.json to compare with.")
@click.option("--human-reference", "human_reference", multiple=True, metavar="PATH",
              help="Human-written corpus (files, folders, globs; read with the same options): each source is estimated against "
                   "its own documents there, or against the whole reference when it is not in it. Repeatable.")
@check_options
@diversity_options
def audit(paths: tuple[str, ...], output: str, formats: str, as_json: bool, baseline: str | None, **kwargs: Any) -> None:
    """Audit PATHS (files, folders, globs of .parquet/.jsonl/.json, optionally .gz/.zst)."""
    from synthscope.report.ci import exit_code
    from synthscope.report.outputs import append_step_summary, parse_formats, write_outputs
    from synthscope.report.schema import load_report

    config = _config(kwargs)
    _apply_diversity_options(config, kwargs)
    config.human_reference = list(kwargs["human_reference"])
    show_progress = not kwargs["quiet"] and stderr.is_terminal

    def run() -> tuple[dict[str, Any], list[Path]]:
        wanted = parse_formats(formats)
        settings, config_path = _settings(kwargs)
        old = load_report(baseline) if baseline else None
        check_output_folder(Path(output), "the report")
        check_step_summary()
        report = run_audit(list(paths), config, RichProgress(stderr) if show_progress else None)
        _evaluate(report, kwargs, settings, config_path, old, baseline)
        written = write_outputs(report, Path(output), wanted)
        append_step_summary(report)
        return report, written

    report, written = _run_guarded(kwargs["debug"], run)
    _print_warnings(report.get("warnings", []))
    with closed_stdout_is_quiet():
        if as_json:
            click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            from synthscope.report.terminal import render_checks, render_summary

            console = plain_console()
            render_summary(report, console)
            render_checks(report, console)
            say(console, "report written to " + ", ".join(str(p) for p in written))
    sys.exit(exit_code(report))


@main.command()
@click.argument("report_path", metavar="REPORT")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True, help="Rendering to produce.")
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to this file instead of stdout.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def report(report_path: str, fmt: str, output: str | None, debug: bool) -> None:
    """Re-render an existing report.json as Markdown, HTML or JSON."""
    from synthscope.report.outputs import render
    from synthscope.report.schema import load_report

    def run() -> str:
        if output:
            check_output_file(Path(output), "the rendering")
        text = render(load_report(report_path), fmt)
        if output:
            write_text_atomically(Path(output), text)
        return text

    text = _run_guarded(debug, run)
    if not output:
        with closed_stdout_is_quiet():
            click.echo(text, nl=False)


@main.command()
@click.argument("report_path", metavar="REPORT")
@click.option("--into", "into", type=click.Path(path_type=Path), default=None, help="Dataset card (README.md) to insert the section into; created if absent.")
@click.option("--metadata", is_flag=True, help="Also put the synthscope summary into the card's YAML front matter.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def card(report_path: str, into: Path | None, metadata: bool, debug: bool) -> None:
    """Insert or replace the audit section of a dataset card, between markers (idempotent)."""
    from synthscope.report.card import update_card_file
    from synthscope.report.markdown import render_section
    from synthscope.report.schema import load_report

    def run() -> str | None:
        data = load_report(report_path)
        if into is None:
            return render_section(data)
        update_card_file(into, data, metadata=metadata)
        return None

    text = _run_guarded(debug, run)
    if text is not None:
        with closed_stdout_is_quiet():
            click.echo(text, nl=False)
    else:
        say(stderr, f"updated {into}")


@main.command()
@click.argument("old_path", metavar="OLD")
@click.argument("new_path", metavar="NEW")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison and checks as JSON.")
@check_options
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def compare(old_path: str, new_path: str, as_json: bool, debug: bool, **kwargs: Any) -> None:
    """Per-source deltas from report OLD to report NEW; exit 1 on a configured regression."""
    from synthscope.report.ci import exit_code
    from synthscope.report.markdown import render_comparison
    from synthscope.report.outputs import append_step_summary
    from synthscope.report.schema import load_report

    def run() -> dict[str, Any]:
        settings, config_path = _settings(kwargs)
        check_step_summary()
        old, new = load_report(old_path), load_report(new_path)
        _evaluate(new, kwargs, settings, config_path, old, old_path)
        append_step_summary(new)
        return new

    new = _run_guarded(debug, run)
    with closed_stdout_is_quiet():
        if as_json:
            click.echo(json.dumps({k: new[k] for k in ("baseline", "comparison", "checks") if k in new}, indent=2, ensure_ascii=False))
        else:
            click.echo(render_comparison(new), nl=False)
    sys.exit(exit_code(new))


@main.command()
@input_options
@engine_options
@dedup_options
@click.option("-o", "--output", required=True, type=click.Path(), help="Output folder (clusters.parquet, deduplicated/).")
@click.option("--write-deduplicated", is_flag=True, help="Also write each input without its duplicates, in its own format.")
@click.option("--keep", type=click.Choice(["first", "longest"]), default="first", show_default=True, help="Which document of a cluster is kept.")
def dedup(paths: tuple[str, ...], output: str, write_deduplicated: bool, **kwargs: Any) -> None:
    """Find exact and near duplicates in PATHS; write clusters.parquet to -o DIR."""
    from synthscope.dedup.run import run_dedup

    config = _config(kwargs)
    show_progress = not kwargs["quiet"] and stderr.is_terminal
    result = _run_guarded(
        kwargs["debug"],
        lambda: run_dedup(list(paths), config, Path(output), write_deduplicated, RichProgress(stderr) if show_progress else None),
    )
    _print_warnings(result.warnings)
    s = result.summary
    docs = s.get("documents", 0)
    with closed_stdout_is_quiet():
        click.echo(
            f"{docs:,} documents: {s.get('exact_duplicates', 0):,} exact duplicates, "
            f"{s.get('near_duplicates', 0):,} near duplicates (incl. exact) in {s.get('duplicate_clusters', 0):,} clusters"
        )
        click.echo(f"clusters written to {printable(result.clusters_path)}")
        for label, target, rows in result.deduplicated:
            click.echo(f"{printable(label)} -> {printable(target)} ({rows:,} rows)")


@main.command(name="filter")
@input_options
@engine_options
@dedup_options
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Output folder: data/, decisions.parquet, filter_report.json/.md.")
@click.option("--duplicates", type=click.Choice(["near", "exact", "keep"]), default="near", show_default=True, help="Drop all but the kept copy of near-duplicate clusters, of exact copies only, or keep duplicates.")
@click.option("--keep", type=click.Choice(["first", "longest"]), default="first", show_default=True, help="Which document of a cluster is kept.")
@click.option("--max-synthetic", type=click.FloatRange(0, 1), default=None, help="Target per source: drop its most machine-like documents until the estimated synthetic share kept is at most this.")
@click.option("--score-above", type=click.FloatRange(0, 1), default=None, help="Drop every document scoring above this instead (no target, no floor).")
@click.option("--human-floor", type=click.FloatRange(0, 1), default=0.9, show_default=True, help="With --max-synthetic: never drop more than 1 - this of a source's estimated human documents.")
@click.option("--floor-at", type=click.Choice(["lower-bound", "estimate"]), default="lower-bound", show_default=True,
              help="Count a source's human documents for the floor at its synthetic fraction's interval lower bound (cautious) or at the estimate.")
@click.option("--drop-sources-above", type=click.FloatRange(0, 1), default=None, help="Drop every document of a source whose estimate's lower bound exceeds this.")
@click.option("--drop-unreachable", is_flag=True, help="Drop a source whose target cannot be met within the human floor (default: keep what the floor requires, flag it).")
@click.option("--fail-if-unreachable", is_flag=True, help="Exit 1 when a source could not meet its target.")
@click.option("--calibration", default=None, type=click.Path(dir_okay=False), help="Calibration profile JSON (default: the shipped profile).")
@click.option("--confidence", default=0.9, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True), help="Confidence level of the intervals.")
@click.option("--human-reference", "human_reference", multiple=True, metavar="PATH",
              help="Human-written corpus to estimate each source against (as audit --human-reference). Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the filter report as JSON instead of the summary table.")
def filter_command(paths: tuple[str, ...], output: str, as_json: bool, **kwargs: Any) -> None:
    """Write a cleaned copy of PATHS to -o DIR: duplicates and likely machine-written documents removed per
    source, every row's decision in decisions.parquet, provenance in filter_report.json."""
    from synthscope.commands.filter import FilterOptions, run_filter
    from synthscope.report.filter import exit_code, render_filter_summary

    config = _config(kwargs)
    config.human_reference = list(kwargs["human_reference"])
    options = FilterOptions(
        duplicates=kwargs["duplicates"], max_synthetic=kwargs["max_synthetic"], score_above=kwargs["score_above"],
        human_floor=kwargs["human_floor"], floor_at=kwargs["floor_at"], drop_sources_above=kwargs["drop_sources_above"],
        drop_unreachable=kwargs["drop_unreachable"], fail_if_unreachable=kwargs["fail_if_unreachable"],
    )
    show_progress = not kwargs["quiet"] and stderr.is_terminal
    result = _run_guarded(kwargs["debug"], lambda: run_filter(
        list(paths), config, options, Path(output),
        RichProgress(stderr) if show_progress else None, RichProgress(stderr, "writing") if show_progress else None,
    ))
    report = result.report
    _print_warnings(report.get("warnings", []))
    with closed_stdout_is_quiet():
        if as_json:
            click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            console = plain_console()
            render_filter_summary(report, console)
            say(console, f"cleaned corpus written to {result.data_dir}; decisions in {result.decisions_path}; report "
                         + ", ".join(str(p) for p in result.report_paths))
    sys.exit(exit_code(report))


@main.command()
@reading_options
@click.option("--human", "human", multiple=True, required=True, help="Known human-written corpus (repeatable; files, folders, globs).")
@click.option("--synthetic", "synthetic", multiple=True, required=True, help="Known machine-written corpus (repeatable).")
@click.option("-o", "--output", required=True, type=click.Path(), help="Profile JSON to write.")
@click.option("--l2", default=10.0, show_default=True, type=click.FloatRange(min=0), help="L2 penalty of the logistic model.")
@click.option("--style-only", is_flag=True, help="Style features only: no skeleton n-gram model (faster to fit, weaker held out).")
def calibrate(human: tuple[str, ...], synthetic: tuple[str, ...], output: str, l2: float, style_only: bool, **kwargs: Any) -> None:
    """Fit a calibration profile from labelled --human and --synthetic corpora; print its held-out error."""
    from synthscope.detect.corpus import calibrate_paths, held_out_lines
    from synthscope.detect.features import FEATURE_NAMES

    config = _config(kwargs)
    show_progress = not kwargs["quiet"] and stderr.is_terminal

    def run() -> Any:
        check_output_file(Path(output), "the profile")
        progress = (lambda label: RichProgress(stderr, f"reading {label}")) if show_progress else None
        profile, cv = calibrate_paths(list(human), list(synthetic), config, l2=l2, skeleton=not style_only, progress=progress)
        with atomic_target(Path(output)) as partial:
            profile.save(partial)
        return profile, cv

    profile, cv = _run_guarded(kwargs["debug"], run)
    t = profile.training
    with closed_stdout_is_quiet():
        click.echo(f"profile written to {printable(output)}: {t['human_documents']:,} human, {t['synthetic_documents']:,} synthetic documents, "
                   f"groups {printable(', '.join(t['groups']))}")
        click.echo(f"languages {printable(', '.join(profile.languages))}: {len(profile.features)} features "
                   f"({'all' if len(profile.features) == len(FEATURE_NAMES) else 'those that apply to these languages'}; documents in other languages "
                   f"get no estimate from this profile)")
        for line in held_out_lines(profile, cv):
            click.echo(line)


@main.command()
@input_options
@click.option("-o", "--output", required=True, type=click.Path(), help="Parquet file of per-document scores.")
@click.option("--calibration", default=None, type=click.Path(dir_okay=False), help="Calibration profile JSON (default: the shipped profile).")
@click.option("--explain", is_flag=True, help="Also write each document's spans: the words and phrases the features matched (feature, start, end).")
def score(paths: tuple[str, ...], output: str, calibration: str | None, explain: bool, **kwargs: Any) -> None:
    """Write per-document id, source, score and features of PATHS to a Parquet file."""
    from synthscope.detect.corpus import score_paths
    from synthscope.detect.profile import load_profile

    config = _config(kwargs)
    progress = RichProgress(stderr) if not kwargs["quiet"] and stderr.is_terminal else None
    rows = _run_guarded(kwargs["debug"], lambda: score_paths(list(paths), config, load_profile(calibration), output, explain, progress))
    say(stderr, f"{rows:,} documents scored, written to {output}")


if __name__ == "__main__":  # pragma: no cover
    main()
