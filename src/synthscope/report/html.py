"""One self-contained HTML report: tables plus plotly charts, with plotly.js embedded (no network).

plotly.js is embedded once, gzip-compressed and base64-encoded (about 2 MB instead of 4.8 MB), and
unpacked in the browser with the standard DecompressionStream API; the figures are plain JSON drawn
by Plotly.newPlot. The tables are static HTML, readable even where scripts are disabled.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
from functools import lru_cache
from typing import Any

from synthscope.report.escape import html_text, json_for_html, printable
from synthscope.report.evidence import EVIDENCE_SCRIPT, EVIDENCE_STYLE, anchor, evidence_html, evidence_sources
from synthscope.report.markdown import TITLE, languages_line, limitations, method_line, source_table
from synthscope.report.metrics import EXACT_DUP, NEAR_DUP, SYNTHETIC, label, metric_value
from synthscope.report.overview import leading_sources, rest_line

ROW_PX = 18  # height per source in the per-source charts
MAX_SHOWN = 100  # rows of the static source table (the sources the report leads with)
DIVERSITY_CHART = ("mattr", "distinct_2", "self_bleu", "vendi_score")


@lru_cache(maxsize=1)
def embedded_plotlyjs() -> str:
    """plotly.js, gzip-compressed (deterministic) and base64-encoded."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:  # pragma: no cover - plotly is a core dependency
        raise RuntimeError("the HTML report needs the 'plotly' package") from exc
    packed = gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


def _height(n: int) -> int:
    return 140 + ROW_PX * max(n, 1)


def _names(sources: list[dict[str, Any]]) -> list[str]:
    """Source names as chart labels: plotly reads labels as pseudo-HTML, so they are entity-escaped
    (and shown literally)."""
    return [html.escape(printable(s["source"]), quote=False) for s in sources]


def _documents_figure(sources: list[dict[str, Any]]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(y=_names(sources), x=[s.get("documents", 0) for s in sources], orientation="h", marker_color="#4c78a8"))
    fig.update_layout(title="Documents per source", xaxis_title="documents", height=_height(len(sources)))
    return fig


def _synthetic_figure(sources: list[dict[str, Any]]) -> Any:
    import plotly.graph_objects as go

    rows = [s for s in sources if metric_value(s, SYNTHETIC) is not None]
    rows.sort(key=lambda s: metric_value(s, SYNTHETIC) or 0.0)
    est = [metric_value(s, SYNTHETIC) for s in rows]
    lo = [metric_value(s, "synthetic_fraction.ci_low") for s in rows]
    hi = [metric_value(s, "synthetic_fraction.ci_high") for s in rows]
    fig = go.Figure(
        go.Bar(
            y=_names(rows),
            x=est,
            orientation="h",
            marker_color=["#bab0ac" if s["synthetic_fraction"].get("low_confidence") else "#e45756" for s in rows],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [max((h if h is not None else e) - e, 0.0) for e, h in zip(est, hi)],
                "arrayminus": [max(e - (l if l is not None else e), 0.0) for e, l in zip(est, lo)],
            },
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Synthetic fraction per source (bars: estimate, whiskers: interval; grey: low confidence)",
        xaxis={"title": "synthetic fraction", "tickformat": ".0%", "range": [0, 1]},
        height=_height(len(rows)),
    )
    return fig


def _duplicates_figure(sources: list[dict[str, Any]]) -> Any:
    import plotly.graph_objects as go

    rows = [s for s in sources if metric_value(s, EXACT_DUP) is not None or metric_value(s, NEAR_DUP) is not None]
    fig = go.Figure(
        [
            go.Bar(name=label(path), y=_names(rows), x=[metric_value(s, path) for s in rows], orientation="h")
            for path in (EXACT_DUP, NEAR_DUP)
        ]
    )
    fig.update_layout(title="Duplicate shares per source", barmode="group", xaxis={"tickformat": ".0%"}, height=_height(2 * len(rows)))
    return fig


def _diversity_figure(sources: list[dict[str, Any]]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = [s for s in sources if isinstance(s.get("diversity"), dict)]
    metrics = [m for m in DIVERSITY_CHART if any(metric_value(s, f"diversity.{m}") is not None for s in rows)]
    fig = make_subplots(rows=1, cols=len(metrics), shared_yaxes=True, subplot_titles=[label(f"diversity.{m}") for m in metrics])
    for i, m in enumerate(metrics, start=1):
        fig.add_trace(
            go.Bar(y=_names(rows), x=[metric_value(s, f"diversity.{m}") for s in rows], orientation="h", name=label(f"diversity.{m}"), showlegend=False),
            row=1,
            col=i,
        )
    fig.update_layout(title="Diversity per source (self-BLEU: higher means less diverse)", height=_height(len(rows)))
    return fig


def _scores_figures(report: dict[str, Any], sources: list[dict[str, Any]]) -> list[Any]:
    import numpy as np
    import plotly.graph_objects as go

    rows = [s for s in sources if isinstance(s.get("score_histogram"), dict) and sum(s["score_histogram"].get("counts", [])) > 0]
    corpus = report.get("overview", {}).get("score_histogram")
    reference = corpus if isinstance(corpus, dict) else rows[0]["score_histogram"]
    edges = np.asarray(reference["bin_edges"], dtype=float)
    same = [s for s in rows if len(s["score_histogram"]["bin_edges"]) == len(edges) and np.allclose(s["score_histogram"]["bin_edges"], edges)]
    centers = (edges[:-1] + edges[1:]) / 2
    counts = np.asarray([s["score_histogram"]["counts"] for s in same], dtype=float).reshape(len(same), len(centers))
    total = np.asarray(corpus["counts"], dtype=float) if isinstance(corpus, dict) else counts.sum(axis=0)
    overall = go.Figure(go.Bar(x=centers, y=total / total.sum(), name="all documents", marker_color="#72b7b2", width=np.diff(edges)))
    hists = report.get("summary", {}).get("detect", {}).get("profile_histograms")
    if isinstance(hists, dict) and len(hists.get("bin_edges", [])) >= 2:
        pe = np.asarray(hists["bin_edges"], dtype=float)
        pc = (pe[:-1] + pe[1:]) / 2
        for key, color in (("human", "#4c78a8"), ("synthetic", "#e45756")):
            ref = np.asarray(hists.get(key, []), dtype=float)
            if len(ref) == len(pc) and ref.sum() > 0:
                scale = (np.diff(pe) / np.diff(edges).mean())  # per-bin shares on the corpus bins' width
                overall.add_trace(go.Scatter(x=pc, y=ref / ref.sum() / scale, mode="lines", name=f"profile: {key}", line={"color": color}))
    overall.update_layout(title="Distribution of document scores (share of documents per score bin)", xaxis_title="score", yaxis={"tickformat": ".0%"}, height=380)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    heat = go.Figure(go.Heatmap(z=shares, x=centers, y=_names(same), colorscale="Viridis", colorbar={"title": "share", "tickformat": ".0%"}))
    heat.update_layout(title="Document scores per source", xaxis_title="score", height=_height(len(same)))
    return [overall, heat]


def build_figures(report: dict[str, Any]) -> list[tuple[str, Any]]:
    """(id, plotly figure) of every chart the report's fields allow, over the sources the report leads
    with (report/overview.py); documents per source always."""
    sources = [s for _, s in leading_sources(report)[0]]
    figures: list[tuple[str, Any]] = [("chart-documents", _documents_figure(sources))]
    if any(metric_value(s, SYNTHETIC) is not None for s in sources):
        figures.append(("chart-synthetic", _synthetic_figure(sources)))
    if any(metric_value(s, EXACT_DUP) is not None or metric_value(s, NEAR_DUP) is not None for s in sources):
        figures.append(("chart-duplicates", _duplicates_figure(sources)))
    if any(metric_value(s, f"diversity.{m}") is not None for s in sources for m in DIVERSITY_CHART):
        figures.append(("chart-diversity", _diversity_figure(sources)))
    if any(isinstance(s.get("score_histogram"), dict) and sum(s["score_histogram"].get("counts", [])) > 0 for s in sources):
        overall, heat = _scores_figures(report, sources)
        figures += [("chart-scores", overall), ("chart-scores-by-source", heat)]
    for _, fig in figures:
        fig.update_layout(template="plotly_white", margin={"l": 10, "r": 10, "t": 60, "b": 40}, yaxis={"automargin": True})
    return figures


TABLE_COLUMNS = ("Source", "Documents", "Synthetic", "CI low", "CI high", "Flagged", "Exact dup.", "Near dup.", "MATTR", "distinct-2", "self-BLEU", "Vendi")
_TABLE_PATHS = (
    SYNTHETIC, "synthetic_fraction.ci_low", "synthetic_fraction.ci_high", "flagged_fraction", EXACT_DUP, NEAR_DUP,
    "diversity.mattr", "diversity.distinct_2", "diversity.self_bleu", "diversity.vendi_score",
)


def _rounded(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.4g}")


def all_sources_payload(report: dict[str, Any]) -> str:
    """Every source as one compact row (name, documents, estimate, interval, duplicate shares, diversity),
    JSON, gzip-compressed and base64-encoded for the page's pager (about 30 bytes a source)."""
    rows = [[printable(s["source"]), int(s.get("documents", 0)), *(_rounded(metric_value(s, p)) for p in _TABLE_PATHS)] for s in report["sources"]]
    data = json.dumps({"columns": TABLE_COLUMNS, "rows": rows}, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(gzip.compress(data.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


def _html_table(header: list[str], rows: list[list[str]], links: list[str] | None = None) -> str:
    """A static table, every cell escaped; with `links`, row i's first cell links to the element `links[i]`."""
    head = "".join(f"<th>{html_text(h)}</th>" for h in header)

    def cell(i: int, j: int, value: str) -> str:
        if j == 0 and links is not None and i < len(links):
            return f'<td><a href="#{html_text(links[i])}">{html_text(value)}</a></td>'
        return f"<td>{html_text(value)}</td>"

    body = "".join("<tr>" + "".join(cell(i, j, c) for j, c in enumerate(row)) + "</tr>" for i, row in enumerate(rows))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _checks_html(report: dict[str, Any]) -> str:
    checks = report.get("checks")
    if not checks:
        return ""
    rows = [
        [r["status"].upper(), r["check"], r["source"] or "—", label(r["metric"]), "—" if r["value"] is None else f"{r['value']:.4g}",
         f"{r['op']} {r['threshold']:.4g}", "—" if r["baseline"] is None else f"{r['baseline']:.4g}", r["message"]]
        for r in sorted(checks["results"], key=lambda r: r["status"] == "pass")
    ]
    warnings = "".join(f"<li>{html_text(w)}</li>" for w in checks.get("warnings", []))
    status = html_text(checks["status"])
    return (
        f'<h2>Checks: <span class="status-{status}">{status.upper()}</span> (exit code {html_text(checks["exit_code"])})</h2>'
        + _html_table(["Result", "Check", "Source", "Metric", "Value", "Threshold", "Baseline", "Message"], rows)
        + (f"<ul>{warnings}</ul>" if warnings else "")
    )


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1.5rem;display:block;overflow:auto;max-height:32rem}
th,td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{position:sticky;top:0;background:#f6f6f6}
.status-pass{color:#1a7f37}.status-fail{color:#cf222e}.status-warn{color:#9a6700}.chart{margin:1rem 0}
#chart-status{color:#9a6700}
"""

_PAGER = """
(async function () {
  const holder = document.getElementById("all-sources");
  if (!holder) { return; }
  try {
    const packed = document.getElementById("sources-gzip-base64").textContent.trim();
    const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const data = JSON.parse(await new Response(stream).text());
    const pageSize = 100;
    let rows = data.rows, page = 0, sortColumn = 1, descending = true;
    const filter = holder.querySelector("input"), info = holder.querySelector(".pager-info");
    const table = holder.querySelector("table"), body = table.querySelector("tbody");
    const fmt = (v, i) => v === null ? "\u2014" : (i === 1 ? v.toLocaleString("en") : (i >= 2 && i <= 7 ? (100 * v).toFixed(1) + "%" : v.toFixed(3)));
    table.querySelector("thead").innerHTML = "<tr>" + data.columns.map((c, i) => `<th data-i="${i}">${c}</th>`).join("") + "</tr>";
    function show() {
      const needle = filter.value.toLowerCase();
      const chosen = needle ? data.rows.filter((r) => r[0].toLowerCase().includes(needle)) : data.rows;
      rows = chosen.slice().sort((a, b) => {
        const x = a[sortColumn], y = b[sortColumn];
        if (x === y) { return 0; }
        if (x === null) { return 1; }
        if (y === null) { return -1; }
        return (x < y ? -1 : 1) * (descending ? -1 : 1);
      });
      page = Math.min(page, Math.max(0, Math.ceil(rows.length / pageSize) - 1));
      body.replaceChildren();
      for (const r of rows.slice(page * pageSize, (page + 1) * pageSize)) {
        const tr = document.createElement("tr");
        r.forEach((v, i) => { const td = document.createElement("td"); td.textContent = i === 0 ? v : fmt(v, i); tr.appendChild(td); });
        body.appendChild(tr);
      }
      info.textContent = `${rows.length.toLocaleString("en")} sources, page ${page + 1} of ${Math.max(1, Math.ceil(rows.length / pageSize))}`;
    }
    table.querySelector("thead").addEventListener("click", (e) => {
      const i = Number(e.target.dataset.i);
      if (Number.isNaN(i)) { return; }
      descending = sortColumn === i ? !descending : i !== 0;
      sortColumn = i; page = 0; show();
    });
    filter.addEventListener("input", () => { page = 0; show(); });
    holder.querySelector(".prev").addEventListener("click", () => { page = Math.max(0, page - 1); show(); });
    holder.querySelector(".next").addEventListener("click", () => { page += 1; show(); });
    show();
  } catch (err) {
    holder.querySelector(".pager-info").textContent = "The table could not be unpacked: " + err.message;
  }
})();
"""

_LOADER = """
(async function () {
  const status = document.getElementById("chart-status");
  try {
    if (typeof DecompressionStream === "undefined") {
      throw new Error("this browser lacks DecompressionStream, needed to unpack the embedded chart library");
    }
    const packed = document.getElementById("plotlyjs-gzip-base64").textContent.trim();
    const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const code = await new Response(stream).text();
    const script = document.createElement("script");
    script.textContent = code;
    document.head.appendChild(script);
    const figures = JSON.parse(document.getElementById("figures").textContent);
    for (const f of figures) {
      await Plotly.newPlot(f.id, f.figure.data, f.figure.layout, {displaylogo: false, responsive: true});
    }
    document.body.setAttribute("data-charts-rendered", String(figures.length));
    status.remove();
  } catch (err) {
    status.textContent = "Charts could not be drawn: " + err.message;
  }
})();
"""


def render_html(report: dict[str, Any]) -> str:
    """The whole report as one HTML page with embedded, compressed plotly.js and no network access."""
    figures = build_figures(report)
    payload = json_for_html([{"id": fid, "figure": json.loads(fig.to_json())} for fid, fig in figures])
    header, rows, hidden = source_table(report, MAX_SHOWN, esc=printable)
    rest = html_text(rest_line(leading_sources(report)[1])) if hidden else ""
    every = ""
    if hidden:
        every = (
            f'<details id="all-sources"><summary>All {len(report["sources"]):,} sources (sortable, searchable; also in sources.parquet)</summary>'
            '<p><input type="search" placeholder="filter by source name"> <button class="prev">previous</button> '
            '<button class="next">next</button> <span class="pager-info">unpacking…</span></p>'
            '<table><thead></thead><tbody></tbody></table></details>'
            f'<script id="sources-gzip-base64" type="application/octet-stream">{all_sources_payload(report)}</script>'
            f"<script>{_PAGER}</script>"
        )
    t = report["totals"]
    charts = "".join(f'<div class="chart" id="{fid}"></div>' for fid, _ in figures)
    comparison = ""
    if "comparison" in report:
        from synthscope.report.markdown import comparison_lines

        lines = comparison_lines(report["comparison"], None, esc=printable)[4:]
        comparison = "<h2>Changes since the baseline</h2><pre>" + "\n".join(html_text(line) for line in lines) + "</pre>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(TITLE)}</title><style>{_STYLE}{EVIDENCE_STYLE}</style></head>
<body data-charts-expected="{len(figures)}">
<h1>{html.escape(TITLE)}</h1>
<p>Audited {html_text(str(report.get("created_at", ""))[:19])} with synthscope {html_text(report["tool"]["version"])}:
{t["analysed"]:,} documents in {t["sources"]:,} sources (by {html_text(report["source_definition"])}) from {len(report["inputs"]):,} input files.
{html_text(languages_line(report, printable))}</p>
{_checks_html(report)}
<h2>Sources</h2>
{_html_table(header, rows, [anchor(i) for i in range(len(evidence_sources(report)))])}
<p>{rest}</p>
{every}
<h2>Charts</h2>
<p id="chart-status">Drawing charts…</p>
{charts}
{evidence_html(report)}
{comparison}
<h2>Method</h2><p>{html_text(method_line(report, code=printable, esc=printable))}</p>
<h2>Limitations</h2><p>{html_text(limitations(report, code=printable))}</p>
<script id="figures" type="application/json">{payload}</script>
<script id="plotlyjs-gzip-base64" type="application/octet-stream">{embedded_plotlyjs()}</script>
<script>{_LOADER}</script>
<script>{EVIDENCE_SCRIPT}</script>
</body></html>
"""
