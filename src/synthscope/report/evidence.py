"""The evidence behind a source's numbers, for the sources a report leads with.

HTML: one section a source (`<details>`, reached from the source table): its synthetic-fraction
estimate and interval on a 0-100% scale, its document scores against the calibration profile's human and
synthetic score distributions (inline SVG: drawn without scripts), the features pushing its score up (in
plain words), its most and least machine-like documents with what the span features matched
highlighted (`<mark title="feature">`), and its largest duplicate cluster with two members side by side.
Markdown: one collapsed `<details>` block a source with its top features and one short example each
way, for a dataset card. Every string that comes from the corpus or the report is escaped
(report/escape.py); document text keeps its line breaks in HTML and becomes one line in Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synthscope.report.escape import html_in_markdown, html_text, md_inline_text, md_text, printable, text_html
from synthscope.report.metrics import NULL_REASONS, fmt_pct, fmt_synthetic, metric_value
from synthscope.report.overview import leading_sources

MD_EXAMPLE_CHARS = 280  # characters of the short Markdown example
EXAMPLE_FEATURES = 3  # features listed under an example document
SIDES = (("most_synthetic", "Most machine-like"), ("least_synthetic", "Least machine-like"))
# Colour groups of the highlighted features (the title names the feature itself).
MARK_CLASS = {
    "kobak_style_rate": "m-word", "liang_adjective_rate": "m-word", "hc3_chatgpt_phrases": "m-phrase",
    "transition_rate": "m-transition", "participle_clause_rate": "m-participle",
    "hc3_human_phrases": "m-human", "first_person_rate": "m-human", "contraction_rate": "m-human",
}
MARK_LEGEND = (
    ("m-word", "LLM-style words and adjectives (Kobak et al., Liang et al.)"),
    ("m-phrase", "ChatGPT stock phrases (HC3)"),
    ("m-transition", "sentences opened by a connective"),
    ("m-participle", "trailing ', ...ing' clauses"),
    ("m-human", "human markers: personal phrases, first person, contractions"),
)

EVIDENCE_STYLE = """
.evidence>details{border:1px solid #ddd;border-radius:6px;margin:.5rem 0;padding:.3rem .8rem}
.evidence summary{cursor:pointer;font-weight:600}.evidence h4{margin:.8rem 0 .3rem}
.ev-grid{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}.ev-grid>div{min-width:0}
.example,.member{border-left:3px solid #bbb;padding:.2rem .6rem;margin:.4rem 0}
.doc{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85rem;background:#fafafa;padding:.4rem;margin:.2rem 0}
.ev-meta{color:#555;font-size:.8rem}.ev-features li{margin:.1rem 0}
mark,.key{border-radius:3px;padding:0 1px;color:inherit}.m-word{background:#ffd8a8}.m-phrase{background:#ffa8a8}
.m-transition{background:#ffec99}.m-participle{background:#d0bfff}.m-human{background:#b2f2bb}
"""

# A source's name in the table links to its evidence section; following the link (or opening the page at
# it) opens the section. Without scripts the link still scrolls to it.
EVIDENCE_SCRIPT = """
(function () {
  function openTarget() {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id.startsWith("evidence-") ? document.getElementById(id) : null;
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
"""


def evidence_sources(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The sources the report leads with (report/overview.py), in display order."""
    return [source for _, source in leading_sources(report)[0]]


def anchor(index: int) -> str:
    """The id of the evidence section of the index-th shown source (names are user strings: never ids)."""
    return f"evidence-{index}"


def highlight(text: str, spans: list[dict[str, Any]], escape: Callable[[str], str], mark: Callable[[list[str], str], str]) -> str:
    """`text` escaped piece by piece, the pieces covered by spans wrapped by `mark(features, escaped)`."""
    cuts = sorted({0, len(text), *(min(max(int(s["start"]), 0), len(text)) for s in spans), *(min(max(int(s["end"]), 0), len(text)) for s in spans)})
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        piece = escape(text[a:b])
        features = sorted({str(s["feature"]) for s in spans if int(s["start"]) <= a and int(s["end"]) >= b})
        out.append(mark(features, piece) if features else piece)
    return "".join(out)


def _html_mark(features: list[str], piece: str) -> str:
    return f'<mark class="{MARK_CLASS.get(features[0], "m-word")}" title="{html_text(", ".join(features))}">{piece}</mark>'


def _feature_list(items: list[dict[str, Any]], technical: bool = True) -> str:
    """Features in plain words, with the feature's name and contribution (and, on hover, its technical
    description when `technical`)."""
    rows = []
    for f in items:
        plain = f.get("plain") or f.get("description") or f.get("feature", "")
        title = f' title="{html_text(f["description"])}"' if technical and f.get("description") else ""
        rows.append(
            f'<li>{html_text(plain)} <span class="ev-meta"{title}>'
            f'({html_text(f.get("feature", ""))}, {float(f.get("contribution", 0.0)):+.2f})</span></li>'
        )
    return f'<ul class="ev-features">{"".join(rows)}</ul>' if rows else "<p class=\"ev-meta\">No feature stands out.</p>"


def _example_html(example: dict[str, Any], side_title: str) -> str:
    preview = str(example.get("preview", ""))
    body = highlight(preview, list(example.get("spans") or []), text_html, _html_mark) + ("…" if example.get("truncated") else "")
    return (
        f'<div class="example"><div class="ev-meta">{html_text(side_title)} · score {float(example.get("score", 0.0)):.3f} · '
        f'id {html_text(example.get("id", ""))}</div>{_feature_list(list(example.get("contributions") or [])[:EXAMPLE_FEATURES], technical=False)}'
        f'<div class="doc">{body}</div></div>'
    )


def _examples_html(source: dict[str, Any]) -> str:
    examples = source.get("examples")
    if not isinstance(examples, dict):
        return '<p class="ev-meta">No example documents (the source is too small, or the detector did not run).</p>'
    columns = []
    for key, title in SIDES:
        items = examples.get(key) or []
        inner = "".join(_example_html(e, title) for e in items) or '<p class="ev-meta">None.</p>'
        columns.append(f'<div><h4>{html_text(title)} documents</h4>{inner}</div>')
    return f'<div class="ev-grid">{"".join(columns)}</div>'


def _cluster_html(source: dict[str, Any]) -> str:
    clusters = source.get("largest_clusters")
    if not isinstance(clusters, list) or not clusters:
        return '<p class="ev-meta">No duplicate cluster.</p>' if isinstance(clusters, list) else ""
    top = clusters[0]
    shared = ", ".join(printable(s) for s in top.get("sources", []))
    head = (f'<p class="ev-meta">Cluster {html_text(top.get("cluster_id", ""))}: {int(top.get("size", 0)):,} documents '
            f'({int(top.get("documents_in_source", 0)):,} in this source; sources: {html_text(shared)}).</p>')
    members = top.get("members")
    if not isinstance(members, list) or len(members) < 2:
        return head + (f'<div class="doc">{text_html(str(top["preview"]))}</div>' if top.get("preview") else "")
    cells = "".join(
        f'<div class="member"><div class="ev-meta">{"kept copy" if i == 0 else "duplicate"} · {html_text(m.get("source", ""))} · '
        f'id {html_text(m.get("id", ""))}</div><div class="doc">{text_html(str(m.get("preview", "")))}…</div></div>'
        for i, m in enumerate(members[:2])
    )
    return head + f'<div class="ev-grid">{cells}</div>'


def _interval_svg(source: dict[str, Any]) -> str:
    est = metric_value(source, "synthetic_fraction.estimate")
    if est is None:
        return ""
    lo = metric_value(source, "synthetic_fraction.ci_low")
    hi = metric_value(source, "synthetic_fraction.ci_high")
    lo, hi = (est if lo is None else lo), (est if hi is None else hi)
    w, x0 = 300.0, 10.0
    x = lambda v: x0 + w * min(max(v, 0.0), 1.0)  # noqa: E731
    label = html_text(f"synthetic fraction {fmt_synthetic(source)}")
    ticks = "".join(f'<text x="{x(t):.1f}" y="34" font-size="9" text-anchor="middle">{int(100 * t)}%</text>' for t in (0, 0.25, 0.5, 0.75, 1))
    return (
        f'<svg class="interval" width="320" height="40" role="img" aria-label="{label}"><title>{label}</title>'
        f'<rect x="{x0}" y="10" width="{w}" height="10" fill="#eee"/>'
        f'<rect x="{x(lo):.1f}" y="10" width="{max(x(hi) - x(lo), 1):.1f}" height="10" fill="#f4a6a6"/>'
        f'<rect x="{x(est) - 1.5:.1f}" y="6" width="3" height="18" fill="#c92a2a"/>{ticks}</svg>'
    )


def _scores_svg(source: dict[str, Any], report: dict[str, Any]) -> str:
    hist = source.get("score_histogram")
    if not isinstance(hist, dict) or not sum(hist.get("counts", [])):
        return ""
    counts = [float(c) for c in hist["counts"]]
    total = sum(counts)
    shares = [c / total for c in counts]
    profile = report.get("summary", {}).get("detect", {}).get("profile_histograms") or {}
    lines = []
    for key, colour in (("human", "#1c7ed6"), ("synthetic", "#e03131")):
        ref = [float(v) for v in profile.get(key, [])]
        if len(ref) == len(counts) and sum(ref) > 0:
            lines.append((key, colour, [v / sum(ref) for v in ref]))
    series = [shares, *(ref for _, _, ref in lines)]
    used = [i for i in range(len(counts)) if any(values[i] > 1e-3 for values in series)] or [0, len(counts) - 1]
    first, last = used[0], used[-1] + 1  # the score range where any of the three has mass
    shares = shares[first:last]
    lines = [(key, colour, ref[first:last]) for key, colour, ref in lines]
    top = max([*shares, *(v for _, _, ref in lines for v in ref)]) or 1.0
    n, width, height = len(shares), 320.0, 70.0
    bar = width / n
    y = lambda v: height - height * v / top  # noqa: E731
    bars = "".join(f"M{i * bar:.1f} {height:.0f}V{y(v):.1f}h{bar:.1f}V{height:.0f}Z" for i, v in enumerate(shares) if v > 0)
    paths = "".join(
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="'
        + " ".join(f"{(i + 0.5) * bar:.0f},{y(v):.0f}" for i, v in enumerate(ref)) + f'"><title>calibration {key} text</title></polyline>'
        for key, colour, ref in lines
    )
    title = "this source's document scores (grey bars) against the calibration profile's human (blue) and machine (red) text"
    return (
        f'<svg class="scores" width="{width:.0f}" height="{height + 14:.0f}" role="img" aria-label="{html_text(title)}">'
        f'<title>{html_text(title)}</title><path fill="#adb5bd" d="{bars}"/>{paths}'
        f'<text x="0" y="{height + 12:.0f}" font-size="9">human-like</text>'
        f'<text x="{width:.0f}" y="{height + 12:.0f}" font-size="9" text-anchor="end">machine-like</text></svg>'
    )


def _estimate_text(source: dict[str, Any]) -> str:
    """The synthetic fraction with its interval, or why there is none."""
    sf = source.get("synthetic_fraction")
    if isinstance(sf, dict) and metric_value(source, "synthetic_fraction.estimate") is None:
        return "not estimated" + (f": {NULL_REASONS.get(sf['reason'], sf['reason'])}" if sf.get("reason") else "")
    return fmt_synthetic(source)


def _source_html(index: int, source: dict[str, Any], report: dict[str, Any]) -> str:
    features = source.get("top_features")
    feature_block = (
        f"<h4>What pushes its score up</h4>{_feature_list([f for f in features if isinstance(f, dict)])}" if isinstance(features, list) else ""
    )
    estimate = (
        f'<h4>Synthetic fraction: {html_text(_estimate_text(source))}</h4><div class="ev-charts">{_interval_svg(source)}'
        f"{_scores_svg(source, report)}</div>" if isinstance(source.get("synthetic_fraction"), dict) else ""
    )
    near = metric_value(source, "near_duplicate_fraction")
    dup_title = "Largest duplicate cluster" + (f" (near duplicates: {fmt_pct(near)} of the source)" if near is not None else "")
    return (
        f'<details id="{anchor(index)}"><summary>{html_text(source["source"])} · {int(source.get("documents", 0)):,} documents · '
        f"synthetic {html_text(_estimate_text(source))}</summary>{estimate}{feature_block}"
        f"<h4>Example documents</h4>{_examples_html(source)}<h4>{html_text(dup_title)}</h4>{_cluster_html(source)}</details>"
    )


def evidence_html(report: dict[str, Any]) -> str:
    """The HTML section with the evidence of every source the report leads with ('' when none)."""
    sources = evidence_sources(report)
    if not sources:
        return ""
    body = "".join(_source_html(i, s, report) for i, s in enumerate(sources))
    legend = " ".join(f'<span class="key {cls}">{html_text(text)}</span>' for cls, text in MARK_LEGEND)
    return (
        '<h2 id="evidence">Evidence per source</h2><p class="ev-meta">Open a source to see why it scored as it did: '
        "its documents' scores against calibration text, the features behind them, its most and least machine-like "
        "documents with the matched words and phrases highlighted, and its largest duplicate cluster.</p>"
        f'<p class="legend ev-meta">Highlighted: {legend} (hover a highlight for its feature).</p>'
        f'<div class="evidence">{body}</div>'
    )


def _md_mark(features: list[str], piece: str) -> str:
    return f"**{piece}**" if piece.strip() else piece


def _md_example(example: dict[str, Any], title: str) -> str:
    preview = str(example.get("preview", ""))
    cut = preview[:MD_EXAMPLE_CHARS]
    spans = [s for s in example.get("spans") or [] if int(s["end"]) <= len(cut)]
    text = highlight(cut, spans, md_inline_text, _md_mark).strip()
    more = "…" if len(cut) < len(preview) or example.get("truncated") else ""
    return f"*{title}* (score {float(example.get('score', 0.0)):.2f}): {text}{more}"


def evidence_markdown(report: dict[str, Any]) -> list[str]:
    """Markdown lines: a collapsed `<details>` block per source the report leads with, with its top features
    and one short example each way (matched words in bold); [] when no source has evidence."""
    lines: list[str] = []
    for source in evidence_sources(report):
        features = [f for f in source.get("top_features") or [] if isinstance(f, dict)]
        examples = source.get("examples") if isinstance(source.get("examples"), dict) else {}
        if not features and not examples:
            continue
        lines += [f"<details><summary>Evidence: {html_in_markdown(source['source'])}</summary>", ""]
        if features:
            lines.append("Pushes the score up: " + "; ".join(
                f"{md_text(f.get('plain') or f.get('description') or f.get('feature', ''))} ({md_text(f.get('feature', ''))}, "
                f"{float(f.get('contribution', 0.0)):+.2f})" for f in features) + ".")
            lines.append("")
        for key, title in SIDES:
            items = examples.get(key) or []
            if items:
                lines += [_md_example(items[0], title), ""]
        lines += ["</details>", ""]
    if lines:
        lines = ["### Evidence per source", "", "Top features and one short example each way (matched words in bold); more in report.html.", ""] + lines
    return lines
