"""Regenerate tests/golden/sample_report.md after an intended change of the Markdown rendering
or of the analyzers' fields: `python scripts/regen_golden.py`, then review the diff."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.golden_util import GOLDEN, sample_markdown  # noqa: E402

if __name__ == "__main__":
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(sample_markdown(), encoding="utf-8")
    print(f"wrote {GOLDEN}")
