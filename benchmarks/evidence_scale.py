"""What the evidence (example documents with spans, duplicate pairs) costs on a long tail of sources.

Builds (once, cached under benchmarks/out/) web-like corpora with ../shared/bench/make_web_corpus.py: the
same documents over many Zipf-sized domains. For each, runs `synthscope audit CORPUS --by domain -q -o OUT`
in a child process twice, with and without `--no-examples`, and prints the wall time, the peak RSS of the
child, the size of every report file, the bytes of the `examples` fields in report.json, how many sources
carry examples, and how many evidence sections report.html and report.md hold. The reports' limits
(issue 11): report.html at most 5 MB at 50,000 sources; report.json compact for tiny sources.

    python benchmarks/evidence_scale.py [--docs 200000] [--domains 20000 50000] [-- AUDIT OPTIONS]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _record import recorded  # noqa: E402
from throughput import corpus, mib, run_measured  # noqa: E402


def audit(folder: Path, out: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "synthscope.cli", "audit", str(folder), "--by", "domain", "-q", "-o", str(out), *extra]
    seconds, peak, _ = run_measured(cmd)
    report = json.loads((out / "report.json").read_text())
    sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
    page = (out / "report.html").read_text(encoding="utf-8") if (out / "report.html").exists() else ""
    markdown = (out / "report.md").read_text(encoding="utf-8") if (out / "report.md").exists() else ""
    with_examples = [s for s in report["sources"] if "examples" in s]
    return {
        "seconds": seconds,
        "peak": peak,
        "sizes": sizes,
        "sources": len(report["sources"]),
        "with_examples": len(with_examples),
        "examples_bytes": sum(len(json.dumps(s["examples"], ensure_ascii=False).encode()) for s in with_examples),
        "html_sections": page.count('<details id="evidence-'),
        "md_blocks": markdown.count("<details><summary>Evidence: "),
        "examples_seconds": report["timings"]["analyzers"].get("examples", {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--domains", type=int, nargs="+", default=[20_000, 50_000])
    parser.add_argument("--workdir", type=Path, default=HERE / "out")
    parser.add_argument("extra", nargs="*", help="options passed to synthscope audit (after --)")
    args = parser.parse_args()
    with recorded("evidence_scale"):
        print(f"{args.docs:,} web-like documents; audit --by domain {' '.join(args.extra)}; each corpus with and without --no-examples")
        print("| sources | examples | wall s | peak RSS | report.json MiB | examples in json MiB | sources with examples | report.html MiB | html sections | report.md MiB | md blocks | examples map+finalize s |")
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for domains in args.domains:
            folder = corpus(args.docs, domains, args.workdir)
            for label, flags in (("on", []), ("off", ["--no-examples"])):
                r = audit(folder, args.workdir / f"evidence-d{domains}-{label}", [*flags, *args.extra])
                ex = r["examples_seconds"]
                ex_s = f"{ex.get('map_seconds', 0.0) + ex.get('finalize_seconds', 0.0):.1f}" if ex else "—"
                print(
                    f"| {r['sources']:,} | {label} | {r['seconds']:.0f} | {r['peak']:,.0f} MiB | {mib(r['sizes'].get('report.json', 0))} | "
                    f"{mib(r['examples_bytes'])} | {r['with_examples']:,} | {mib(r['sizes'].get('report.html', 0))} | {r['html_sections']} | "
                    f"{mib(r['sizes'].get('report.md', 0))} | {r['md_blocks']} | {ex_s} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
