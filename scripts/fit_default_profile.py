"""Fit the default calibration profile shipped in the package, deterministically.

Data: ../shared/data/detect_dev.jsonl.gz + detect_train.jsonl.gz, deduplicated across the two (documents
sharing word 8-grams are one text; see benchmarks/_heldout_data.py), human text and the machine text of
modern generators (every task: continuations, generations, essays, expansions and rewrites; the rewrites
teach what paraphrased machine text looks like, see notes/detect.md). Left out: the older base models
(gpt2-xl, gpt-neo, gpt-j, gpt-neox, opt: they teach degeneration cues modern generators do not show) and
LLM-polished human text (`revised`: neither clearly human nor machine). Calibration groups are genres
(domains of the same kind across datasets: xsum and l2r news are `news`); each group's topic centroid
lets a source be estimated against the genres it resembles.

    python scripts/fit_default_profile.py [--style-only] [--no-cross-validation] [-o src/synthscope/data/default_profile.json]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _heldout_data import base_features, cached_features, gram_matrix, load_documents, topics  # noqa: E402

from synthscope.detect.calibrate import FitOptions, LabelledFeatures, fit_profile  # noqa: E402
from synthscope.detect.features import FEATURE_NAMES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style-only", action="store_true", help="no skeleton n-gram model (a profile like format 1)")
    parser.add_argument("--no-cross-validation", action="store_true", help="skip the held-out errors (intervals then not widened)")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "src" / "synthscope" / "data" / "default_profile.json")
    args = parser.parse_args()
    started = time.perf_counter()
    with threadpool_limits(1):  # the same figures on any machine
        docs = load_documents()
        feats = cached_features(docs, "base", base_features)
        label, family = docs["label"].to_numpy(), docs["family"].to_numpy()
        keep = (label == "human") | ((label == "machine") & (family != "old-base"))
        rows = np.flatnonzero(keep)
        d, f = docs.filter(pl.Series(keep)), feats.filter(pl.Series(keep))
        data = LabelledFeatures(
            f.select(FEATURE_NAMES), f["_n_words"].to_numpy(), (d["label"] == "machine").to_numpy().astype(int),
            d["genre"].to_numpy().astype(str), None if args.style_only else gram_matrix(docs).select(rows=rows),
            topics(docs)[keep], d["cluster"].to_numpy(),
        )
        options = FitOptions(cross_validate=not args.no_cross_validation)
        profile, cv = fit_profile(data, l2=options.l2, options=options, metadata={
            "data": "shared/data/detect_dev.jsonl.gz + detect_train.jsonl.gz, deduplicated (Fast-DetectGPT, L2R, ImBD, OUTFOX, Glimpse)",
            "generators": sorted(set(d.filter(pl.col("label") == "machine")["generator"])),
            "tasks": sorted(set(d.filter(pl.col("label") == "machine")["task"])),
            "script": "scripts/fit_default_profile.py",
        })
    profile.save(args.output)
    rows = ROOT / "benchmarks" / "out" / "default_profile_cv.parquet"
    pl.DataFrame(cv.rows).write_parquet(rows)  # the held-out estimates behind the intervals (not committed)
    print(f"wrote {args.output} in {time.perf_counter() - started:.0f} s: {profile.training['human_documents']} human, "
          f"{profile.training['synthetic_documents']} synthetic, {len(profile.human_group_hists)} groups")
    at200 = cv.at_size()
    print(f"held-out quantification MAE (200-document sources): leave-one-group-out {at200.mae('group'):.3f}, half of every group {at200.mae('half'):.3f}; "
          f"threshold {profile.threshold:.3f}")
    for band in profile.cv_errors_by_similarity:
        q = np.interp([0.05, 0.95], np.linspace(0, 1, len(band["errors"])), band["errors"])
        print(f"  {band.get('documents', 200)} documents, similarity >= {band['similarity']:.3f}: 90% of held-out errors in [{q[0]:+.3f}, {q[1]:+.3f}]")
    for name, w in sorted(zip(profile.features, profile.weights), key=lambda t: -abs(t[1]))[:10]:
        print(f"  {name:24s} {w:+.3f}")
    if profile.skeleton:
        print("  machine-like skeleton n-grams:", ", ".join(profile.skeleton["grams"][:8]))
        print("  human-like skeleton n-grams:", ", ".join(profile.skeleton["grams"][-8:][::-1]))


if __name__ == "__main__":
    main()
