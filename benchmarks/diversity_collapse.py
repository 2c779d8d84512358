"""Model collapse, simulated honestly, seen through the diversity analyzer; and the analyzer's cost.

1. Collapse: fit a word n-gram model (default trigram; maximum likelihood, no smoothing, optionally nucleus-truncated) on the human documents of
   ../shared/data/detect_dev.jsonl.gz, sample a corpus of the same size from it, refit on that sample,
   and repeat for several generations. Every generation becomes one source of one JSONL file, which is
   audited by the real pipeline (`run_audit`) under several sampling seeds. Prints each metric per
   generation (mean over seeds), its total relative change, whether it moved in the expected direction
   at every generation, and its sensitivity: the generation-0 -> generation-1 change divided by the
   seed-to-seed standard deviation (how many noise units one generation of collapse moves it).
2. Cost: the diversity analyzer's share of audit time (map + finalize seconds from report["timings"])
   on sample_data/web_corpus.parquet and on a 100k-document corpus (built like benchmarks/audit_memory.py),
   with the total of a peer run without the analyzer (--no-diversity) in the same process; once more
   with two worker processes (the map runs in a pool; finalize stays in the main process).

    python benchmarks/diversity_collapse.py [--generations 6] [--seeds 3] [--cost-docs 100000] [--skip-cost]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthscope.pipeline import AuditConfig, run_audit
from synthscope.text import prepare

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEV = REPO.parent / "shared" / "data" / "detect_dev.jsonl.gz"
BOS, EOS = 0, 1
MAX_LEN = 1_000

# expected direction under collapse: -1 falls, +1 rises, 0 no expectation
EXPECTED = {
    "ttr": -1, "mattr": -1, "mtld": -1, "distinct_1": -1, "distinct_2": -1, "distinct_3": -1,
    "unigram_entropy": -1, "bigram_entropy": -1, "hapax_share": -1, "tail_mass": -1,
    "embedding_cosine_distance": -1, "vendi_score": -1, "self_bleu": 1, "compression_ratio": 1, "zipf_exponent": 0,
}


class NgramModel:
    """Maximum-likelihood word n-gram model over token ids, sampled for many documents at once."""

    def __init__(self, docs: list[np.ndarray], vocab_size: int, top_p: float = 1.0, order: int = 3) -> None:
        self.v = vocab_size
        self.order = order
        if vocab_size ** order >= 2**63:
            raise ValueError("vocabulary too large for this order")
        seqs = [np.r_[[BOS] * (order - 1), d, EOS] for d in docs]
        key = np.zeros(sum(len(q) - order + 1 for q in seqs), dtype=np.int64)
        for j in range(order - 1):  # context = the previous order-1 tokens
            key = key * self.v + np.concatenate([q[j : len(q) - order + 1 + j] for q in seqs])
        nxt = np.concatenate([q[order - 1 :] for q in seqs])
        triple = key * self.v + nxt
        uniq, counts = np.unique(triple, return_counts=True)  # sorted by context, then next token
        ctx = uniq // self.v
        if top_p < 1.0:  # nucleus: per context keep the most likely continuations covering top_p
            order_idx = np.lexsort((-counts, ctx))
            uniq, counts, ctx = uniq[order_idx], counts[order_idx], ctx[order_idx]
            starts = np.flatnonzero(np.r_[True, ctx[1:] != ctx[:-1]])
            sizes = np.diff(np.r_[starts, ctx.size])
            cum = np.cumsum(counts)
            base = np.repeat(np.r_[0, cum][starts], sizes)
            totals = np.repeat(np.r_[cum[starts[1:] - 1], cum[-1]] - np.r_[0, cum][starts], sizes)
            keep = (cum - counts - base) < top_p * totals
            uniq, counts, ctx = uniq[keep], counts[keep], ctx[keep]
        self.next = (uniq % self.v).astype(np.int64)
        self.cum = np.cumsum(counts).astype(np.float64)
        starts = np.flatnonzero(np.r_[True, ctx[1:] != ctx[:-1]])
        self.contexts = ctx[starts]
        self.before = np.r_[0.0, self.cum][starts]
        self.total = np.r_[self.cum[starts[1:] - 1], self.cum[-1]] - self.before

    def sample(self, n_docs: int, rng: np.random.Generator) -> list[np.ndarray]:
        """n_docs documents, each drawn token by token until the end token (at most MAX_LEN tokens)."""
        context = np.zeros(n_docs, dtype=np.int64)  # all-BOS context (BOS == 0)
        width = np.int64(self.v ** (self.order - 2))
        out = np.full((n_docs, MAX_LEN), -1, dtype=np.int64)
        alive = np.ones(n_docs, dtype=bool)
        for step in range(MAX_LEN):
            idx = np.flatnonzero(alive)
            if idx.size == 0:
                break
            ctx = np.searchsorted(self.contexts, context[idx])
            target = self.before[ctx] + rng.random(idx.size) * self.total[ctx]
            nxt = self.next[np.minimum(np.searchsorted(self.cum, target, side="right"), self.cum.size - 1)]
            ended = nxt == EOS
            out[idx[~ended], step] = nxt[~ended]
            alive[idx[ended]] = False
            context[idx] = (context[idx] % width) * self.v + nxt
        return [row[row >= 0] for row in out]


def human_documents() -> list[list[str]]:
    frame = pl.read_ndjson(DEV).filter(pl.col("label") == "human").select("id", "text")
    return [t for t in prepare(frame)["tokens"].to_list() if t]


def simulate(generations: int, seed: int, top_p: float, order: int) -> list[list[list[str]]]:
    """Token lists of generation 0 (human) .. generations-1 (each sampled from a fit on the previous)."""
    human = human_documents()
    vocab = ["<s>", "</s>", *sorted({t for d in human for t in d})]
    index = {w: i for i, w in enumerate(vocab)}
    words = np.array(vocab, dtype=object)
    current = [np.array([index[t] for t in d], dtype=np.int64) for d in human]
    rng = np.random.default_rng(seed)
    out = [human]
    for _ in range(1, generations):
        model = NgramModel(current, len(vocab), top_p, order)
        current = [d for d in model.sample(len(human), rng) if d.size]
        out.append([list(words[d]) for d in current])
    return out


def write_generations(gens: list[list[list[str]]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for g, docs in enumerate(gens):
            for i, d in enumerate(docs):
                fh.write(json.dumps({"id": f"g{g}-{i}", "source": f"gen{g}", "text": " ".join(d)}) + "\n")
    return path


def collapse(args: argparse.Namespace, top_p: float) -> None:
    started = time.perf_counter()
    gens = simulate(args.generations, seed=0, top_p=top_p, order=args.order)
    corpus = write_generations(gens, args.workdir / "collapse" / f"generations-o{args.order}-p{top_p}.jsonl")
    regime = "ancestral sampling (top-p 1.0)" if top_p >= 1 else f"nucleus sampling (top-p {top_p})"
    print(f"\n== word {args.order}-gram model, {regime} ==")
    print(f"simulated {args.generations} generations of {len(gens[0]):,} documents in {time.perf_counter() - started:.1f} s; "
          f"tokens per generation: {', '.join(f'{sum(map(len, g)):,}' for g in gens)}")
    runs: list[dict[str, dict[str, Any]]] = []
    for seed in range(1, args.seeds + 1):
        report = run_audit([str(corpus)], AuditConfig(id_column="id", by="source", seed=seed))
        runs.append({s["source"]: s["diversity"] for s in report["sources"]})
    sources = [f"gen{g}" for g in range(args.generations)]
    first = runs[0][sources[0]]
    print(f"audit: budget {first['budget_tokens']:,} tokens, {first['budget_documents']} documents per source, "
          f"seeds 1..{args.seeds}, embedder {first['embedder']}")
    header = (f"{'metric':<26}" + "".join(f"{s:>9}" for s in sources)
              + f"{'g0->g1':>8}{'g1->gN':>8}{'dir g1->gN':>11}{'sens.':>7}")
    print(header)
    ranking = []
    last = args.generations - 1
    for metric, direction in EXPECTED.items():
        values = np.array([[run[s][metric] for s in sources] for run in runs], dtype=float)  # seeds x gens
        mean = values.mean(axis=0)
        noise = float(np.sqrt(values.var(axis=0, ddof=1).mean())) if args.seeds > 1 else float("nan")
        steps = np.sign(np.diff(mean[1:]))
        ok = "—" if direction == 0 else ("yes" if np.all(steps == direction) else f"{int((steps == direction).sum())}/{steps.size}")
        human_step = (mean[1] - mean[0]) / abs(mean[0])
        chain = (mean[-1] - mean[1]) / abs(mean[1])
        # signed per-generation change along the model-to-model chain, in seed-to-seed sd units
        sens = (mean[-1] - mean[1]) / (last - 1) / noise * (direction or 1) if noise > 0 else float("inf")
        ranking.append((sens, metric))
        print(f"{metric:<26}" + "".join(f"{v:>9.4f}" for v in mean) + f"{human_step:>+8.1%}{chain:>+8.1%}{ok:>11}{sens:>7.1f}")
    ranking.sort(reverse=True)
    print("most sensitive (expected-direction change per generation, gen1..genN, in seed-to-seed sd): "
          + ", ".join(f"{m} {s:.1f}" for s, m in ranking[:6]))
    print("least sensitive: " + ", ".join(f"{m} {s:.1f}" for s, m in ranking[-5:]))


def _share(report: dict[str, Any]) -> tuple[float, float, float]:
    t = report["timings"]
    d = t["analyzers"]["diversity"]
    div = d["map_seconds"] + d["finalize_seconds"]
    return t["total_seconds"], div, d["finalize_seconds"]


def cost_line(name: str, paths: list[str], config: dict[str, Any]) -> None:
    without = run_audit(paths, AuditConfig(**config, diversity=False))["timings"]["total_seconds"]
    report = run_audit(paths, AuditConfig(**config))
    total, div, fin = _share(report)
    print(f"{name:<34} {report['totals']['analysed']:>9,} {len(report['sources']):>8} {total:>8.1f} {div:>10.2f} "
          f"{fin:>9.2f} {div / total:>7.1%} {without:>12.1f} {total / without:>7.2f}", flush=True)


def cost(args: argparse.Namespace) -> None:
    print(f"{'corpus':<34} {'docs':>9} {'sources':>8} {'total s':>8} {'diversity':>10} {'finalize':>9} {'share':>7} "
          f"{'no-div total':>12} {'ratio':>7}")
    sample = [str(REPO / "sample_data" / "web_corpus.parquet")]
    run_audit(sample, AuditConfig(by="domain"))  # warm-up: imports, profiles, caches are not the analyzer's cost
    cost_line("sample_data/web_corpus.parquet", sample, {"by": "domain"})
    spec = importlib.util.spec_from_file_location("audit_memory", HERE / "audit_memory.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = module.make_corpus(args.cost_docs, args.workdir / f"corpus-{args.cost_docs}")
    cost_line(f"{args.cost_docs:,} documents (50 domains)", [str(folder)], {"by": "domain"})
    cost_line(f"{args.cost_docs:,} documents, --workers 2", [str(folder)], {"by": "domain", "workers": 2})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generations", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cost-docs", type=int, default=100_000)
    parser.add_argument("--top-p", type=float, nargs="+", default=[1.0, 0.9, 0.7], help="sampling regimes to simulate")
    parser.add_argument("--order", type=int, default=3, help="n-gram order of the generative model")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--skip-collapse", action="store_true")
    parser.add_argument("--workdir", type=Path, default=HERE / "out")
    args = parser.parse_args()
    if not args.skip_collapse:
        for top_p in args.top_p:
            collapse(args, top_p)
    if not args.skip_cost:
        cost(args)


if __name__ == "__main__":
    main()
