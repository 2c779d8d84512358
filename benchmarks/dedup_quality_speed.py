"""Dedup benchmarks: quality vs brute-force Jaccard, signature speed vs datasketch, peak memory.

    python benchmarks/dedup_quality_speed.py quality [--base 2000 --copies 1200 --threshold 0.8]
    python benchmarks/dedup_quality_speed.py speed   [--docs 3000]
    python benchmarks/dedup_quality_speed.py memory  [--sizes 100000 1000000 --workdir benchmarks/out]

quality: real documents from ../shared/data plus near copies made by random word replacements at
rates from 0 (exact copies) to 0.5; each document's best partner by exact Jaccard of its shingle
sets (sparse matrix product). Recall over documents whose best partner has J >= t + 0.05, precision
over documents flagged whose best partner is outside the gray band (t - 0.05, t + 0.05). Compared
with datasketch's MinHashLSH(threshold=t) over the same signatures (a document is flagged when a
query returns another document).
speed: one core (polars and arrow limited to one thread); our signatures from the prepared token
column vs datasketch `MinHash.bulk` over the same shingles.
memory: `synthscope dedup` in a child process on generated corpora (word-list documents with 5%
near copies); prints peak RSS, time and the largest/smallest peak ratio.
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402

HERE = Path(__file__).resolve().parent
DEV = HERE.parent.parent / "shared" / "data" / "detect_dev.jsonl.gz"


def dev_texts() -> list[str]:
    return pl.read_ndjson(DEV)["text"].unique(maintain_order=True).to_list()


# ------------------------------------------------------------------------------------------ quality


def make_quality_corpus(base: int, copies: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = dev_texts()
    originals = [texts[int(i)] for i in rng.choice(len(texts), base, replace=False)]
    vocabulary = " ".join(originals).split()
    out = list(originals)
    for k in range(copies):
        words = originals[int(rng.integers(base))].split(" ")
        rate = [0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3, 0.5][k % 11]
        hit = rng.random(len(words)) < rate
        for i in np.flatnonzero(hit):
            words[i] = vocabulary[int(rng.integers(len(vocabulary)))]
        out.append(" ".join(words))
    order = rng.permutation(len(out))
    return [out[int(i)] for i in order]


def best_partner_jaccard(texts: list[str], ngram: int) -> np.ndarray:
    """Exact Jaccard of each document's shingle set with its most similar other document."""
    from scipy import sparse

    from synthscope.dedup import shingles

    ids: dict[bytes, int] = {}
    rows, cols = [], []
    for d, text in enumerate(texts):
        for s in set(shingles(text, ngram)):
            rows.append(d)
            cols.append(ids.setdefault(s, len(ids)))
    x = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(texts), len(ids)))
    inter = (x @ x.T).toarray()
    sizes = np.asarray(x.sum(axis=1)).ravel()
    union = sizes[:, None] + sizes[None, :] - inter
    jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    np.fill_diagonal(jac, -1.0)
    return jac.max(axis=1)


def score(flagged: np.ndarray, best: np.ndarray, t: float) -> tuple[float, float, int, int]:
    pos = best >= t + 0.05
    neg = best < t - 0.05
    recall = flagged[pos].mean()
    judged = flagged & (pos | neg)
    precision = (flagged & pos).sum() / max(judged.sum(), 1)
    return float(recall), float(precision), int(pos.sum()), int(neg.sum())


def quality(args: argparse.Namespace) -> None:
    from datasketch import MinHashLSH

    from synthscope.analyzer import FinalizeContext
    from synthscope.dedup import to_datasketch
    from synthscope.dedup.analyzer import DedupAnalyzer, DedupOptions
    from synthscope.dedup.minhash import minhash_signatures
    from synthscope.text import prepare

    texts = make_quality_corpus(args.base, args.copies, args.seed)
    t0 = time.perf_counter()
    best = best_partner_jaccard(texts, 5)
    print(f"{len(texts):,} documents; brute-force Jaccard in {time.perf_counter() - t0:.1f}s")
    frame = prepare(pl.DataFrame({"doc_id": [str(i) for i in range(len(texts))], "source": "s", "text": texts, "file": "f", "_row": np.arange(len(texts))}))
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for verify in (True, False):
            analyzer = DedupAnalyzer(Path(work) / str(verify), DedupOptions(threshold=args.threshold, verify=verify))
            state = analyzer.empty()
            for lo in range(0, frame.height, 1000):
                state = analyzer.merge(state, analyzer.map(frame.slice(lo, 1000)))
            docs, _ = analyzer.cluster(state)
            flagged = docs.sort("idx")["is_duplicate"].to_numpy()
            rows.append((f"synthscope ({analyzer.bands}x{analyzer.rows}, verify={verify})", *score(flagged, best, args.threshold)))
        analyzer.finalize(state, FinalizeContext(workdir=Path(work)))
    sig = minhash_signatures(texts, num_perm=128)
    lsh = MinHashLSH(threshold=args.threshold, num_perm=128)
    sketches = [to_datasketch(r) for r in sig]
    for i, m in enumerate(sketches):
        lsh.insert(i, m)
    flagged = np.array([len(lsh.query(m)) > 1 for m in sketches])
    rows.append((f"datasketch MinHashLSH ({lsh.b}x{lsh.r})", *score(flagged, best, args.threshold)))
    print(f"threshold {args.threshold}; positives (J >= {args.threshold + 0.05:.2f}): {rows[0][3]:,}; negatives (J < {args.threshold - 0.05:.2f}): {rows[0][4]:,}")
    print(f"{'method':<42} {'recall':>7} {'precision':>9}")
    for name, recall, precision, _, _ in rows:
        print(f"{name:<42} {recall:>7.4f} {precision:>9.4f}")


# -------------------------------------------------------------------------------------------- speed


def speed(args: argparse.Namespace) -> None:
    import xxhash
    from datasketch import MinHash

    from synthscope.dedup import shingle_hash, shingles
    from synthscope.dedup.hashing import batch_shingle_hashes
    from synthscope.dedup.minhash import signatures_from_hashes
    from synthscope.text import prepare

    pa.set_cpu_count(1)
    texts = pl.read_ndjson(DEV)["text"].to_list()[: args.docs]
    frame = prepare(pl.DataFrame({"text": texts}))
    tokens = frame["tokens"].to_arrow()
    lists = [shingles(t) for t in texts]
    n = len(texts)

    def ours() -> np.ndarray:
        hashes, per_doc = batch_shingle_hashes(tokens, 5)
        return signatures_from_hashes(hashes, per_doc, 128, 1)

    def best_of(fn, repeat: int = 3) -> float:  # noqa: ANN001
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    ours()
    t_ours = best_of(ours)
    t_prep = best_of(lambda: prepare(pl.DataFrame({"text": texts})))
    t_fast = best_of(lambda: MinHash.bulk(lists, num_perm=128, hashfunc=xxhash.xxh32_intdigest))
    t_same = best_of(lambda: MinHash.bulk(lists, num_perm=128, hashfunc=shingle_hash), repeat=1)
    print(f"{n:,} documents, {sum(map(len, lists)):,} shingles, num_perm=128, one core")
    print(f"synthscope signatures (from prepared tokens):     {n / t_ours:>9,.0f} docs/s")
    print(f"synthscope incl. normalise + tokenise:            {n / (t_ours + t_prep):>9,.0f} docs/s")
    print(f"datasketch MinHash.bulk, hashfunc=xxh32_intdigest: {n / t_fast:>9,.0f} docs/s")
    print(f"datasketch MinHash.bulk, hashfunc=shingle_hash:    {n / t_same:>9,.0f} docs/s  (bit-identical output)")
    print(f"speed-up vs datasketch (xxh32):   {t_fast / t_ours:.2f}x  (incl. tokenising: {t_fast / (t_ours + t_prep):.2f}x)")
    print(f"speed-up vs datasketch (same hash): {t_same / t_ours:.2f}x")


# ------------------------------------------------------------------------------------------- memory

SHARD = 100_000


def make_word_corpus(n_docs: int, folder: Path, seed: int = 0, words_per_doc: int = 60) -> Path:
    """Word-list documents (Zipf-ish draws from the dev vocabulary) with 5% near copies, in shards."""
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.parquet"))) == -(-n_docs // SHARD):
        return folder
    vocab = pl.Series(sorted(set(" ".join(dev_texts()[:3000]).lower().split())))
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    for shard, start in enumerate(range(0, n_docs, SHARD)):
        n = min(SHARD, n_docs - start)
        idx = rng.choice(len(vocab), size=(n, words_per_doc), p=weights)
        copies = rng.random(n) < 0.05
        src = rng.integers(0, n, n)
        idx[copies] = idx[src[copies]]
        edit_col = rng.integers(0, words_per_doc, n)
        idx[copies, edit_col[copies]] = rng.integers(0, len(vocab), copies.sum())
        flat = vocab.gather(idx.ravel())
        docs = pl.DataFrame({"w": flat, "d": np.repeat(np.arange(n), words_per_doc)}).group_by("d", maintain_order=True).agg(pl.col("w").str.join(" "))
        frame = docs.select(
            pl.format("https://site{}.org/{}", (pl.col("d") + start) % 50, pl.col("d") + start).alias("url"), pl.col("w").alias("text")
        )
        frame.write_parquet(folder / f"shard-{shard:04d}.parquet", row_group_size=20_000)
    return folder


def memory(args: argparse.Namespace) -> None:
    peaks = []
    print(f"{'documents':>10} {'peak RSS MiB':>13} {'seconds':>8} {'docs/s':>8}  output")
    for n in args.sizes:
        corpus = make_word_corpus(n, args.workdir / f"dedup-corpus-{n}")
        out = args.workdir / f"dedup-out-{n}"
        cmd = [sys.executable, "-m", "synthscope.cli", "dedup", str(corpus), "--by", "domain", "-q", "-o", str(out)]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        stdout = proc.stdout.read() if proc.stdout else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"dedup failed on {corpus}")
        peak = usage.ru_maxrss / 1024
        peaks.append(peak)
        print(f"{n:>10,} {peak:>13.0f} {seconds:>8.1f} {n / seconds:>8,.0f}  {stdout.splitlines()[0] if stdout else ''}", flush=True)
    if len(peaks) > 1:
        print(f"peak RSS ratio, {args.sizes[-1]:,} vs {args.sizes[0]:,} documents: {peaks[-1] / peaks[0]:.2f} "
              f"(corpus {args.sizes[-1] / args.sizes[0]:.0f}x larger)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--base", type=int, default=2000)
    q.add_argument("--copies", type=int, default=1200)
    q.add_argument("--threshold", type=float, default=0.8)
    q.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("speed")
    s.add_argument("--docs", type=int, default=3000)
    m = sub.add_parser("memory")
    m.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    m.add_argument("--workdir", type=Path, default=HERE / "out")
    args = parser.parse_args()
    {"quality": quality, "speed": speed, "memory": memory}[args.what](args)


if __name__ == "__main__":
    main()
