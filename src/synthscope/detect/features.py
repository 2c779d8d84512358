"""Per-document style features of machine-written text, each from a published observation.

All features are rates or shape statistics (not topic words), computed for a whole prepared batch with
polars expressions and numpy: token-level ones on the batch's dictionary-encoded tokens, sentence lengths
from character classes (`detect.sentences`), character-level ones with string expressions. A feature that cannot be computed for a document (no
words, a single sentence) is null; the scorer treats null as "no evidence" (the calibration mean).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from synthscope.analyzer import TEXT
from synthscope.detect import markers
from synthscope.detect.sentences import sentence_length_stats
from synthscope.text import NORM, TOKENS, norm_classes, token_codes

# Kobak style words more common than this Zipf frequency (their, these, this, were, into, ...) are too
# frequent in all writing to act as markers: Kobak et al. rank them by excess *gap*, not ratio.
KOBAK_MAX_ZIPF = 5.0
RARE_ZIPF = 3.0  # GLTR-style "rare word" cut: fewer than 1 occurrence per million words
OOV_ZIPF = 1.0  # wordfreq's floor for words it does not list
TTR_WINDOW = 100
FIRST_PERSON = ("i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll")
# Discourse connectives opening a sentence, the "Additionally, ... Furthermore, ... Overall, ..." habit of
# assistant-style text. A fixed list (not learned from data); matched on normalised text.
TRANSITIONS = (
    "additionally", "furthermore", "moreover", "overall", "however", "in addition", "ultimately", "notably",
    "importantly", "in conclusion", "consequently", "as a result", "in summary", "in essence", "indeed",
    "therefore", "thus", "meanwhile", "nevertheless", "nonetheless", "similarly", "specifically",
    "for example", "for instance", "in fact", "in particular", "subsequently", "conversely",
)
_TRANSITION_WORDS = "(?:" + "|".join(TRANSITIONS) + r")\b"
# The regex features below are written as `(?P<pre>context)(?P<span>matched words)`: the feature counts
# whole matches; a report highlights only the `span` group (the transition word, not the sentence end
# before it). Groups do not change what or how fast a pattern counts.
# Transitions are counted as matches after a sentence end plus one at the start of the text: the same
# count as r"(?:^|[.!?] )" + words, many times faster (a literal prefilter on the sentence end).
_TRANSITION_AFTER_END = r"(?P<pre>[.!?] )(?P<span>" + _TRANSITION_WORDS + ")"
_TRANSITION_AT_START = r"^(?P<pre>)(?P<span>" + _TRANSITION_WORDS + ")"
# ", <verb>ing": a present participial clause trailing a main clause ("..., highlighting the need").
_PARTICIPLE = r"(?P<pre>, )(?P<span>[a-z]+ing)\b"


@dataclass(frozen=True)
class Feature:
    """A feature's name, what it measures and the publication that motivates it; `higher` and `lower`
    say in plain words what a document shows when the feature is above / below typical human text."""

    name: str
    description: str
    source: str
    direction: int = 0  # published direction: +1 more in machine text, -1 more in human text, 0 not fixed
    higher: str = ""
    lower: str = ""


FEATURES: tuple[Feature, ...] = (
    Feature("kobak_style_rate", "share of words that are Kobak excess style words (delve, underscores, showcasing, ...)",
            "Kobak et al. 2025, Delving into LLM-assisted writing (arXiv 2406.07016)", +1,
            higher="uses words typical of LLM style (delve, showcasing, underscores, ...)", lower="few LLM-style words (delve, showcasing, ...)"),
    Feature("liang_adjective_rate", "share of words that are commendable/innovative/meticulous/intricate/notable/versatile",
            "Liang et al. 2024, Monitoring AI-Modified Content at Scale (arXiv 2403.07183)", +1,
            higher="uses adjectives LLMs favour (commendable, meticulous, intricate, ...)", lower="few adjectives LLMs favour"),
    Feature("hc3_chatgpt_phrases", "HC3 ChatGPT indicator phrases per 100 words ('It is important to note', 'Certainly!')",
            "Guo et al. 2023, HC3 (arXiv 2301.07597)", +1,
            higher="uses stock phrases of ChatGPT answers ('It is important to note', 'Certainly!')", lower="no ChatGPT stock phrases"),
    Feature("hc3_human_phrases", "HC3 human indicator phrases per 100 words ('I believe', 'My two cents', ':)')",
            "Guo et al. 2023, HC3 (arXiv 2301.07597)", -1,
            higher="uses phrases people write ('I believe', 'My two cents', ':)')", lower="few personal phrases ('I believe', ':)')"),
    Feature("sentence_length_mean", "mean words per sentence",
            "Herbold et al. 2023, human vs ChatGPT essays (Sci. Rep. 13:18617)",
            higher="long sentences", lower="short sentences"),
    Feature("sentence_length_cv", "burstiness: coefficient of variation of sentence lengths (LLM text is more uniform)",
            "Tian & Cui 2023 (GPTZero burstiness); Guo et al. 2023 HC3", -1,
            higher="sentence lengths vary a lot, as in human writing", lower="sentences of even length, as LLM text tends to be"),
    Feature("word_length_mean", "mean characters per word",
            "Herbold et al. 2023; Mitrović et al. 2023 (arXiv 2301.13852)", +1,
            higher="long words", lower="short words"),
    Feature("lexical_surprise", "mean word surprisal -log10 p(word) under a human word-frequency reference (wordfreq)",
            "Gehrmann et al. 2019 GLTR; Mitchell et al. 2023 DetectGPT (low-surprise text)", -1,
            higher="many unusual words", lower="predictable, common words"),
    Feature("rare_word_share", "share of words rarer than 1 per million in the human reference (wordfreq)",
            "Gehrmann et al. 2019 GLTR (top-k rank histogram)", -1,
            higher="many rare words", lower="few rare words"),
    Feature("type_token_ratio", f"distinct words / words in the first {TTR_WINDOW} words (fixed window: length-robust)",
            "Guo et al. 2023 HC3 (ChatGPT uses a narrower vocabulary)", -1,
            higher="varied vocabulary", lower="repetitive vocabulary"),
    Feature("repeated_trigram_share", "share of word trigrams that repeat an earlier trigram in the document",
            "Holtzman et al. 2020 (neural text degeneration); Gehrmann et al. 2019",
            higher="repeats the same word sequences", lower="few repeated word sequences"),
    Feature("first_person_rate", "first-person singular pronouns per word (humans write subjectively)",
            "Guo et al. 2023 HC3 (ChatGPT answers are impersonal)", -1,
            higher="many first-person pronouns (I, my)", lower="few first-person pronouns: impersonal"),
    Feature("contraction_rate", "contractions (don't, it's) per word",
            "Herbold et al. 2023; Guo et al. 2023 HC3 (colloquial human style)", -1,
            higher="many contractions (don't, it's)", lower="few contractions: formal"),
    Feature("comma_rate", "commas per word", "Herbold et al. 2023 (punctuation profile); HC3",
            higher="many commas", lower="few commas"),
    Feature("colon_semicolon_rate", "colons and semicolons per word", "Herbold et al. 2023 (punctuation profile)",
            higher="many colons and semicolons", lower="few colons and semicolons"),
    Feature("dash_rate", "dashes (em/en dash, spaced hyphen) per word", "Guo et al. 2023 HC3 (punctuation profile)",
            higher="many dashes", lower="few dashes"),
    Feature("paren_rate", "parentheses per word", "Guo et al. 2023 HC3 (humans use more parentheses and asides)", -1,
            higher="many parentheses and asides", lower="few parentheses and asides"),
    Feature("quote_rate", "quotation marks per word", "Guo et al. 2023 HC3 (punctuation profile)", -1,
            higher="many quotation marks", lower="few quotation marks"),
    Feature("exclaim_question_rate", "exclamation and question marks per word (emotion, rhetorical questions)",
            "Guo et al. 2023 HC3 (humans express more emotion)", -1,
            higher="many exclamation and question marks", lower="few exclamation and question marks"),
    Feature("digit_rate", "digits per word", "Guo et al. 2023 HC3 (human answers cite more specifics)", -1,
            higher="many numbers and figures", lower="few numbers and figures"),
    Feature("transition_rate", "sentences opened by a discourse connective (Additionally, Furthermore, Overall, ...) per word",
            "Herbold et al. 2023 (ChatGPT essays: more discourse markers); Guo et al. 2023 HC3", +1,
            higher="many sentences opened by connectives (Additionally, Furthermore, Overall)", lower="few sentences opened by connectives"),
    Feature("participle_clause_rate", "present participial clauses after a comma (', highlighting ...') per word",
            "Reinhart et al. 2025, Do LLMs write like humans? (PNAS; arXiv 2410.16107): 2-5x in instruction-tuned models", +1,
            higher="many trailing ', ...ing' clauses (', highlighting ...')", lower="few trailing ', ...ing' clauses"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
DIRECTIONS: dict[str, int] = {f.name: f.direction for f in FEATURES}
# Features built on English word and phrase lists: meaningless in another language.
ENGLISH_ONLY: frozenset[str] = frozenset({
    "kobak_style_rate", "liang_adjective_rate", "hc3_chatgpt_phrases", "hc3_human_phrases", "first_person_rate",
    "contraction_rate", "transition_rate", "participle_clause_rate",
})
# Features measured against a human word-frequency table (wordfreq's, in the profile's language).
WORD_FREQUENCY: frozenset[str] = frozenset({"lexical_surprise", "rare_word_share"})


_PLAIN = {f.name: (f.higher, f.lower) for f in FEATURES}


def plain_description(feature: str, higher: bool) -> str:
    """What a document or source shows, in plain words, when `feature` is higher (or lower) than in
    typical human text."""
    phrases = _PLAIN.get(feature)
    if phrases is None or not phrases[0 if higher else 1]:
        return f"{feature.replace('_', ' ')} {'higher' if higher else 'lower'} than in human text"
    return phrases[0 if higher else 1]


def frequency_language(languages: list[str] | tuple[str, ...]) -> str | None:
    """The language whose wordfreq table the word-frequency features use: the profile's one language
    when wordfreq has a table for it, else None (the features do not apply)."""
    if len(languages) != 1:
        return None
    return languages[0] if markers.has_word_frequencies(languages[0]) else None


def features_for(languages: list[str] | tuple[str, ...]) -> list[str]:
    """The features that apply to text in `languages`: all of them for English; elsewhere without the
    English word and phrase lists, and without word frequencies when wordfreq has no table (or the
    profile mixes languages)."""
    langs = list(languages)
    drop: set[str] = set() if langs == ["en"] else set(ENGLISH_ONLY)
    if frequency_language(langs) is None:
        drop |= WORD_FREQUENCY
    return [name for name in FEATURE_NAMES if name not in drop]


def _phrase_pattern(phrases: tuple[str, ...]) -> str:
    """One regex alternation matching any phrase, with word boundaries at word-character ends."""
    parts = []
    for phrase in sorted(set(phrases), key=len, reverse=True):
        body = re.escape(phrase)
        start = r"\b" if re.match(r"\w", phrase) else ""
        end = r"\b" if re.search(r"\w$", phrase) else ""
        parts.append(start + body + end)
    return "|".join(parts)


@dataclass(frozen=True)
class _ZipfLookup:
    """A wordfreq table sorted by a hash of its words, for a vectorised lookup of a batch's vocabulary."""

    hashes: np.ndarray  # uint64, ascending
    words: pa.Array  # large_string, in the order of `hashes`
    zipf: np.ndarray


def _word_hashes(words: pa.Array | pl.Series) -> np.ndarray:
    """A 64-bit hash of each word, only compared within this process (polars' hash)."""
    return pl.Series(words).cast(pl.String).hash(seed=0).to_numpy()


@lru_cache(maxsize=4)
def _zipf_lookup(language: str | None) -> _ZipfLookup | None:
    """`language`'s wordfreq table (None: no table) sorted by word hash; built from the table's columns,
    not a dict of its words (a dict of 320,000 words holds ~25 MiB in every process)."""
    if language is None:
        return None
    table = markers.word_zipf(language)
    if not table.height:
        return None
    words = table["word"].to_arrow().cast(pa.large_string())
    if isinstance(words, pa.ChunkedArray):
        words = words.combine_chunks()
    hashes = _word_hashes(words)
    order = np.argsort(hashes, kind="stable")
    return _ZipfLookup(hashes[order], words.take(pa.array(order)), table["zipf"].to_numpy().astype(np.float64, copy=False)[order])


def _zipf_values(vocab: pa.Array, language: str | None) -> np.ndarray:
    """Zipf frequency of every distinct token in `language`'s table, OOV_ZIPF for unlisted ones (the
    same as a dict lookup per token: candidates by hash, confirmed by comparing the words)."""
    out = np.full(len(vocab), OOV_ZIPF)
    lookup = _zipf_lookup(language)
    if lookup is None or not len(vocab):
        return out
    vocab = vocab.cast(pa.large_string())
    hashes = _word_hashes(vocab)
    at = np.searchsorted(lookup.hashes, hashes)
    pending = np.arange(len(vocab))
    while len(pending):  # one round unless two listed words share a hash
        pending = pending[at[pending] < len(lookup.hashes)]
        pending = pending[lookup.hashes[at[pending]] == hashes[pending]]
        if not len(pending):
            break
        same = pc.equal(vocab.take(pa.array(pending)), lookup.words.take(pa.array(at[pending]))).to_numpy(zero_copy_only=False)
        out[pending[same]] = lookup.zipf[at[pending[same]]]
        pending = pending[~same]
        at[pending] += 1
    return out


@lru_cache(maxsize=1)
def _kobak_style() -> frozenset[str]:
    """Kobak style words rarer than KOBAK_MAX_ZIPF in English (a word missing from the reference
    counts as rare)."""
    words = markers.kobak_style_words()
    listed = markers.word_zipf("en").filter(pl.col("word").is_in(list(words)))
    zipf = dict(zip(listed["word"].to_list(), listed["zipf"].to_list()))
    return frozenset(w for w in words if zipf.get(w, 0.0) < KOBAK_MAX_ZIPF)


@dataclass(frozen=True)
class MatchPattern:
    """A regex on normalised text whose matches a feature counts. It is written
    `(?P<pre>context)(?P<span>words)`: the `span` group is what a report highlights."""

    feature: str
    pattern: str


def _spanned(pattern: str) -> str:
    """A context-free pattern as a MatchPattern regex: the whole match is the span."""
    return f"(?P<pre>)(?P<span>{pattern})"


@lru_cache(maxsize=1)
def match_patterns() -> tuple[MatchPattern, ...]:
    """The regex features' patterns, one definition for counting (compute_features) and for showing the
    matched spans (detect.spans); a feature with two patterns counts the matches of both."""
    return (
        MatchPattern("hc3_chatgpt_phrases", _spanned(_phrase_pattern(markers.hc3_chatgpt_phrases()))),
        MatchPattern("hc3_human_phrases", _spanned(_phrase_pattern(markers.hc3_human_phrases()))),
        MatchPattern("transition_rate", _TRANSITION_AT_START),
        MatchPattern("transition_rate", _TRANSITION_AFTER_END),
        MatchPattern("participle_clause_rate", _PARTICIPLE),
    )


@dataclass(frozen=True)
class TokenRule:
    """A word-level feature's rule: a token counts when it is one of `words`, or contains `contains`."""

    feature: str
    words: frozenset[str] = frozenset()
    contains: str = ""

    def matches(self, tokens: pl.Series) -> pl.Series:
        """Whether each token counts for the feature."""
        if self.contains:
            return tokens.str.contains(self.contains, literal=True).fill_null(False)
        return tokens.is_in(list(self.words)).fill_null(False)


@lru_cache(maxsize=1)
def token_rules() -> dict[str, TokenRule]:
    """The word-level features' rules, one definition for counting (compute_features) and for showing the
    matched words (detect.spans); a token is counted in the document's own tokenisation."""
    return {
        "kobak_style_rate": TokenRule("kobak_style_rate", words=_kobak_style()),
        "liang_adjective_rate": TokenRule("liang_adjective_rate", words=frozenset(markers.liang_adjectives())),
        "first_person_rate": TokenRule("first_person_rate", words=frozenset(FIRST_PERSON)),
        "contraction_rate": TokenRule("contraction_rate", contains="'"),
    }


# Features whose evidence is a stretch of text (a listed word, a stock phrase, a transition opener, a
# participial clause, a first-person pronoun, a contraction), shown as highlighted spans.
SPAN_FEATURES: tuple[str, ...] = ("kobak_style_rate", "liang_adjective_rate", "hc3_chatgpt_phrases", "hc3_human_phrases",
                                  "transition_rate", "participle_clause_rate", "first_person_rate", "contraction_rate")


def _vocab_table(vocab: pa.Array, language: str | None = "en") -> tuple[np.ndarray, np.ndarray]:
    """Per distinct token: (counts matrix, surprise). Columns of the int64 matrix, in order: Kobak
    style word, Liang adjective, first person, contraction, characters, alphabetic (no digit), rare
    alphabetic; surprise is 9 - Zipf in `language`'s table (wordfreq's floor OOV_ZIPF for unlisted
    words), 0 if not alphabetic."""
    size = len(vocab)
    rules = token_rules()
    zipf = _zipf_values(vocab, language)
    series = pl.Series(vocab)
    alpha = ~series.str.contains(r"\d").to_numpy()
    table = np.empty((size, 7), dtype=np.int32)
    for column, feature in enumerate(("kobak_style_rate", "liang_adjective_rate", "first_person_rate", "contraction_rate")):
        table[:, column] = rules[feature].matches(series).to_numpy()
    table[:, 4] = series.str.len_chars().to_numpy()
    table[:, 5] = alpha
    table[:, 6] = alpha & (zipf < RARE_ZIPF)
    return table, np.where(alpha, 9.0 - zipf, 0.0)


def _segment_sums(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sums of consecutive segments of `values` (along the first axis); empty segments sum to 0."""
    out = np.zeros((len(counts), *values.shape[1:]), dtype=values.dtype)
    nonempty = counts > 0
    if values.shape[0]:
        out[nonempty] = np.add.reduceat(values, starts[nonempty], axis=0)
    return out


_DENSE_COLUMNS = (4, 5)  # columns of the vocabulary table most tokens count in: characters, alphabetic
_SPARSE_COLUMNS = (0, 1, 2, 3, 6)  # flags few tokens carry: listed words, first person, contraction, rare


def _table_sums(table: np.ndarray, codes: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per document, the sums of `table`'s rows over its tokens (float64, exact: integer counts). The two
    dense columns travel as one int64 per token (characters in the low 32 bits, the alphabetic flag
    above: a document's characters stay below 2**32); the sparse flags are summed only over the tokens
    that carry one (a tenth of them in web text), each found in its document by a binary search."""
    out = np.zeros((len(counts), table.shape[1]))
    characters, alphabetic = _DENSE_COLUMNS
    dense = table[:, characters].astype(np.int64) | (table[:, alphabetic].astype(np.int64) << 32)
    packed = _segment_sums(dense[codes], starts, counts)
    out[:, characters] = packed & 0xFFFFFFFF
    out[:, alphabetic] = packed >> 32
    sparse = list(_SPARSE_COLUMNS)
    flagged = np.flatnonzero(table[:, sparse].any(axis=1)[codes])
    if len(flagged):
        doc = np.searchsorted(starts, flagged, side="right") - 1  # empty documents share the next one's start
        rows = table[codes[flagged]]
        for column in sparse:
            out[:, column] = np.bincount(doc, weights=rows[:, column], minlength=len(counts))
    return out


def _distinct_per_row(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Distinct values in each consecutive run of `lengths` values (hash-based, exact)."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values))
    series = pl.from_arrow(lists)
    assert isinstance(series, pl.Series)
    return series.list.n_unique().to_numpy().astype(np.float64)


def _token_features(batch: pl.DataFrame, language: str | None = "en") -> dict[str, np.ndarray]:
    """Word-level features of every row from the batch's dictionary-encoded tokens: attributes are
    computed once per distinct token, gathered per token and summed per document (numpy); word
    frequencies from `language`'s wordfreq table (None: no table, every word counts as unlisted)."""
    codes = token_codes(batch)
    counts, starts, c = codes.counts, codes.starts, codes.codes
    table, surprise = _vocab_table(codes.vocab, language)
    sums = _table_sums(table, c, starts, counts)
    surprise_sum = _segment_sums(surprise[c], starts, counts)
    n = counts.astype(np.float64)
    # TTR over the first TTR_WINDOW words; repeated word trigrams (three tokens packed in 63 bits when
    # the batch's vocabulary allows, else hashed exactly by polars as a struct)
    window = np.minimum(counts, TTR_WINDOW)
    pos = codes.positions()
    first_words = c[pos < TTR_WINDOW]
    trigram_counts = np.maximum(counts - 2, 0)
    is_start = pos < np.repeat(trigram_counts, counts)
    at = np.flatnonzero(is_start)
    if len(codes.vocab) < 1 << 21:
        c64 = c.astype(np.uint64)
        # every window of three consecutive tokens packed (slices, no index arrays), then those that
        # start a trigram inside their document
        windows = (c64[:-2] << np.uint64(42)) | (c64[1:-1] << np.uint64(21)) | c64[2:]
        trigrams = windows[at]
        distinct_trigrams = _distinct_per_row(trigrams, trigram_counts)
    else:  # pragma: no cover - a batch with over two million distinct tokens
        packed = pl.DataFrame({"a": c[at], "b": c[at + 1], "c": c[at + 2]}).select(pl.struct("a", "b", "c").hash()).to_series()
        distinct_trigrams = _distinct_per_row(packed.to_numpy(), trigram_counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "kobak_style_rate": sums[:, 0] / n,
            "liang_adjective_rate": sums[:, 1] / n,
            "lexical_surprise": surprise_sum / sums[:, 5],
            "rare_word_share": sums[:, 6] / sums[:, 5],
            "word_length_mean": sums[:, 4] / n,
            "type_token_ratio": _distinct_per_row(first_words, window) / window,
            "repeated_trigram_share": 1.0 - distinct_trigrams / trigram_counts,
            "first_person_rate": sums[:, 2] / n,
            "contraction_rate": sums[:, 3] / n,
        }


def compute_features(batch: pl.DataFrame, language: str | None = "en") -> pl.DataFrame:
    """One Float64 column per feature in FEATURE_NAMES, one row per batch row (same order); word
    frequencies from `language`'s wordfreq table (see `frequency_language`)."""
    n_words = pl.col(TOKENS).list.len().cast(pl.Float64)
    # NaN (no words) becomes null in the last select, on computed columns: `fill_nan` on an expression
    # evaluates it once more (every regex count ran two or three times)
    per_word = lambda expr: expr.cast(pl.Float64) / n_words  # noqa: E731
    text = pl.col(TEXT)
    matches: dict[str, pl.Expr] = {}
    for match in match_patterns():
        count = pl.col(NORM).str.count_matches(match.pattern)
        matches[match.feature] = matches[match.feature] + count if match.feature in matches else count
    frame = batch.select(
        (100 * per_word(matches["hc3_chatgpt_phrases"])).alias("hc3_chatgpt_phrases"),
        (100 * per_word(matches["hc3_human_phrases"])).alias("hc3_human_phrases"),
        per_word(text.str.count_matches(",", literal=True)).alias("comma_rate"),
        per_word(text.str.count_matches(r"[;:]")).alias("colon_semicolon_rate"),
        per_word(text.str.count_matches(r"[—–]| - | -- ")).alias("dash_rate"),
        per_word(text.str.count_matches(r"[()\[\]]")).alias("paren_rate"),
        per_word(text.str.count_matches(r"[\"“”«»]")).alias("quote_rate"),
        per_word(text.str.count_matches(r"[!?]")).alias("exclaim_question_rate"),
        per_word(text.str.count_matches(r"\d")).alias("digit_rate"),
        per_word(matches["transition_rate"]).alias("transition_rate"),
        per_word(matches["participle_clause_rate"]).alias("participle_clause_rate"),
    )
    mean, variation = sentence_length_stats(norm_classes(batch))
    columns = {"sentence_length_mean": mean, "sentence_length_cv": variation, **_token_features(batch, language)}
    out = frame.with_columns(pl.Series(name, values, dtype=pl.Float64) for name, values in columns.items())
    return out.select([pl.col(name).cast(pl.Float64).fill_nan(None) for name in FEATURE_NAMES])
