"""Fit the default calibration profile shipped in the package, deterministically.

Human documents of every domain of ../shared/data/detect_dev.jsonl.gz plus the machine documents of the
modern instruction-tuned generators (davinci, gpt-3.5-turbo, gpt-4); calibration groups are domains.
The older base models (gpt2-xl, gpt-neo, gpt-j, gpt-neox, opt) are left out: see notes/detect.md for the
comparison (they teach the model degeneration cues that modern generators do not show).

    python scripts/fit_default_profile.py [--data PATH] [--old-generators] [-o src/synthscope/data/default_profile.json]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

from synthscope.detect.calibrate import LabelledFeatures, fit_profile
from synthscope.detect.features import compute_features
from synthscope.text import prepare

ROOT = Path(__file__).resolve().parents[1]
MODERN = ("davinci", "gpt-3.5-turbo", "gpt-4")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "detect_dev.jsonl.gz")
    parser.add_argument("--old-generators", action="store_true")
    parser.add_argument("--l2", type=float, default=10.0)
    parser.add_argument("--choose-l2", action="store_true", help="choose the L2 penalty by leave-one-domain-out error")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "src" / "synthscope" / "data" / "default_profile.json")
    args = parser.parse_args()
    docs = pl.read_ndjson(args.data).sort("id")
    keep = (pl.col("label") == "human") | (pl.lit(args.old_generators) | pl.col("generator").is_in(MODERN))
    docs = docs.filter(keep)
    prepared = prepare(docs)
    data = LabelledFeatures(
        compute_features(prepared), prepared["n_tokens"].to_numpy().astype(np.float64),
        (docs["label"] == "machine").to_numpy().astype(int), docs["domain"].to_numpy().astype(str),
    )
    profile, cv = fit_profile(data, l2=None if args.choose_l2 else args.l2, metadata={
        "data": "shared/data/detect_dev.jsonl.gz (Fast-DetectGPT data: XSum, WritingPrompts, PubMedQA, SQuAD)",
        "generators": sorted(set(docs.filter(pl.col("label") == "machine")["generator"])),
        "script": "scripts/fit_default_profile.py",
    })
    profile.save(args.output)
    print(f"wrote {args.output}: {profile.training['human_documents']} human, {profile.training['synthetic_documents']} synthetic; "
          f"cross-validated (leave-one-domain-out) quantification MAE {cv.mae():.3f}; shift {profile.shift_sd}; threshold {profile.threshold:.3f}")
    for name, w in sorted(zip(profile.features, profile.weights), key=lambda t: -abs(t[1])):
        print(f"  {name:24s} {w:+.3f}")


if __name__ == "__main__":
    main()
