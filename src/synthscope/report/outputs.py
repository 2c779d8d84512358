"""Render a report to its formats, write them into a folder, and feed GitHub's step summary."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from synthscope.errors import UsageError

FORMATS = ("json", "md", "html", "parquet")
FILENAMES = {"json": "report.json", "md": "report.md", "html": "report.html", "parquet": "sources.parquet"}
TEXT_FORMATS = ("json", "md", "html")  # what `synthscope report` renders (sources.parquet is a table, not a rendering)


def render(report: dict[str, Any], fmt: str) -> str:
    """The report as 'json', 'md' (Markdown card section + metadata) or 'html' (self-contained page)."""
    if fmt == "json":
        return render_json(report)
    if fmt == "md":
        from synthscope.report.markdown import render_markdown

        return render_markdown(report)
    if fmt == "html":
        from synthscope.report.html import render_html

        return render_html(report)
    raise UsageError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")


INDENTED_SOURCES = 1_000  # beyond this many sources, report.json holds one source object a line


def render_json(report: dict[str, Any]) -> str:
    """report.json: indented; with more than INDENTED_SOURCES sources, each source object on one line
    (a third smaller, and still one source a line for grep and diff)."""
    sources = report.get("sources")
    if not isinstance(sources, list) or len(sources) <= INDENTED_SOURCES:
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    marker = f"sources-{uuid.uuid4().hex}"  # a placeholder no report string can equal
    head = json.dumps({**report, "sources": marker}, indent=2, ensure_ascii=False)
    before, after = head.split(json.dumps(marker), 1)
    # one join of the pieces: the text is built once (at 50,000 sources it is ~80 MB; each extra
    # concatenation or replace held another copy of it at the audit's peak memory)
    pieces = [before, "[\n"]
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # json.dumps' own encoder, made once
    for i, source in enumerate(sources):
        pieces.append(("    " if i == 0 else ",\n    ") + encode(source))
    pieces += ["\n  ]", after, "\n"]
    return "".join(pieces)


def _parquet(report: dict[str, Any]) -> bytes:
    from synthscope.report.table import sources_parquet

    return sources_parquet(report)


def parse_formats(spec: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """'json,md' or ('json', 'md') -> validated, de-duplicated formats; None -> all three."""
    if not spec:
        return FORMATS
    items = spec.split(",") if isinstance(spec, str) else [p for s in spec for p in s.split(",")]
    formats = tuple(dict.fromkeys(i.strip().lower() for i in items if i.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"unknown format {unknown[0] if unknown else spec!r} (choose from {', '.join(FORMATS)})")
    return formats


def write_outputs(report: dict[str, Any], out_dir: Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write report.json / report.md / report.html / sources.parquet into `out_dir` as one set; returns
    the paths written.

    Every rendering is made first, written under a temporary name, then renamed into place; report
    files of formats not written this time (left by an earlier run) are removed, so the folder never
    holds a mix of two runs.
    """
    from synthscope.gc_pause import gc_paused
    from synthscope.io.writable import replace_set

    out_dir.mkdir(parents=True, exist_ok=True)
    with gc_paused():
        files = {out_dir / FILENAMES[fmt]: (_parquet(report) if fmt == "parquet" else render(report, fmt)) for fmt in formats}
    stale = [out_dir / FILENAMES[fmt] for fmt in FORMATS if fmt not in formats]
    replace_set(files, stale)
    return list(files)


def append_step_summary(report: dict[str, Any], environ: dict[str, str] | None = None) -> Path | None:
    """Append the Markdown section to $GITHUB_STEP_SUMMARY when it is set (GitHub Actions)."""
    target = (environ if environ is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    from synthscope.report.markdown import render_section

    with open(target, "a", encoding="utf-8") as fh:
        fh.write(render_section(report) + "\n")
    return Path(target)
