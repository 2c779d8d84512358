"""Markdown renderings: the dataset-card section "Synthetic content and diversity audit" and YAML metadata."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from synthscope.report.escape import md_code, md_text
from synthscope.report.evidence import evidence_markdown

from synthscope.report.metrics import (
    corpus_synthetic_fraction,
    EXACT_DUP,
    FLAGGED,
    NEAR_DUP,
    SYNTHETIC,
    fmt_languages,
    fmt_num,
    fmt_pct,
    fmt_synthetic,
    label,
    metric_value,
)
from synthscope.report.overview import REASON_TITLES, leading_sources, rest_line

TITLE = "Synthetic content and diversity audit"
MAX_ROWS = 50
STATUS_MARK = {"pass": "✅ pass", "fail": "❌ fail", "warn": "⚠️ warn"}
DIVERSITY_COLUMNS = (("MATTR", "diversity.mattr"), ("distinct-2", "diversity.distinct_2"), ("self-BLEU", "diversity.self_bleu"), ("Vendi", "diversity.vendi_score"))


Escape = Callable[[Any], str]  # how a rendering escapes a user string (md_text here, identity for HTML)


def _cell(text: Any) -> str:
    """A table cell; user strings in it are already escaped (md_text turns `|` into an entity)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]], align_right_from: int = 1) -> list[str]:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("| " + " | ".join("---" if i < align_right_from else "---:" for i in range(len(header))) + " |")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _confidence(report: dict[str, Any]) -> float | None:
    for source in report["sources"]:
        value = source.get("synthetic_fraction", {}).get("confidence") if isinstance(source.get("synthetic_fraction"), dict) else None
        if isinstance(value, (int, float)):
            return float(value)
    detect = report.get("summary", {}).get("detect", {})
    value = detect.get("confidence", report.get("analyzers", {}).get("detect", {}).get("confidence"))
    return float(value) if isinstance(value, (int, float)) else None


def profile_name(report: dict[str, Any]) -> str | None:
    """The calibration profile's name (and version) from the detect summary or options, if any."""
    detect = report.get("summary", {}).get("detect", {})
    options = report.get("analyzers", {}).get("detect", {})
    profile = detect.get("profile") or options.get("profile") or options.get("calibration")
    if isinstance(profile, dict):
        name = profile.get("name") or profile.get("path") or "custom"
        return f"{name} {profile['version']}" if profile.get("version") else str(name)
    return str(profile) if profile else None


def _first(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next((s[key] for s in report["sources"] if isinstance(s.get(key), dict)), {})


def method_line(report: dict[str, Any], code: Escape = md_code, esc: Escape = md_text) -> str:
    """Tool version, calibration profile, estimator, budgets, dedup settings and seed in one paragraph.

    `code` renders names shown as code (profile, baseline, embedder), `esc` other report strings.
    """
    parts = [f"synthscope {esc(report['tool']['version'])} (report schema {esc(report['schema_version'])})"]
    if any(isinstance(s.get("synthetic_fraction"), dict) for s in report["sources"]):
        method = esc(_first(report, "synthetic_fraction").get("method", "mle"))
        conf = _confidence(report)
        interval = f", {conf:.0%} intervals (bootstrap, widened by held-out calibration error)" if conf else ""
        parts.append(f"synthetic fraction: {method} against calibration profile {code(profile_name(report) or 'default')}{interval}")
        if report.get("baseline", {}).get("is_human"):
            parts.append(f"human reference per source: baseline {code(report['baseline']['path'])}")
    else:
        parts.append("synthetic fraction: not measured (detect analyzer did not run)")
    dedup = report.get("analyzers", {}).get("dedup")
    if dedup:
        keys = ("threshold", "minhash_threshold", "num_perm", "ngram")
        parts.append("dedup: " + ", ".join(f"{k}={esc(dedup[k])}" for k in keys if k in dedup) if any(k in dedup for k in keys) else "dedup: exact + MinHash")
    div = _first(report, "diversity")
    if div:
        budget = ", ".join(
            f"{v:,} {k.removeprefix('budget_')}" for k, v in div.items() if k.startswith("budget_") and isinstance(v, int)
        )
        parts.append(f"diversity budget per source: {budget or 'see report.json'}" + (f", embedder {code(div['embedder'])}" if div.get("embedder") else ""))
    parts.append(f"seed {esc(report.get('options', {}).get('seed', '—'))}")
    return "; ".join(parts) + "."


def source_table(report: dict[str, Any], max_rows: int | None, esc: Escape = md_text) -> tuple[list[str], list[list[str]], int]:
    """Header, formatted rows and the number of sources left out (source names through `esc`).

    With `max_rows` None: every source. Otherwise the sources the report leads with (report/overview.py:
    the largest, then the most synthetic and the most duplicated of the others), at most `max_rows`;
    a "Shown as" column says why when not all rows are there for their size."""
    conf = _confidence(report)
    header = [
        "Source",
        "Documents",
        f"Synthetic ({conf:.0%} CI)" if conf else "Synthetic",
        "Flagged",
        "Exact dup.",
        "Near dup.",
        *(t for t, _ in DIVERSITY_COLUMNS),
    ]
    if max_rows is None:
        chosen = [("largest", s) for s in report["sources"]]
    else:
        chosen = leading_sources(report)[0][:max_rows]
    reasons = {reason for reason, _ in chosen}
    rows = [_source_row(s, esc) for _, s in chosen]
    if len(reasons) > 1:
        header.insert(1, "Shown as")
        for row, (reason, _) in zip(rows, chosen):
            row.insert(1, REASON_TITLES[reason])
    return header, rows, len(report["sources"]) - len(chosen)


def _source_row(s: dict[str, Any], esc: Escape) -> list[str]:
    return [
        esc(s["source"]),
        f"{int(s.get('documents', 0)):,}",
        fmt_synthetic(s),
        fmt_pct(metric_value(s, FLAGGED)),
        fmt_pct(metric_value(s, EXACT_DUP)),
        fmt_pct(metric_value(s, NEAR_DUP)),
        *(fmt_num(metric_value(s, path)) for _, path in DIVERSITY_COLUMNS),
    ]


def _checks_lines(checks: dict[str, Any], max_rows: int | None) -> list[str]:
    results = checks.get("results", [])
    counts = {k: sum(r["status"] == k for r in results) for k in ("pass", "fail", "warn")}
    lines = [
        "### Checks",
        "",
        f"**Result: {checks['status'].upper()}** (exit code {checks['exit_code']}): "
        f"{len(results)} checks, {counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warnings.",
        "",
    ]

    def rows(items: list[dict[str, Any]]) -> list[list[str]]:
        return [
            [
                STATUS_MARK[r["status"]],
                md_text(r["check"]),
                md_text(r["source"] or "—"),
                md_text(label(r["metric"])),
                fmt_num(r["value"], 4),
                f"{r['op'] if r['op'] in ('<=', '>=') else md_text(r['op'])} {r['threshold']:.4g}",
                fmt_num(r["baseline"], 4),
            ]
            for r in items
        ]

    header = ["Result", "Check", "Source", "Metric", "Value", "Threshold", "Baseline"]
    not_passed = [r for r in results if r["status"] != "pass"]
    passed = [r for r in results if r["status"] == "pass"]
    limit = len(results) if max_rows is None else max_rows
    if not_passed:
        lines += _table(header, rows(not_passed[:limit]), align_right_from=4)
        if len(not_passed) > limit:
            lines.append(f"\n… and {len(not_passed) - limit} more failed or warned checks (see report.json).")
        lines.append("")
    if passed:
        lines += ["<details><summary>Passed checks</summary>", ""]
        lines += _table(header, rows(passed[:limit]), align_right_from=4)
        if len(passed) > limit:
            lines.append(f"\n… and {len(passed) - limit} more passed checks (see report.json).")
        lines += ["", "</details>", ""]
    for note in checks.get("warnings", [])[: limit or None]:
        lines.append(f"- ⚠️ {md_text(note)}")
    if checks.get("warnings"):
        lines.append("")
    return lines


def _pp(delta: dict[str, Any]) -> str:
    d = delta.get("delta")
    return "—" if d is None else f"{100 * d:+.1f} pp"


def _rel(delta: dict[str, Any]) -> str:
    r = delta.get("relative")
    return "—" if r is None else f"{100 * r:+.1f}%"


def comparison_lines(comparison: dict[str, Any], max_rows: int | None, esc: Escape = md_text) -> list[str]:
    """'Changes since the baseline' table: rises in percentage points, diversity changes relative."""
    rows_data = sorted(
        comparison["sources"],
        key=lambda r: (-(r["metrics"].get(SYNTHETIC, {}).get("delta") or 0.0), r["source"]),
    )
    shown = rows_data if max_rows is None else rows_data[:max_rows]
    header = ["Source", "Status", "Documents", "Synthetic Δ", "Exact dup. Δ", "Near dup. Δ", *(f"{t} Δ" for t, _ in DIVERSITY_COLUMNS)]
    rows = []
    for r in shown:
        m = r["metrics"]
        docs = m.get("documents", {})
        doc_text = f"{int(docs['old'] or 0):,} → {int(docs['new'] or 0):,}" if docs else "—"
        rows.append(
            [esc(r["source"]), esc(r["status"]), doc_text, _pp(m.get(SYNTHETIC, {})), _pp(m.get(EXACT_DUP, {})), _pp(m.get(NEAR_DUP, {}))]
            + [_rel(m.get(path, {})) for _, path in DIVERSITY_COLUMNS]
        )
    old = comparison.get("old", {})
    lines = ["### Changes since the baseline", "", f"Baseline audited {esc(str(old.get('created_at', '—'))[:10])} with synthscope {esc(old.get('tool_version', '—'))}.", ""]
    lines += _table(header, rows, align_right_from=2)
    if len(rows_data) > len(shown):
        lines.append(f"\n… and {len(rows_data) - len(shown)} more sources (see report.json).")
    return lines + [""]


def _error_pointer(report: dict[str, Any]) -> str:
    """Where the reader finds how far off an estimate can be: it depends on the calibration profile."""
    if profile_name(report) in (None, "default"):
        return ("How far off an estimate can be on genres and generators the shipped profile never saw is measured "
                "in synthscope's README (\"How good it is\", held-out benchmark); a human reference narrows it.")
    return ("This audit used its own calibration profile: how far off its estimates can be is the held-out error "
            "that `synthscope calibrate` printed for it, on genres like its calibration data only.")


def limitations(report: dict[str, Any], code: Escape = md_code) -> str:
    """A short paragraph on what the numbers do and do not say, with this report's caveats (source
    names through `code`)."""
    text = (
        "Synthetic fractions are statistical estimates of a share of documents from explainable stylometric "
        "features, calibrated on labelled human and machine text; they do not prove that any single document "
        "is machine-written, and they can be biased on domains, genres or generators unlike the calibration "
        "data (plain or non-native human writing in particular). Intervals come from a bootstrap over documents "
        "and calibration domains, widened by the calibration's measured error on held-out domains. "
        + _error_pointer(report)
        + " Near duplicates are MinHash estimates around the Jaccard "
        "threshold. Diversity metrics use the same sample budget for every source, so they compare sources "
        "and snapshots rather than describe whole corpora."
    )
    sfs = [(s, s.get("synthetic_fraction")) for s in report["sources"]]
    low = [s["source"] for s, sf in sfs if isinstance(sf, dict) and sf.get("low_confidence") and not sf.get("reason")]
    unsupported = [s for s, sf in sfs if isinstance(sf, dict) and sf.get("reason") == "unsupported_language"]
    if unsupported:
        langs = ", ".join(md_text(c) for c in report.get("summary", {}).get("detect", {}).get("profile_languages", [])) or "en"
        names = ", ".join(f"{code(s['source'])} ({md_text(fmt_languages(s))})" for s in unsupported[:5])
        names += f" and {len(unsupported) - 5} more" if len(unsupported) > 5 else ""
        text += (f" No synthetic estimate for sources mostly in languages the calibration profile does not cover "
                 f"(it covers {langs}): {names}.")
    if low:
        names = ", ".join(code(n) for n in low[:5]) + (f" and {len(low) - 5} more" if len(low) > 5 else "")
        text += f" Low-confidence estimates (too few documents): {names}."
    missing = [
        what
        for what, present in (
            ("synthetic content", any("synthetic_fraction" in s for s in report["sources"])),
            ("duplication", any(EXACT_DUP in s or NEAR_DUP in s for s in report["sources"])),
            ("diversity", any("diversity" in s for s in report["sources"])),
        )
        if not present
    ]
    if missing and report["sources"]:
        text += f" Not measured in this audit: {', '.join(missing)} (shown as —)."
    return text


def languages_line(report: dict[str, Any], esc: Escape = md_text) -> str:
    """'Languages: en 90.5%, de 4.8%.' when the corpus is not only English, else ''."""
    languages = report.get("summary", {}).get("languages", {}).get("languages", [])
    if not languages or all(l["language"] == "en" for l in languages):
        return ""
    return "Languages: " + ", ".join(f"{esc(l['language'])} {100 * l['share']:.1f}%" for l in languages) + "."


def render_section(report: dict[str, Any], max_rows: int | None = MAX_ROWS, heading_level: int = 2) -> str:
    """The dataset-card section: summary line, per-source table, method, checks, changes, limitations."""
    t = report["totals"]
    date = md_text(str(report.get("created_at", ""))[:10])
    lines = [
        f"{'#' * heading_level} {TITLE}",
        "",
        f"Audited {date} with synthscope {md_text(report['tool']['version'])}: {t['analysed']:,} documents in "
        f"{t['sources']:,} sources (by {md_text(report['source_definition'])}) from {len(report['inputs']):,} input files "
        f"({t['rows_read']:,} rows read; {t.get('empty', 0):,} empty, {t.get('malformed', 0):,} malformed, "
        f"{t.get('skipped', 0):,} skipped"
        + (f", {t['other_language']:,} in other languages than --language" if t.get("other_language") else "")
        + ").",
        "",
    ]
    if languages_line(report):
        lines += [languages_line(report, md_text), ""]
    header, rows, hidden = source_table(report, max_rows)
    lines += _table(header, rows)
    if hidden > 0:
        rest = rest_line(leading_sources(report)[1]) or f"… and {hidden:,} more sources (every source: report.json, sources.parquet)"
        lines.append("\n" + md_text(rest))
    lines += [""] + evidence_markdown(report)
    lines += [f"**Method.** {method_line(report)}", ""]
    if "checks" in report:
        lines += _checks_lines(report["checks"], max_rows)
    if "comparison" in report:
        lines += comparison_lines(report["comparison"], max_rows)
    lines += [f"**Limitations.** {limitations(report)}", ""]
    return "\n".join(lines)


SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
                   (10_000_000_000, "1B<n<10B"))


_SIZE_NAMES = {name for _, name in SIZE_CATEGORIES} | {"n>10B"}


def size_category(documents: int) -> str:
    """Hugging Face `size_categories` value for a document count."""
    return next((name for limit, name in SIZE_CATEGORIES if documents < limit), "n>10B")


def _weighted(report: dict[str, Any], path: str) -> float | None:
    pairs = [(metric_value(s, path), s.get("documents", 0)) for s in report["sources"]]
    pairs = [(v, n) for v, n in pairs if v is not None and n]
    total = sum(n for _, n in pairs)
    return None if not total else sum(v * n for v, n in pairs) / total


def card_metadata(report: dict[str, Any]) -> dict[str, Any]:
    """Metadata for a Hugging Face dataset card: size_categories plus a `synthscope` summary."""
    docs = int(report["totals"]["analysed"])
    summary: dict[str, Any] = {
        "version": report["tool"]["version"],
        "schema_version": report["schema_version"],
        "audited": str(report.get("created_at", ""))[:10],
        "documents": docs,
        "sources": int(report["totals"]["sources"]),
    }
    corpus = report.get("summary", {}).get("detect", {}).get("synthetic_fraction") or corpus_synthetic_fraction(report["sources"])
    if corpus is not None:
        summary["synthetic_fraction"] = corpus["estimate"]
    for key, path in (("exact_duplicate_fraction", EXACT_DUP), ("near_duplicate_fraction", NEAR_DUP)):
        value = _weighted(report, path)
        if value is not None:
            summary[key] = round(value, 4)
    if "checks" in report:
        summary["checks"] = report["checks"]["status"]
    return {"size_categories": [size_category(docs)], "synthscope": summary}


def _yaml(value: Any, indent: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines += [f"{pad}{key}:", *_yaml(item, indent + 2)]
        elif isinstance(item, list):
            lines += [f"{pad}{key}:", *(f"{pad}- {_yaml_scalar(v)}" for v in item)]
        else:
            lines.append(f"{pad}{key}: {_yaml_scalar(item)}")
    return lines


def _yaml_scalar(value: Any) -> str:
    """A JSON scalar (YAML reads it as the same value); in strings from the report (not our size
    categories such as "1K<n<10K"), `<`, `>` and `&` as \\u escapes."""
    text = json.dumps(value, ensure_ascii=False)
    if value in _SIZE_NAMES:
        return text
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_card_yaml(report: dict[str, Any]) -> str:
    """The card metadata as YAML (strings JSON-quoted, which YAML reads as plain strings)."""
    return "\n".join(_yaml(card_metadata(report))) + "\n"


def render_card_yaml_summary(report: dict[str, Any]) -> str:
    """Only the `synthscope:` mapping, for a card's existing front matter (leaves its own keys alone)."""
    return "\n".join(_yaml({"synthscope": card_metadata(report)["synthscope"]})) + "\n"


def render_comparison(report: dict[str, Any], max_rows: int | None = MAX_ROWS) -> str:
    """Markdown of the comparison and the checks of a report evaluated against a baseline."""
    lines: list[str] = []
    if "comparison" in report:
        lines += comparison_lines(report["comparison"], max_rows)
    if "checks" in report:
        lines += _checks_lines(report["checks"], max_rows)
    return "\n".join(lines) + "\n"


def render_markdown(report: dict[str, Any], max_rows: int | None = MAX_ROWS) -> str:
    """report.md: the card section, then the YAML block for the dataset card's metadata."""
    return (
        render_section(report, max_rows)
        + "\n<details><summary>Dataset card metadata (YAML)</summary>\n\n```yaml\n"
        + render_card_yaml(report)
        + "```\n\n</details>\n"
    )
