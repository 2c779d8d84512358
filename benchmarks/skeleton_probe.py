"""Held-out document AUROC of the skeleton n-gram model, alone and combined with the style score.

Same data and splits as detect_generalisation.py (genre, dataset, family; clusters kept on one side).
Per split: the style model (today's 22 features, sign-constrained) and the skeleton model are fitted on
the training side; printed: AUROC of style, skeleton and their average of z-scored logits at several
skeleton weights, per test genre pooled over the split.

    python benchmarks/skeleton_probe.py [--kinds genre family dataset] [--train-tasks generation|all] [--keep 3000] [--l2 1e-3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits
from _heldout_data import base_features, cached_features, gram_matrix, load_documents, topics as topic_table
from _record import recorded
from detect_generalisation import Corpus, auroc, labelled, splits

from synthscope.detect.calibrate import fit_model, group_weights, model_logits
from synthscope.detect.skeleton_model import fit_skeleton

GENERATION_TASKS = ("continuation", "generation", "essay")
WEIGHTS = (0.0, 0.3, 0.5, 0.7, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=["genre", "family", "dataset"])
    parser.add_argument("--train-tasks", choices=["generation", "all"], default="all")
    parser.add_argument("--keep", type=int, default=10_000)
    parser.add_argument("--l2", type=float, default=3.0)
    parser.add_argument("--name", default="skeleton_probe")
    args = parser.parse_args()
    with recorded(args.name), threadpool_limits(1):
        started = time.perf_counter()
        docs = load_documents()
        feats = cached_features(docs, "base", base_features)
        grams = gram_matrix(docs)
        corpus = Corpus(docs, feats, grams, topic_table(docs))
        label, task, fam = (docs[c].to_numpy() for c in ("label", "task", "family"))
        pool = (label == "human") | ((label == "machine") & (fam != "old-base"))
        skeleton_pool = pool & ((label == "human") | np.isin(task, GENERATION_TASKS) | (args.train_tasks == "all"))
        rows = []
        for split in splits(docs, args.kinds, pool):
            train = labelled(corpus, split.train)
            style = fit_model(train)
            s_train = model_logits(style, train)
            sk_mask = split.train & skeleton_pool
            sk_train = labelled(corpus, sk_mask)
            model = fit_skeleton(grams.select(rows=np.flatnonzero(sk_mask)), sk_train.label.astype(float),
                                 group_weights(sk_train.label, sk_train.group), l2=args.l2, keep=args.keep)
            k_train = model.raw_logits_of_rates(grams.select(rows=np.flatnonzero(split.train)))
            test = labelled(corpus, split.test)
            s_test = model_logits(style, test)
            k_test = model.raw_logits_of_rates(grams.select(rows=np.flatnonzero(split.test)))
            w = group_weights(train.label, train.group)
            zs = lambda v, ref: (v - np.average(ref, weights=w)) / np.sqrt(np.average((ref - np.average(ref, weights=w)) ** 2, weights=w))  # noqa: E731
            genre = docs.filter(pl.Series(split.test))["genre"].to_numpy()
            for g in np.unique(genre):
                here = genre == g
                y = test.label[here] == 1
                if y.sum() < 30 or (~y).sum() < 30:
                    continue
                row = {"kind": split.kind, "split": split.name, "genre": g}
                for lam in WEIGHTS:
                    combo = (1 - lam) * zs(s_test, s_train)[here] + lam * zs(k_test, k_train)[here]
                    row[f"w{lam}"] = auroc(combo[~y], combo[y])
                rows.append(row)
            print(rows[-1] if rows else split.name, f"{time.perf_counter() - started:.0f}s", flush=True)
        t = pl.DataFrame(rows)
        with pl.Config(tbl_rows=200, float_precision=3, tbl_width_chars=200, tbl_hide_dataframe_shape=True,
                       tbl_hide_column_data_types=True, tbl_formatting="ASCII_MARKDOWN"):
            print(t)
            print(t.group_by("kind", maintain_order=True).agg(pl.col("^w.*$").mean()))
            print(t.select(pl.col("^w.*$").mean()))
        print(f"top machine-like skeleton n-grams (last split): {model.describe_top(12)}")
        print(f"top human-like skeleton n-grams (last split): {model.describe_top(12, -1)}")
        print(f"elapsed {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
