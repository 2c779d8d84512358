"""The filter report: the JSON record of a `synthscope filter` run (provenance of the cleaned corpus), its
Markdown rendering and the terminal summary. The per-source figures are computed by the command
(`commands/filter.py`, from detect's estimates); this module only assembles and renders them."""

from __future__ import annotations

import datetime as dt
import json
import platform
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from synthscope import __version__
from synthscope.io.accounting import Accounting
from synthscope.io.writable import replace_set
from synthscope.report.escape import md_code, md_text, printable, terminal_text

KIND = "synthscope-filter-report"
SCHEMA_VERSION = "1.0"
MAX_ROWS = 50
REMOVALS = ("exact_duplicate", "near_duplicate", "synthetic", "source_dropped")


def build_filter_report(
    *,
    options: dict[str, Any],
    source_spec: str,
    inputs: list[dict[str, Any]],
    ignored_files: list[str],
    accounting: Accounting,
    sources: list[dict[str, Any]],
    analyzers: dict[str, Any],
    timings: dict[str, Any],
) -> dict[str, Any]:
    """The filter report: options, inputs (fingerprints and their cleaned copies), totals, per source."""
    return {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "synthscope", "version": __version__, "python": platform.python_version()},
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "options": options,
        "source_definition": source_spec,
        "analyzers": analyzers,
        "inputs": inputs,
        "ignored_files": ignored_files,
        "totals": _totals(accounting, inputs, sources),
        "summary": _summary(sources, options),
        "malformed_examples": accounting.malformed_locations,
        "warnings": accounting.warnings,
        "sources": sources,
        "outputs": {"data": "data", "decisions": "decisions.parquet"},
        "timings": timings,
    }


def _totals(accounting: Accounting, inputs: list[dict[str, Any]], sources: list[dict[str, Any]]) -> dict[str, Any]:
    removed = {name: sum(s["removed"][name] for s in sources) for name in REMOVALS}
    return {
        **accounting.totals.as_dict(),
        "kept": sum(i["output"]["rows"] for i in inputs),
        "removed": removed,
        "sources": len(sources),
    }


def _expected_documents(sources: list[dict[str, Any]], fraction: str, documents: str) -> float | None:
    values = [(s[fraction] or {}).get("estimate") for s in sources]
    if any(v is None for v, s in zip(values, sources) if s[documents]):
        return None
    return round(sum(float(v or 0.0) * s[documents] for v, s in zip(values, sources)), 1)


def _summary(sources: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    met = [s for s in sources if s["target_met"] is True]
    unmet = [s for s in sources if s["target_met"] is False]
    return {
        "documents_before": sum(s["documents_before"] for s in sources),
        "documents_after": sum(s["documents_after"] for s in sources),
        "expected_synthetic_documents_before": _expected_documents(sources, "synthetic_fraction_before", "documents_before"),
        "expected_synthetic_documents_after": _expected_documents(sources, "synthetic_fraction_after", "documents_after"),
        "expected_human_documents_lost": round(sum((s["human_documents_lost"] or {}).get("estimate", 0.0) for s in sources), 1),
        "sources_target_met": len(met) if options.get("max_synthetic") is not None else None,
        "sources_target_unreachable": [s["source"] for s in unmet],
        "sources_dropped": [s["source"] for s in sources if s["dropped"]],
    }


def unreachable(report: dict[str, Any]) -> list[str]:
    """Sources whose target could not be met within the human floor."""
    return list(report["summary"]["sources_target_unreachable"])


def exit_code(report: dict[str, Any]) -> int:
    """1 when --fail-if-unreachable is set and a source could not meet its target, else 0."""
    return 1 if report["options"].get("fail_if_unreachable") and unreachable(report) else 0


def write_filter_report(report: dict[str, Any], paths: list[Path]) -> None:
    """Write filter_report.json and filter_report.md as one set (temporary names, then renamed)."""
    texts = {".json": json.dumps(report, indent=2, ensure_ascii=False) + "\n", ".md": render_filter_markdown(report)}
    replace_set({path: texts[path.suffix] for path in paths})


# ------------------------------------------------------------------------------------ formatting


def _pct(value: Any, digits: int = 0) -> str:
    return "—" if value is None else f"{100 * float(value):.{digits}f}%"


def _fraction(sf: dict[str, Any] | None, mark_low: bool = True, short: bool = False) -> str:
    if not sf or sf.get("estimate") is None:
        return "—"
    low = "?" if mark_low and sf.get("low_confidence") else ""
    high = _pct(sf["ci_high"])[:-1] if short else _pct(sf["ci_high"])
    return f"{_pct(sf['estimate'])} [{_pct(sf['ci_low'])[:-1]}–{high}]{low}"


_TARGET_SHORT = {"dropped (content farm)": "dropped", "NOT met (floor)": "NOT met", "dropped (unreachable)": "dropped"}


def _lost(s: dict[str, Any]) -> str:
    lost = s["human_documents_lost"]
    if not lost:
        return "—"
    return f"{lost['estimate']:,.0f} ({_pct(s['human_loss_fraction'])})"


def _target(s: dict[str, Any]) -> str:
    if s["dropped"] == "estimate_above_threshold":
        return "dropped (content farm)"
    if s["target_met"] is None:
        return "—"
    if s["target_met"]:
        return "met"
    return "dropped (unreachable)" if s["dropped"] else "NOT met (floor)"


def _removed(s: dict[str, Any]) -> str:
    r = s["removed"]
    return f"{r['exact_duplicate'] + r['near_duplicate']:,} / {r['synthetic']:,}" + (f" / {r['source_dropped']:,}" if r["source_dropped"] else "")


def _other_language(totals: dict[str, Any]) -> str:
    n = int(totals.get("other_language", 0))
    return f", {n:,} in other languages (--language)" if n else ""


def _rows(report: dict[str, Any], max_rows: int | None) -> tuple[list[dict[str, Any]], int]:
    sources = report["sources"]
    shown = sources if max_rows is None else sources[:max_rows]
    return shown, len(sources) - len(shown)


HEADER = ["Source", "Documents (before → after)", "Removed: dup. / synthetic / source", "Synthetic before", "Synthetic after (expected)", "Human lost (expected)", "Target"]


def _row(s: dict[str, Any]) -> list[str]:
    return [
        f"{s['documents_before']:,} → {s['documents_after']:,}",
        _removed(s),
        _fraction(s["synthetic_fraction_before"]),
        _fraction(s["synthetic_fraction_after"], mark_low=False),
        _lost(s),
        _target(s),
    ]


def _options_line(report: dict[str, Any]) -> str:
    o = report["options"]
    parts = [f"duplicates {o['duplicates']} (keep {o.get('keep', 'first')})"]
    if o.get("max_synthetic") is not None:
        parts.append(f"target synthetic share {_pct(o['max_synthetic'], 1)} per source within a human floor of {_pct(o['human_floor'])}")
    if o.get("score_above") is not None:
        parts.append(f"documents scoring above {o['score_above']} dropped")
    if o.get("drop_sources_above") is not None:
        parts.append(f"sources whose estimate's lower bound exceeds {_pct(o['drop_sources_above'])} dropped")
    if o.get("drop_unreachable"):
        parts.append("sources that cannot meet the target within the floor dropped")
    return "; ".join(parts)


# -------------------------------------------------------------------------------------- markdown


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_filter_markdown(report: dict[str, Any], max_rows: int | None = MAX_ROWS) -> str:
    """The filter report as Markdown: what was done, per source before/after, provenance."""
    t, summ = report["totals"], report["summary"]
    lines = [
        "## Filtered corpus",
        "",
        f"synthscope {md_text(report['tool']['version'])} `filter`, {md_text(report['created_at'])}: {md_text(_options_line(report))}.",
        "",
        f"**{t['kept']:,} of {t['rows_read']:,} rows kept.** Removed: {t['removed']['exact_duplicate']:,} exact and "
        f"{t['removed']['near_duplicate']:,} near duplicates, {t['removed']['synthetic']:,} likely machine-written documents, "
        f"{t['removed']['source_dropped']:,} documents of dropped sources; not analysed: {t['empty']:,} empty, "
        f"{t['malformed']:,} malformed, {t['skipped']:,} skipped rows{_other_language(t)}. Every row's decision is in `decisions.parquet`.",
        "",
    ]
    if summ["expected_synthetic_documents_before"] is not None and summ["expected_synthetic_documents_after"] is not None:
        lines += [
            f"Expected machine-written documents: {summ['expected_synthetic_documents_before']:,.0f} before, "
            f"{summ['expected_synthetic_documents_after']:,.0f} after; expected human-written documents lost: "
            f"{summ['expected_human_documents_lost']:,.0f}.",
            "",
        ]
    if summ["sources_target_unreachable"]:
        names = ", ".join(md_text(n) for n in summ["sources_target_unreachable"][:20])
        more = len(summ["sources_target_unreachable"]) - 20
        lines += [f"**Target not met within the human floor:** {names}" + (f" and {more} more" if more > 0 else "") + ".", ""]
    shown, hidden = _rows(report, max_rows)
    lines.append("| " + " | ".join(HEADER) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in HEADER[1:]) + " |")
    for s in shown:
        lines.append("| " + " | ".join(_cell(c) for c in [md_text(s["source"]), *_row(s)]) + " |")
    if hidden > 0:
        lines += ["", f"… and {hidden:,} more sources (see `filter_report.json`)."]
    lines += [
        "",
        "Synthetic before: the audit's estimate (interval; ? = under 30 documents). Synthetic after and human lost are "
        "expectations from the estimator's human and synthetic score distributions at the source's estimate (its "
        "interval gives theirs); they are only as good as the estimate (see the audit's method notes).",
        "",
        "### Provenance",
        "",
        "| Input | Rows | Fingerprint | Cleaned copy | Rows kept | Fingerprint |",
        "| --- | ---: | --- | --- | ---: | --- |",
    ]
    for i in report["inputs"]:
        lines.append(
            "| " + " | ".join(_cell(c) for c in [
                md_code(i["path"]), f"{i['rows']:,}", md_code(i["fingerprint"]), md_code(i["output"]["path"]),
                f"{i['output']['rows']:,}", md_code(i["output"]["fingerprint"]),
            ]) + " |"
        )
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------------- terminal


def render_filter_summary(report: dict[str, Any], console: Console) -> None:
    """Print the per-source table, the totals and the sources that missed their target."""
    title = terminal_text(f"synthscope filter — sources by {report['source_definition']}")
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    shown, hidden = _rows(report, MAX_ROWS)
    longest = max((len(printable(s["source"])) for s in shown), default=6)
    table.add_column("source", overflow="fold", min_width=min(longest, 24))
    for name in ("docs", "dup/synth", "synthetic", "after", "human lost", "target"):  # fits 80 columns
        table.add_column(name, justify="right", no_wrap=True)
    table.caption = Text(
        f"{_options_line(report)}. synthetic: estimate [interval] before, ? = low confidence; after, human lost: "
        "expected from the estimate; dup/synth: documents removed as duplicates / as machine-like"
    )
    for s in shown:
        style = "red" if s["target_met"] is False else ""
        table.add_row(
            terminal_text(s["source"]),
            Text(f"{s['documents_before']:,}→{s['documents_after']:,}"),
            Text(_removed(s).replace(" ", "")),
            Text(_fraction(s["synthetic_fraction_before"], short=True)),
            Text(_pct((s["synthetic_fraction_after"] or {}).get("estimate"))),
            Text(_lost(s)),
            Text(_TARGET_SHORT.get(_target(s), _target(s)), style=style),
        )
    console.print(table)
    if hidden > 0:
        console.print(f"… and {hidden:,} more sources (see filter_report.json)", markup=False, highlight=False)
    t = report["totals"]
    r = t["removed"]
    console.print(
        f"rows read {t['rows_read']:,}: kept {t['kept']:,}; removed {r['exact_duplicate']:,} exact and {r['near_duplicate']:,} near "
        f"duplicates, {r['synthetic']:,} synthetic, {r['source_dropped']:,} in dropped sources; not analysed {t['empty']:,} empty, "
        f"{t['malformed']:,} malformed, {t['skipped']:,} skipped{_other_language(t)}",
        markup=False,
        highlight=False,
    )
    for location in report.get("malformed_examples", [])[:5]:
        console.print(terminal_text(f"  malformed: {location}", style="yellow"), highlight=False)
    missed = unreachable(report)
    if missed:
        names = ", ".join(printable(n) for n in missed[:10]) + (f" and {len(missed) - 10} more" if len(missed) > 10 else "")
        console.print(terminal_text(f"target not met within the human floor in {len(missed)} source(s): {names}", style="yellow"), highlight=False)
