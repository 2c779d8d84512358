"""Labelled documents of ../shared/data (detect_dev + detect_train), deduplicated, with cached features.

- One table of every document: id, text, label (human / machine / revised), dataset (`fastdetect` for
  detect_dev), domain, genre (domains of the same kind across datasets, e.g. xsum and l2r news are
  `news`), generator, family (gpt, claude, gemini, llama, mistral, qwen, deepseek, t5, old-base), task,
  and `cluster`: documents that must stay on one side of any split (a `pair`, joined with every pair
  that shares text with it across the two files).
- Deduplication: ImBD's human texts come from the same pools as detect_dev's, cut differently. Two
  documents sharing at least 3 word 8-grams are the same text: their pairs are merged into one cluster
  and the detect_train copy of a human text is dropped.
- Features per document (the detect features, word counts, any extra family) are computed once and
  cached as Parquet under benchmarks/out/ (keyed by the data files' sizes and the feature code's hash).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

from synthscope.detect.features import compute_features
from synthscope.detect.skeleton import skeleton_tokens
from synthscope.detect.skeleton_model import GramMatrix
from synthscope.detect.topics import topic_vectors
from synthscope.text import N_TOKENS, prepare

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "out"

GENRES = {
    "xsum": "news", "news": "news", "writing": "stories", "literature": "stories", "pubmed": "medical",
    "medical": "medical", "squad": "wiki", "student_essay": "essays", "academic": "academic",
    "product_review": "reviews", "online_content": "blogs",
}
OLD_BASE = ("gpt2-xl", "gpt-neo-2.7B", "gpt-j-6B", "gpt-neox-20b", "opt-2.7b")


def family(generator: pl.Expr) -> pl.Expr:
    """Generator family (vendor / model line) of a generator name."""
    g = generator.str.to_lowercase()
    return (
        pl.when(generator.is_in(OLD_BASE)).then(pl.lit("old-base"))
        .when(g.str.contains("gpt|davinci")).then(pl.lit("gpt"))
        .when(g.str.contains("claude")).then(pl.lit("claude"))
        .when(g.str.contains("gemini")).then(pl.lit("gemini"))
        .when(g.str.contains("llama")).then(pl.lit("llama"))
        .when(g.str.contains("mistral")).then(pl.lit("mistral"))
        .when(g.str.contains("qwen")).then(pl.lit("qwen"))
        .when(g.str.contains("deepseek")).then(pl.lit("deepseek"))
        .when(g.str.contains("t5")).then(pl.lit("t5"))
        .otherwise(pl.lit("human"))
    )


def _shingles(frame: pl.DataFrame, n: int = 8) -> pl.DataFrame:
    """(row, hash of a word n-gram) for every n-gram of every document."""
    tokens = prepare(frame.select("text"))["tokens"]
    words = pl.DataFrame({"row": np.arange(frame.height), "tok": tokens}).explode("tok").drop_nulls()
    words = words.with_columns(pl.col("tok").hash(seed=1).alias("h"))
    gram = pl.col("h")
    for k in range(1, n):
        gram = gram * 1_000_003 + pl.col("h").shift(-k).over("row")
    return words.select("row", gram.alias("g")).drop_nulls().unique()


def _clusters(links: list[tuple[str, str]], pairs: list[str]) -> dict[str, str]:
    """Union-find over pair ids: each pair's cluster representative."""
    parent = {p: p for p in pairs}

    def find(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {p: find(p) for p in pairs}


def load_documents() -> pl.DataFrame:
    """Every labelled document of both files, deduplicated, with genre, family and cluster."""
    cache = OUT / "documents.parquet"
    files = [DATA / "detect_dev.jsonl.gz", DATA / "detect_train.jsonl.gz"]
    key = "-".join(str(f.stat().st_size) for f in files)
    if cache.exists() and pl.read_parquet_schema(cache) and pl.read_parquet(cache, n_rows=1)["cache_key"][0] == key:
        return pl.read_parquet(cache).drop("cache_key")
    dev = pl.read_ndjson(files[0]).with_columns(pl.lit("fastdetect").alias("dataset"), pl.lit("continuation").alias("task"),
                                                pl.format("dev-{}", pl.col("pair").cast(pl.String)).alias("pair"))
    dev = dev.with_columns(pl.when(pl.col("label") == "human").then(pl.lit("original")).otherwise(pl.col("task")).alias("task"))
    train = pl.read_ndjson(files[1]).with_columns(pl.format("train-{}", pl.col("pair").cast(pl.String)).alias("pair"))
    cols = ["id", "text", "label", "dataset", "domain", "generator", "task", "pair"]
    docs = pl.concat([dev.select(cols), train.select(cols)]).with_row_index("row")
    # duplicates across (and within) the files: shared word 8-grams link pairs into clusters
    sh = _shingles(docs)
    shared = sh.join(sh, on="g").filter(pl.col("row") < pl.col("row_right")).group_by("row", "row_right").len().filter(pl.col("len") >= 3)
    pair = docs["pair"].to_numpy()
    links = [(pair[a], pair[b]) for a, b in shared.select("row", "row_right").iter_rows()]
    cluster = _clusters(links, sorted(set(pair)))
    is_dev = (docs["dataset"] == "fastdetect").to_numpy()
    human = (docs["label"] == "human").to_numpy()
    drop = set()
    for a, b in shared.select("row", "row_right").iter_rows():  # the detect_train copy of a human text shared with detect_dev
        if human[a] and human[b] and is_dev[a] != is_dev[b]:
            drop.add(b if is_dev[a] else a)
    docs = docs.with_columns(
        pl.Series("cluster", [cluster[p] for p in pair]),
        pl.col("domain").replace_strict(GENRES, default=pl.col("domain")).alias("genre"),
        family(pl.col("generator")).alias("family"),
    ).filter(~pl.col("row").is_in(sorted(drop))).drop("row")
    OUT.mkdir(parents=True, exist_ok=True)
    docs.with_columns(pl.lit(key).alias("cache_key")).write_parquet(cache)
    print(f"documents: {docs.height:,} after dropping {len(drop):,} duplicated human texts; {len(links):,} duplicate links")
    return docs


def base_features(batch: pl.DataFrame) -> pl.DataFrame:
    return compute_features(batch).with_columns(batch[N_TOKENS].cast(pl.Float64).alias("_n_words"))


def cached_features(docs: pl.DataFrame, name: str, compute: Callable[[pl.DataFrame], pl.DataFrame], batch: int = 4000) -> pl.DataFrame:
    """compute(prepared batch) for every document, cached in benchmarks/out/<name>-<code hash>.parquet."""
    code = hashlib.sha1(inspect.getsource(compute).encode() + str(docs.height).encode()).hexdigest()[:10]
    path = OUT / f"features-{name}-{code}.parquet"
    if path.exists():
        return pl.read_parquet(path)
    parts = [compute(prepare(docs.slice(start, batch).select("text"))) for start in range(0, docs.height, batch)]
    out = pl.concat(parts, how="vertical_relaxed")
    OUT.mkdir(parents=True, exist_ok=True)
    out.write_parquet(path)
    return out


def gram_matrix(docs: pl.DataFrame, batch: int = 4000) -> GramMatrix:
    """Skeleton n-gram rates of every document (every n-gram of orders 1-4), cached."""
    path = OUT / f"skeleton-{docs.height}.npz"
    if path.exists():
        z = np.load(path)
        rates = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        return GramMatrix(rates, z["grams"], z["n_tokens"])
    out = GramMatrix.stack([GramMatrix.of(skeleton_tokens(docs.slice(s, batch).select("text"))) for s in range(0, docs.height, batch)])
    rates = out.rates
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(path, data=rates.data, indices=rates.indices, indptr=rates.indptr, shape=np.array(rates.shape), grams=out.grams, n_tokens=out.n_tokens)
    return out


def topics(docs: pl.DataFrame, batch: int = 4000) -> np.ndarray:
    """Topic vectors (detect/topics.py) of every document, cached."""
    path = OUT / f"topic-vectors-{docs.height}.npy"
    if path.exists():
        return np.load(path)
    out = np.concatenate([topic_vectors(prepare(docs.slice(s, batch).select("text"))) for s in range(0, docs.height, batch)])
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out
