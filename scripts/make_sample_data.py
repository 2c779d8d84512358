"""Build sample_data/ from ../shared/data/detect_dev.jsonl.gz: a small web-scrape-like corpus.

Seven sources (URL domains), each with a known share of machine-written documents, exact and near
duplicates planted, written as Parquet and as JSON Lines (gzip), plus MANIFEST.json with the truth.
Deterministic: the same input gives byte-identical Parquet/JSONL content.

    python scripts/make_sample_data.py [--data ../shared/data/detect_dev.jsonl.gz] [--out sample_data]
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
import polars as pl

MODERN = ("davinci", "gpt-3.5-turbo", "gpt-4")
# (domain name, dev domains it draws from, documents before duplicates, synthetic share, subdomains)
SOURCES = [
    ("dailynews.co.uk", ("xsum",), 190, 0.0, ("www", "news")),
    ("storyhub.net", ("writing",), 190, 0.1, ("www", "stories")),
    ("medanswers.org", ("pubmed",), 60, 0.3, ("www", "qa")),
    ("wikimirror.info", ("squad",), 140, 0.0, ("en", "www")),
    ("newswire.com", ("xsum",), 190, 0.5, ("www",)),
    ("contentfarm.biz", ("writing", "xsum"), 190, 0.8, ("blog", "www")),
    ("aiwriter.io", ("writing", "xsum", "pubmed"), 140, 1.0, ("app",)),
]
EXACT_COPIES = 3  # planted per source, copied from the source itself or from another source
NEAR_COPIES = 3
SEED = 20261125


def near_copy(text: str, rng: np.random.Generator, edits: int = 3) -> str:
    """A near duplicate: a few words replaced or dropped (Jaccard of 5-shingles stays high)."""
    words = text.split(" ")
    for _ in range(edits):
        i = int(rng.integers(len(words)))
        if rng.random() < 0.5:
            words[i] = words[i].upper()
        else:
            words.pop(i)
    return " ".join(words)


def build(data_path: Path) -> tuple[pl.DataFrame, list[dict[str, object]]]:
    """Return the corpus and the manifest rows."""
    dev = pl.read_ndjson(data_path)
    rng = np.random.default_rng(SEED)
    human = dev.filter(pl.col("label") == "human")
    machine = dev.filter((pl.col("label") == "machine") & pl.col("generator").is_in(MODERN))
    used: set[str] = set()
    used_pairs: set[str] = set()
    rows: list[dict[str, object]] = []
    manifest: list[dict[str, object]] = []

    def take(pool: pl.DataFrame, domains: tuple[str, ...], n: int) -> list[dict[str, object]]:
        if n == 0:
            return []
        candidates = pool.filter(pl.col("domain").is_in(domains)).sort("id")
        order = rng.permutation(candidates.height)
        picked = []
        for i in order:
            row = candidates.row(int(i), named=True)
            # one side of a pair only, so a source never holds a text and its own continuation
            if row["id"] in used or row["pair"] in used_pairs:
                continue
            used.add(row["id"])
            used_pairs.add(row["pair"])
            picked.append(row)
            if len(picked) == n:
                return picked
        raise SystemExit(f"not enough documents in {domains} for {n}")

    for name, domains, n_docs, share, subdomains in SOURCES:
        n_machine = round(n_docs * share)
        used_pairs.clear()
        docs = take(machine, domains, n_machine) + take(human, domains, n_docs - n_machine)
        order = rng.permutation(len(docs))
        docs = [docs[int(i)] for i in order]
        for k, d in enumerate(docs):
            sub = subdomains[k % len(subdomains)]
            rows.append({"source": name, "url": f"https://{sub}.{name}/{d['domain']}/{k:04d}", "text": d["text"],
                         "label": d["label"], "generator": d["generator"], "origin_id": d["id"]})
    corpus = rows[:]
    # Plant duplicates: copies of documents of this source or (every third) of another source.
    names = [s[0] for s in SOURCES]
    for si, name in enumerate(names):
        own = [r for r in rows if r["source"] == name]
        other = [r for r in rows if r["source"] == names[(si + 1) % len(names)]]
        for j in range(EXACT_COPIES):
            src = (other if j == 2 else own)[int(rng.integers(len(own) if j != 2 else len(other)))]
            corpus.append({**src, "source": name, "url": f"https://www.{name}/copy/{j}"})
        for j in range(NEAR_COPIES):
            src = (other if j == 2 else own)[int(rng.integers(len(own) if j != 2 else len(other)))]
            corpus.append({**src, "source": name, "url": f"https://www.{name}/mirror/{j}",
                           "text": near_copy(str(src["text"]), rng)})
    frame = pl.DataFrame(corpus)
    frame = frame.with_columns(pl.Series("shuffle", rng.permutation(frame.height))).sort("shuffle").drop("shuffle")
    frame = frame.with_row_index("n").with_columns(
        pl.format("doc-{}", pl.col("n").cast(pl.String).str.zfill(5)).alias("id")
    )
    for name in names:
        part = frame.filter(pl.col("source") == name)
        manifest.append({
            "source": name,
            "documents": part.height,
            "synthetic_fraction": round(float((part["label"] == "machine").mean()), 4),
            "exact_duplicates": EXACT_COPIES,
            "near_duplicates": NEAR_COPIES,
        })
    return frame.select("id", "url", "text", "label", "generator"), manifest


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=here.parent / "shared" / "data" / "detect_dev.jsonl.gz")
    parser.add_argument("--out", type=Path, default=here / "sample_data")
    args = parser.parse_args()
    corpus, manifest = build(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    corpus.write_parquet(args.out / "web_corpus.parquet", compression="zstd", statistics=False)
    with gzip.GzipFile(args.out / "web_corpus.jsonl.gz", "wb", mtime=0) as handle:
        for row in corpus.iter_rows(named=True):
            handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
    notes = ("Built by scripts/make_sample_data.py from detect_dev.jsonl.gz (Fast-DetectGPT data files, MIT; "
             "drawn from XSum, WritingPrompts, PubMedQA, SQuAD). Machine documents come from davinci, "
             "gpt-3.5-turbo and gpt-4. documents and synthetic_fraction include the planted copies; "
             "exact_duplicates and near_duplicates count the copies planted in each source (one in three "
             "copies a document of the next source).")
    (args.out / "MANIFEST.json").write_text(json.dumps({"notes": notes, "sources": manifest}, indent=2) + "\n")
    print(f"wrote {corpus.height} documents in {len(manifest)} sources to {args.out}")


if __name__ == "__main__":
    main()
