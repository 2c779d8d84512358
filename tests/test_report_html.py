"""The HTML report: self-contained, small, and its charts really render in headless Chromium."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from synthscope.pipeline import AuditConfig, run_audit
from synthscope.report.html import build_figures, render_html
from tests.golden_util import SAMPLE

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=20000",
)


def _chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_is_self_contained_and_small(audit_report) -> None:
    page = render_html(audit_report)
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|https?://cdn", page)
    assert len(page.encode()) < 2_600_000
    ids = [fid for fid, _ in build_figures(audit_report)]
    assert ids == ["chart-documents", "chart-synthetic", "chart-duplicates", "chart-diversity", "chart-scores", "chart-scores-by-source"]


def test_html_stays_small_for_hundreds_of_sources(audit_report) -> None:
    many = copy.deepcopy(audit_report)
    template = many["sources"]
    many["sources"] = [dict(copy.deepcopy(template[i % len(template)]), source=f"site-{i}.example") for i in range(500)]
    many["totals"]["sources"] = 500
    page = render_html(many)
    size = len(page.encode())
    assert page.count('<details id="evidence-') <= 40  # evidence only for the sources the report leads with
    assert size < 3_000_000, f"{size:,} bytes"


def _dump_dom(chromium: str, page: Path, profile: Path) -> str:
    run = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.slow
def test_charts_render_in_headless_chromium(tmp_path, audit_report) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium not found (/usr/bin/chromium or chromium on PATH); install Debian's 'chromium' package to run this test")
    sample = run_audit([str(SAMPLE)], AuditConfig(by="domain"))
    for name, report in (("sample", sample), ("enriched", audit_report)):
        page = tmp_path / f"{name}.html"
        page.write_text(render_html(report), encoding="utf-8")
        dom = _dump_dom(chromium, page, tmp_path / f"profile-{name}")
        expected = len(build_figures(report))
        assert f'data-charts-rendered="{expected}"' in dom, dom[-3000:]
        assert dom.count('class="plot-container plotly"') == expected
        assert dom.count("<svg") >= expected and "id=\"chart-status\"" not in dom  # removed once all charts are drawn
        for source in report["sources"]:
            assert source["source"] in dom


# Injected into a copy of the page by the evidence test: once the page has loaded, it follows every link of
# the source table, opens every evidence section and measures what the reader sees (boxes, colours), and
# writes its findings as JSON text into <pre id="probe">, which --dump-dom then carries out.
PROBE = """<script>
(function () {
  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const box = (el) => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, width: r.width, height: r.height}; };
  const sideBySide = (a, b) => { const x = box(a), y = box(b); return x.width > 0 && y.width > 0 && Math.abs(x.top - y.top) < 2 && y.left >= x.right - 1; };
  const painted = (el) => { const c = getComputedStyle(el).backgroundColor; return c !== "rgba(0, 0, 0, 0)" && c !== "transparent"; };
  async function probe() {
    const links = [];
    for (const a of document.querySelectorAll("table a[href^='#']")) {
      const id = decodeURIComponent(a.getAttribute("href").slice(1));
      const target = document.getElementById(id);
      if (target) { target.open = false; }
      a.click();
      await wait(100);
      links.push({text: a.textContent, id: id, hash: decodeURIComponent(location.hash.slice(1)), found: !!target,
                  tag: target ? target.tagName : "", open: !!(target && target.open),
                  summary: target && target.querySelector("summary") ? target.querySelector("summary").textContent : ""});
    }
    const sections = [];
    for (const d of document.querySelectorAll("details[id^='evidence-']")) {
      d.open = true;
      const grids = d.querySelectorAll(":scope > .ev-grid");
      const examples = [];
      for (const e of d.querySelectorAll(".example")) {
        const marks = [...e.querySelectorAll(".doc mark")];
        examples.push({meta: e.querySelector(".ev-meta").textContent,
                       marks: marks.map((m) => ({text: m.textContent, title: m.title, shown: box(m).width > 0 && box(m).height > 0, painted: painted(m)}))});
      }
      const members = [...d.querySelectorAll(".member")];
      const heads = [...d.querySelectorAll(":scope > h4")].map((h) => h.textContent);
      const featureList = [...d.querySelectorAll(":scope > h4")].find((h) => h.textContent === "What pushes its score up");
      const features = featureList && featureList.nextElementSibling ? featureList.nextElementSibling.querySelectorAll("li") : [];
      sections.push({id: d.id, summary: d.querySelector("summary").textContent, heads: heads,
                     features: [...features].map((li) => ({text: li.textContent, shown: box(li).height > 0})),
                     examples: examples,
                     columnsSideBySide: grids.length > 0 && grids[0].children.length === 2 && sideBySide(grids[0].children[0], grids[0].children[1]),
                     members: members.map((m) => ({meta: m.querySelector(".ev-meta").textContent, text: m.querySelector(".doc").textContent, shown: box(m).height > 0})),
                     membersSideBySide: members.length === 2 && sideBySide(members[0], members[1])});
    }
    const out = document.createElement("pre");
    out.id = "probe";
    out.textContent = JSON.stringify({links: links, sections: sections});
    document.body.appendChild(out);
  }
  window.addEventListener("load", () => { probe(); });
})();
</script>"""


def _probe(dom: str) -> dict:
    """The findings PROBE wrote into the dumped DOM."""
    import html
    import json

    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe did not run: " + dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def _assert_evidence_seen(probe: dict, report: dict) -> None:
    """Per source, what a reader sees in Chromium: the source-table row's link opens that source's evidence
    section; the section shows its top features, at least one example each way with its matched spans
    highlighted (painted, visible <mark>s covering exactly the spans' text), the two example columns and the
    two members of its largest duplicate cluster side by side."""
    from synthscope.detect.features import SPAN_FEATURES
    from synthscope.report.evidence import evidence_sources

    shown = evidence_sources(report)
    sections = probe["sections"]
    assert [s["summary"].split(" · ")[0] for s in sections] == [s["source"] for s in shown]
    evidence_links = [link for link in probe["links"] if link["id"].startswith("evidence-")]
    assert len(evidence_links) == len(shown)
    for i, (link, source) in enumerate(zip(evidence_links, shown)):
        assert link["found"] and link["tag"] == "DETAILS" and link["id"] == f"evidence-{i}", link
        assert link["hash"] == link["id"] and link["open"], link  # following the link opened the section
        assert link["summary"].startswith(link["text"] + " · "), link  # ... of the row's own source
    for section, source in zip(sections, shown):
        name = source["source"]
        assert section["heads"][:2] and "What pushes its score up" in section["heads"], (name, section["heads"])
        features = [f for f in source["top_features"] if isinstance(f, dict)]
        assert len(section["features"]) == len(features) >= 3 and all(f["shown"] for f in section["features"]), name
        for f, li in zip(features, section["features"]):
            assert li["text"].startswith(f["plain"]) and f"({f['feature']}, " in li["text"], (name, li)
        examples = [e for key in ("most_synthetic", "least_synthetic") for e in source["examples"][key]]
        assert len(section["examples"]) == len(examples), name
        highlighted = {"Most": 0, "Least": 0}
        for example, seen in zip(examples, section["examples"]):
            side = seen["meta"].split(" ")[0]
            assert f"id {example['id']}" in seen["meta"], (name, seen["meta"])
            marks = seen["marks"]
            assert all(m["shown"] and m["painted"] and m["text"] for m in marks), (name, marks)
            assert all(set(m["title"].split(", ")) <= set(SPAN_FEATURES) for m in marks), (name, marks)
            covered = sorted({i for s in example["spans"] for i in range(s["start"], s["end"])})
            assert sum(len(m["text"]) for m in marks) == len(covered), (name, example["id"])  # every matched character, nothing else
            for span in example["spans"]:
                assert any(example["preview"][span["start"] : span["end"]] in m["text"] or m["text"] in example["preview"][span["start"] : span["end"]]
                           for m in marks if span["feature"] in m["title"].split(", ")), (name, span)
            highlighted[side] += bool(marks)
        assert highlighted["Most"] >= 1 and highlighted["Least"] >= 1, (name, highlighted)
        assert section["columnsSideBySide"], name
        cluster = source["largest_clusters"][0]
        assert len(section["members"]) == 2 and all(m["shown"] for m in section["members"]), name
        assert section["membersSideBySide"], name
        for member, seen in zip(cluster["members"][:2], section["members"]):
            assert f"id {member['id']}" in seen["meta"] and seen["text"].startswith(member["preview"][:100]), (name, seen["meta"])


@pytest.mark.slow
def test_evidence_of_every_sample_source_in_headless_chromium(tmp_path) -> None:
    """Each source of sample_data/: an example document each way with its matched spans as <mark title=feature>,
    its top features and its largest duplicate cluster with two members side by side, in the DOM Chromium builds;
    the source table's rows link to (and open) their evidence sections; a hostile source name and document
    text stay text (no element or script of theirs appears)."""
    from tests.test_report_evidence import _hostile_corpus, assert_full_evidence, evidence_of

    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium not found (/usr/bin/chromium or chromium on PATH); install Debian's 'chromium' package to run this test")
    for name, paths, by in (
        ("sample", [str(SAMPLE.parent / "web_corpus.parquet")], "domain"),
        ("hostile", [str(_hostile_corpus(tmp_path))], "source"),
    ):
        report = run_audit(paths, AuditConfig(by=by, diversity=False))
        page = tmp_path / f"{name}.html"
        source = render_html(report)
        page.write_text(source, encoding="utf-8")
        dom = _dump_dom(chromium, page, tmp_path / f"profile-{name}")
        assert_full_evidence(dom, report)
        shown = evidence_of(dom)
        for payload in ("<script>alert(1)", "<script>alert('x')", 'onerror="alert(2)"', "<img src="):
            assert payload not in dom  # parsed as text: serialised escaped, never as an element
        assert all(s["source"] in "".join(x["summary"] for x in shown.sources) for s in report["sources"])
        probed = tmp_path / f"{name}-probed.html"
        probed.write_text(source.replace("</body>", PROBE + "</body>"), encoding="utf-8")
        _assert_evidence_seen(_probe(_dump_dom(chromium, probed, tmp_path / f"profile-{name}-probed")), report)
