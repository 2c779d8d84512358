"""What language identification costs an audit of English web text, and how accurate it is on short text.

Usage: python benchmarks/language_id.py [--docs N] [--batch-size B] [--repeats R] [--no-record]

1. Cost: an English web-like corpus of N documents (../shared/bench/make_web_corpus.py, real sentences
   of ../shared/data) is audited with the default analyzers in one process. Language identification is
   timed on the same texts in the same batches (what the audit runs per batch: bounded prefix, distinct
   prefixes, one native call), and the audit is run again with identification replaced by a constant, so
   the share is shown both ways: identification seconds / audit seconds, and the audit's own difference.
2. Accuracy: share of English documents of ../shared/data/detect_dev.jsonl.gz identified as English for
   prefixes of 40-200 characters; share of the test sentences (tests/multilingual_text.py, 8 languages)
   identified as their language. Other candidate libraries are measured too when installed (pycld2,
   py3langid; not dependencies of synthscope) for comparison, one call per document.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _record import recorded  # noqa: E402

import synthscope.pipeline as pipeline  # noqa: E402
from synthscope.language import PREFIX_CHARS, identify  # noqa: E402
from synthscope.pipeline import AuditConfig, run_audit  # noqa: E402

SHARED = ROOT.parent / "shared"


def make_corpus(n: int, folder: Path) -> list[Path]:
    subprocess.run([sys.executable, str(SHARED / "bench" / "make_web_corpus.py"), str(n), str(folder), "--domains", "200"], check=True)
    return sorted(folder.glob("*.parquet"))


def time_identification(files: list[Path], batch_size: int) -> tuple[float, int]:
    seconds, docs = 0.0, 0
    for path in files:
        texts = pl.read_parquet(path, columns=["text"])["text"]
        for start in range(0, texts.len(), batch_size):
            batch = texts.slice(start, batch_size)
            t0 = time.perf_counter()
            identify(batch)
            seconds += time.perf_counter() - t0
            docs += batch.len()
    return seconds, docs


def audit_seconds(files: list[Path], batch_size: int, with_language_id: bool) -> float:
    original = pipeline.identify
    if not with_language_id:
        pipeline.identify = lambda texts: pl.Series("language", ["und"] * texts.len(), dtype=pl.String)  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        run_audit([str(f) for f in files], AuditConfig(by="domain", batch_size=batch_size))
        return time.perf_counter() - t0
    finally:
        pipeline.identify = original


def english_texts(n: int) -> list[str]:
    out = []
    with gzip.open(SHARED / "data" / "detect_dev.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            out.append(json.loads(line)["text"])
            if len(out) == n:
                break
    return out


def candidates() -> dict[str, object]:
    """Per-document identifiers of other libraries, when installed (for comparison only)."""
    out: dict[str, object] = {}
    try:
        import pycld2

        def cld2(text: str) -> str:
            try:
                return pycld2.detect(text)[2][0][1]
            except pycld2.error:
                return "und"

        out["pycld2"] = cld2
    except ImportError:
        pass
    try:
        import py3langid

        out["py3langid"] = lambda text: py3langid.classify(text)[0]
    except ImportError:
        pass
    return out


def accuracy() -> None:
    from tests.multilingual_text import SENTENCES

    others = candidates()
    english = english_texts(3000)
    print(f"\nEnglish documents identified as 'en' ({len(english):,} detect_dev documents, by prefix length; fastText: "
          f"share 'en', and share of another language, i.e. neither 'en' nor 'und', which detect would leave out):")
    print(f"{'prefix':>8} {'fastText lid.176 (batch)':>26} {'other':>7} {'us/doc':>8}" + "".join(f" {name:>12} {'us/doc':>8}" for name in others))
    for chars in (40, 80, 120, 200):
        texts = [t[:chars] for t in english]
        t0 = time.perf_counter()
        found = identify(pl.Series(texts))
        ft = time.perf_counter() - t0
        other = float((~found.is_in(["en", "und"])).mean())
        line = f"{chars:>8} {float((found == 'en').mean()):>26.4f} {other:>7.4f} {1e6 * ft / len(texts):>8.1f}"
        for fn in others.values():
            t0 = time.perf_counter()
            share = sum(fn(t.replace("\n", " ")) == "en" for t in texts) / len(texts)  # type: ignore[operator]
            line += f" {share:>12.4f} {1e6 * (time.perf_counter() - t0) / len(texts):>8.1f}"
        print(line)
    print("\nTest sentences (tests/multilingual_text.py) identified as their language:")
    print(f"{'language':>8} {'sentences':>9} {'fastText':>9}" + "".join(f" {name:>10}" for name in others))
    for lang, sentences in SENTENCES.items():
        found = identify(pl.Series(sentences))
        line = f"{lang:>8} {len(sentences):>9} {float((found == lang).mean()):>9.3f}"
        for fn in others.values():
            line += f" {sum(fn(s) == lang for s in sentences) / len(sentences):>10.3f}"  # type: ignore[operator]
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with recorded("language_id"), tempfile.TemporaryDirectory() as tmp:
        files = make_corpus(args.docs, Path(tmp))
        lid_seconds, docs = time_identification(files, args.batch_size)
        audit_seconds(files, args.batch_size, True)  # warm-up: imports, model and word lists loaded once
        runs = [(audit_seconds(files, args.batch_size, True), audit_seconds(files, args.batch_size, False)) for _ in range(args.repeats)]
        with_lid, without = min(r[0] for r in runs), min(r[1] for r in runs)
        print(f"English web corpus: {docs:,} documents (make_web_corpus.py, 200 domains), batch size {args.batch_size:,}, "
              f"prefix {PREFIX_CHARS} characters, one process")
        print(f"language identification alone: {lid_seconds:.2f} s ({1e6 * lid_seconds / docs:.1f} us/document)")
        print(f"audit with language identification: {with_lid:.2f} s; with it replaced by a constant: {without:.2f} s "
              f"(best of {args.repeats} alternating runs after a warm-up)")
        print(f"language identification share of the audit: {100 * lid_seconds / with_lid:.1f}% (timed alone), "
              f"{100 * (with_lid - without) / with_lid:.1f}% (difference of the two audits; noisy)")
        accuracy()


if __name__ == "__main__":
    main()
