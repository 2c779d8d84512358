"""Published LLM-style marker lists shipped in the package (see data/markers/README.md).

- Kobak et al. 2025 (arXiv 2406.07016): excess `style` words in PubMed abstracts after ChatGPT.
- Liang et al. 2024 (arXiv 2403.07183): adjectives whose use in peer reviews surged after ChatGPT.
- Guo et al. 2023, HC3 (arXiv 2301.07597): phrases typical of ChatGPT answers and of human answers.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources

import polars as pl

_PACKAGE = "synthscope.data.markers"


def _read_text(name: str) -> str:
    return resources.files("synthscope").joinpath("data", "markers", name).read_text(encoding="utf-8")


def _lines(name: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in _read_text(name).splitlines() if line.strip())


@lru_cache(maxsize=1)
def kobak_style_words() -> tuple[str, ...]:
    """Kobak et al. excess words of type `style` (lower case), e.g. delve, underscores, showcasing."""
    rows = csv.DictReader(io.StringIO(_read_text("kobak_excess_words.csv")))
    return tuple(sorted({r["word"].strip().lower() for r in rows if r["type"].strip() == "style"}))


@lru_cache(maxsize=1)
def liang_adjectives() -> tuple[str, ...]:
    """Liang et al. 2024 adjectives: commendable, innovative, meticulous, intricate, notable, versatile."""
    return tuple(w.lower() for w in _lines("liang2024_adjectives.txt"))


@lru_cache(maxsize=1)
def hc3_chatgpt_phrases() -> tuple[str, ...]:
    """HC3 phrases typical of ChatGPT answers ("Certainly!", "There are several ways", ...)."""
    return tuple(p.lower() for p in _lines("hc3_indicators_chatgpt_en.txt"))


@lru_cache(maxsize=1)
def hc3_human_phrases() -> tuple[str, ...]:
    """HC3 phrases typical of human answers ("I believe", "My two cents", ":)", ...)."""
    return tuple(p.lower() for p in _lines("hc3_indicators_human_en.txt"))


def has_word_frequencies(language: str) -> bool:
    """Whether `wordfreq` ships a word-frequency table for `language`."""
    from wordfreq import available_languages

    return language in available_languages(wordlist="best")


@lru_cache(maxsize=4)
def word_zipf(language: str = "en") -> pl.DataFrame:
    """Human word-frequency reference: columns `word`, `zipf` from the `wordfreq` package (data shipped
    in the package, mostly pre-2022 sources: Speer et al., wordfreq 3.x, the language's "best" list)."""
    from wordfreq import cB_to_freq, get_frequency_list

    # what `get_frequency_dict` returns, built here from the uncached list reader: wordfreq's own
    # caches would keep the word lists and a dict of every word in every process for good
    freqs: dict[str, float] = {}
    for index, bucket in enumerate(get_frequency_list.__wrapped__(language, "best")):
        freq = cB_to_freq(-index)
        for word in bucket:
            freqs[word] = freq
    frame = pl.DataFrame({"word": list(freqs.keys()), "freq": list(freqs.values())}, schema={"word": pl.String, "freq": pl.Float64})
    return frame.select("word", (pl.col("freq").log10() + 9.0).alias("zipf"))
