"""Render a report as a rich summary table for the terminal."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from synthscope.report.escape import printable, terminal_text
from synthscope.report.metrics import fmt_languages, null_reason_text
from synthscope.report.overview import REASON_TITLES, leading_sources, rest_line

MAX_ROWS = 50


def _fmt_pct(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.1f}%"


def render_summary(report: dict[str, Any], console: Console) -> None:
    """Print the per-source table and the accounting line."""
    title = terminal_text(f"synthscope audit — sources by {report['source_definition']}")
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    chosen, overview = leading_sources(report)
    chosen = chosen[:MAX_ROWS]
    reasons = [reason for reason, _ in chosen]
    longest = max((len(printable(s["source"])) for _, s in chosen), default=6)
    table.add_column("source", overflow="fold", min_width=min(longest, 32))
    if len(set(reasons)) > 1:
        table.add_column("shown as", no_wrap=True)
    table.add_column("docs", justify="right", no_wrap=True)
    extra_columns = _extra_columns(report)
    if not extra_columns:  # only corpus statistics: show document lengths instead
        extra_columns = [("tokens/doc p50", lambda s: str(s.get("tokens_per_document", {}).get("p50", "—")))]
    for title, _ in extra_columns:
        table.add_column(title, justify="right", no_wrap=True)
    titles = [title for title, _ in extra_columns]
    if "synthetic" in titles or "exact" in titles:
        table.caption = Text("synthetic: estimate [interval], ? = low confidence; exact, near: duplicate shares")
    for i, (reason, src) in enumerate(chosen):
        if i and reason != reasons[i - 1]:
            table.add_section()
        row = [terminal_text(src["source"])]
        if len(set(reasons)) > 1:
            row.append(Text(REASON_TITLES[reason]))
        row.append(Text(f"{src.get('documents', 0):,}"))
        row += [Text(getter(src)) for _, getter in extra_columns]
        table.add_row(*row)
    console.print(table)
    hidden = len(report["sources"]) - len(chosen)
    if hidden > 0:
        console.print(rest_line(overview) or f"… and {hidden:,} more sources (see report.json)", markup=False, highlight=False)
    below = report.get("summary", {}).get("diversity", {}).get("sources_below_budget", [])
    skipped = int(report.get("summary", {}).get("diversity", {}).get("sources_not_measured", 0))
    if below or skipped:
        d = report["summary"]["diversity"]
        console.print(
            (f"diversity: {skipped:,} source{'s' if skipped != 1 else ''} under {d['min_documents']} documents not measured (--diversity-min-docs); " if skipped else "diversity: ")
            + f"{len(below):,} of the {len(report['sources']) - skipped:,} measured sources are below the budget "
            f"({d['budget_tokens']:,} tokens, {d['budget_documents']:,} documents); "
            "their size-sensitive metrics compare only with sources of the same size",
            style="yellow",
            markup=False,
            highlight=False,
        )
    t = report["totals"]
    console.print(
        f"rows read {t['rows_read']:,}: analysed {t['analysed']:,}, empty {t['empty']:,}, "
        f"malformed {t['malformed']:,}, skipped {t['skipped']:,}"
        + (f", other language {t['other_language']:,}" if t.get("other_language") else "")
        + (f"; {t['invalid_utf8']:,} with invalid UTF-8 (decoded with replacement)" if t["invalid_utf8"] else ""),
        markup=False,
        highlight=False,
    )
    for location in report.get("malformed_examples", [])[:5]:
        console.print(terminal_text(f"  malformed: {location}", style="yellow"), highlight=False)


def _extra_columns(report: dict[str, Any]) -> list[tuple[str, Any]]:
    """Columns shown when later analyzers put their fields into the sources."""
    sources = report["sources"]
    columns: list[tuple[str, Any]] = []
    if any("synthetic_fraction" in s for s in sources):
        # estimate [interval] in percent; "?" marks a low-confidence (small) source
        def synthetic(s: dict[str, Any]) -> str:
            sf = s.get("synthetic_fraction")
            if not sf or sf.get("estimate") is None:
                return null_reason_text(s)
            mark = "?" if sf.get("low_confidence") else ""
            return f"{100 * sf['estimate']:.0f}% [{100 * sf['ci_low']:.0f}–{100 * sf['ci_high']:.0f}]{mark}"
        columns.append(("synthetic", synthetic))
    if any(len(s.get("languages") or []) > 1 or (s.get("languages") or [{}])[0].get("language") not in (None, "en") for s in sources):
        columns.append(("language", fmt_languages))
    if any("exact_duplicate_fraction" in s for s in sources):
        columns.append(("exact", lambda s: _fmt_pct(s.get("exact_duplicate_fraction"))))
    if any("near_duplicate_fraction" in s for s in sources):
        columns.append(("near", lambda s: _fmt_pct(s.get("near_duplicate_fraction"))))
    if any("diversity" in s for s in sources):
        def div(key: str, digits: int = 3) -> Any:
            return lambda s: "—" if s.get("diversity", {}).get(key) is None else f"{s['diversity'][key]:.{digits}f}"
        columns += [("MATTR", div("mattr")), ("dist-2", div("distinct_2")), ("self-BLEU", div("self_bleu"))]
    return columns


def render_checks(report: dict[str, Any], console: Console, max_rows: int = MAX_ROWS) -> None:
    """Print failed and warned checks, then the overall verdict."""
    checks = report.get("checks")
    if not checks:
        return
    results = checks["results"]
    bad = [r for r in results if r["status"] != "pass"]
    if bad:
        table = Table(title="checks that did not pass")
        for column in ("result", "check", "source", "metric", "value", "threshold", "baseline"):
            numeric = column in ("value", "threshold", "baseline")
            table.add_column(column, justify="right" if numeric else "left", overflow="fold", no_wrap=numeric)
        for r in bad[:max_rows]:
            style = "red" if r["status"] == "fail" else "yellow"
            table.add_row(
                terminal_text(r["status"], style=style),
                terminal_text(r["check"]),
                terminal_text(r["source"] or "—"),
                terminal_text(r["metric"]),
                Text("—" if r["value"] is None else f"{r['value']:.4g}"),
                terminal_text(f"{r['op']} {r['threshold']:.4g}"),
                Text("—" if r["baseline"] is None else f"{r['baseline']:.4g}"),
            )
        console.print(table)
    for note in checks.get("warnings", [])[:max_rows]:
        console.print(terminal_text(f"warning: {note}", style="yellow"), highlight=False)
    colour = {"pass": "green", "warn": "yellow", "fail": "red"}.get(checks["status"], "")
    passed = sum(r["status"] == "pass" for r in results)
    console.print(
        Text.assemble("checks: ", terminal_text(checks["status"].upper(), style=colour),
                      f" — {passed} of {len(results)} passed (exit code {checks['exit_code']})"),
        highlight=False,
    )
