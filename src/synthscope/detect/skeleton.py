"""Skeleton n-grams: the text's function words and punctuation with every other word reduced to its shape.

Text distortion in the sense of Stamatatos (2017, "Authorship attribution using text distortion"): the
closed-class words of English (determiners, pronouns, prepositions, conjunctions, auxiliaries, a few
discourse adverbs; `FUNCTION_WORDS`, a fixed list) and punctuation are kept, any other word becomes a
shape token (`w` lower case, `C` capitalised, `U` all capitals, `D` with a digit). What is left is how
a text is put together, not what it is about: "The results, however, were not significant." reads
`the w , however , were not w .`. Word 1- to 4-grams of that skeleton are counted per document.

Everything is vectorised over a batch: the texts cut after their spaces, the pieces dictionary encoded (pyarrow),
one regex tokenisation of the distinct pieces (polars), the skeleton id of each distinct token, then numpy for the n-gram
ids (several tokens packed in one int64) and their lookup in a model's table of kept n-grams.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from synthscope.analyzer import TEXT
from synthscope.char_classes import string_buffers
from synthscope.text import segment_starts

# closed-class English words (lower case), contractions included; order fixes their ids
FUNCTION_WORDS: tuple[str, ...] = (
    # articles, determiners, quantifiers
    "the", "a", "an", "this", "that", "these", "those", "some", "any", "no", "every", "each", "either", "neither",
    "all", "both", "many", "much", "more", "most", "few", "fewer", "less", "least", "several", "such", "other",
    "another", "own", "same", "enough", "one", "two",
    # pronouns
    "i", "me", "my", "mine", "myself", "you", "your", "yours", "yourself", "yourselves", "he", "him", "his",
    "himself", "she", "her", "hers", "herself", "it", "its", "itself", "we", "us", "our", "ours", "ourselves",
    "they", "them", "their", "theirs", "themselves", "who", "whom", "whose", "which", "what", "whatever",
    "whoever", "whichever", "someone", "something", "anyone", "anything", "everyone", "everything", "nobody",
    "nothing", "one's", "oneself",
    # prepositions
    "of", "in", "to", "for", "with", "on", "at", "by", "from", "about", "as", "into", "like", "through", "after",
    "over", "between", "out", "against", "during", "without", "before", "under", "around", "among", "within",
    "along", "across", "behind", "beyond", "toward", "towards", "upon", "up", "down", "off", "above", "below",
    "near", "since", "until", "via", "per", "despite", "throughout", "onto", "beside", "besides", "except",
    "regarding", "including",
    # conjunctions, subordinators
    "and", "or", "but", "nor", "so", "yet", "if", "because", "although", "though", "while", "whereas", "unless",
    "whether", "than", "when", "where", "why", "how", "once", "whenever", "wherever",
    # auxiliaries and modals
    "be", "is", "am", "are", "was", "were", "been", "being", "have", "has", "had", "having", "do", "does", "did",
    "doing", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "ought",
    # negation, adverbs of degree, time, place and discourse
    "not", "never", "very", "too", "also", "just", "only", "even", "still", "already", "always", "often",
    "sometimes", "usually", "perhaps", "maybe", "really", "quite", "rather", "almost", "again", "ever", "then",
    "now", "here", "there", "however", "therefore", "thus", "moreover", "furthermore", "additionally", "overall",
    "indeed", "instead", "otherwise", "meanwhile", "hence", "well", "yes", "oh", "ok", "okay",
    # contractions
    "it's", "don't", "i'm", "that's", "you're", "can't", "i've", "didn't", "doesn't", "there's", "he's",
    "she's", "isn't", "wasn't", "won't", "wouldn't", "couldn't", "shouldn't", "aren't", "weren't", "haven't",
    "hasn't", "hadn't", "i'll", "i'd", "you'll", "you've", "you'd", "we're", "we've", "we'll", "they're",
    "they've", "they'll", "let's", "what's", "who's", "here's",
)
SHAPES: tuple[str, ...] = ("w", "C", "U", "D")  # other word: lower case, Capitalised, UPPER case, with a digit
PUNCTUATION: tuple[str, ...] = (".", ",", ";", ":", "!", "?", "'", '"', "(", ")", "[", "]", "-", "—", "/", "&", "%", "$", "*", "…", "#", "@", "+", "=")
OTHER_SYMBOL = "P"  # any other symbol
VOCABULARY_NAME = "skeleton-en-1"  # stored in profiles: a profile's n-grams are only valid for this vocabulary
VOCABULARY: tuple[str, ...] = FUNCTION_WORDS + SHAPES + PUNCTUATION + (OTHER_SYMBOL,)
BITS = 9  # bits per skeleton token in a packed n-gram id (the vocabulary must stay below 2**BITS - 1)
ORDERS = (1, 2, 3, 4)
_TOKEN = r"\w+(?:['’]\w+)*|[^\w\s]"
# variants folded into one punctuation token
_FOLD = {"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "–": "—", "―": "—"}
_ID = {token: i + 1 for i, token in enumerate(VOCABULARY)}  # 0 is "no token" (padding of the packed ids)
assert len(VOCABULARY) < (1 << BITS) - 1


@dataclass(frozen=True)
class SkeletonTokens:
    """A batch's skeletons: `ids` of every token, documents back to back; `counts[d]` tokens of document d."""

    ids: np.ndarray  # int64, 1..len(VOCABULARY)
    counts: np.ndarray  # int64

    @property
    def starts(self) -> np.ndarray:
        return segment_starts(self.counts)


@lru_cache(maxsize=1)
def _known_tokens() -> pl.DataFrame:
    """Every kept token (function words, punctuation and their folded variants) with its id."""
    return pl.DataFrame({"t": list(_ID) + list(_FOLD)}, schema={"t": pl.String}).with_columns(
        pl.Series("id", [*_ID.values(), *(_ID[v] for v in _FOLD.values())], dtype=pl.Int64)
    )


def _vocab_ids(vocab: pa.Array) -> np.ndarray:
    """Skeleton id of each distinct raw token (vectorised over the batch's vocabulary)."""
    words = pl.Series("t", vocab, dtype=pl.String)
    lower = words.str.to_lowercase().str.replace_all("’", "'", literal=True)
    table = _known_tokens()
    known = pl.DataFrame({"t": lower}).join(table, on="t", how="left", maintain_order="left")["id"]
    is_word = words.str.contains(r"^\w")
    shape = (
        pl.DataFrame({"w": words})
        .select(
            pl.when(pl.col("w").str.contains(r"\d")).then(_ID["D"])
            .when(pl.col("w").str.contains(r"^[[:upper:]][[:upper:]]+$")).then(_ID["U"])
            .when(pl.col("w").str.contains(r"^[[:upper:]]")).then(_ID["C"])
            .otherwise(_ID["w"])
        )
        .to_series()
    )
    other = pl.Series(np.where(is_word.to_numpy(), shape.to_numpy(), _ID[OTHER_SYMBOL]))
    return known.fill_null(other).to_numpy().astype(np.int64)


def _single_chunk(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    return array


def _pieces(texts: pa.Array) -> tuple[pa.LargeStringArray, np.ndarray]:
    """(every text's space-separated pieces, texts back to back; the number of pieces of each text).

    A piece keeps the space that ends it ("the " rather than "the"), so the pieces are consecutive
    stretches of the texts' own bytes: an array over the same buffer with more offsets (nothing is
    copied), cut after every space and at every text's start. The token regex skips a piece's space as
    it skips the space between two words; a run of spaces gives pieces of a space alone (no tokens),
    an empty or null text no piece."""
    data, offsets = string_buffers(texts)
    cuts = np.zeros(len(data) + 1, dtype=bool)
    cuts[np.flatnonzero(data == 0x20) + 1] = True
    cuts[offsets] = True
    bounds = np.flatnonzero(cuts)  # every piece's first byte, then the end of the data
    per_text = np.diff(np.searchsorted(bounds, offsets))
    pieces = pa.LargeStringArray.from_buffers(len(bounds) - 1, pa.py_buffer(bounds), pa.py_buffer(data))
    return pieces, per_text


def skeleton_tokens(batch: pl.DataFrame, text_column: str = TEXT) -> SkeletonTokens:
    """The skeleton token ids of every document of a batch (raw text: case and punctuation matter).

    A token never contains white space and the pattern looks at nothing outside the token, so the
    tokens of a text are the tokens of its space-separated pieces in order: the texts are cut after
    their spaces (`_pieces`), the pieces dictionary encoded (a batch of web text repeats most of them), and the token
    regex runs on the distinct pieces only (about a twentieth of the pieces). Other white space
    (tabs, line breaks) stays inside pieces, where the regex skips it as it does in the whole text."""
    flat, pieces_per_doc = _pieces(_single_chunk(batch[text_column].to_arrow()))
    if len(flat) == 0:
        return SkeletonTokens(np.zeros(0, dtype=np.int64), np.zeros(len(pieces_per_doc), dtype=np.int64))
    encoded = _single_chunk(pc.dictionary_encode(flat))
    # tokens of each distinct piece, as skeleton ids, pieces back to back
    piece_tokens = _single_chunk(pl.Series("p", encoded.dictionary, dtype=pl.String).str.extract_all(_TOKEN).to_arrow())
    tokens_per_piece = pc.fill_null(pc.list_value_length(piece_tokens), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    token_flat = pc.list_flatten(piece_tokens)
    if len(token_flat) == 0:
        return SkeletonTokens(np.zeros(0, dtype=np.int64), np.zeros(len(pieces_per_doc), dtype=np.int64))
    token_encoded = _single_chunk(pc.dictionary_encode(token_flat.cast(pa.large_string())))
    piece_ids = _vocab_ids(token_encoded.dictionary)[token_encoded.indices.to_numpy(zero_copy_only=False)]
    # every piece of the batch in order, expanded to its tokens' ids
    piece = encoded.indices.to_numpy(zero_copy_only=False)
    lengths = tokens_per_piece[piece]
    at = np.repeat(segment_starts(tokens_per_piece)[piece] - segment_starts(lengths), lengths)
    ids = piece_ids[np.arange(len(at), dtype=np.int64) + at]
    counts = np.zeros(len(pieces_per_doc), dtype=np.int64)
    has_pieces = pieces_per_doc > 0
    counts[has_pieces] = np.add.reduceat(lengths, segment_starts(pieces_per_doc)[has_pieces])
    return SkeletonTokens(ids, counts)


def ngram_ids(tokens: SkeletonTokens, orders: tuple[int, ...] = ORDERS) -> tuple[np.ndarray, np.ndarray]:
    """(packed n-gram ids, document of each) for every n-gram of the given orders inside each document.

    An n-gram of tokens t1..tn packs as t1 << (BITS * (n - 1)) | ... | tn; ids of different orders
    never collide because token ids are never 0."""
    ids, counts = tokens.ids, tokens.counts
    doc = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    pos = np.arange(len(ids), dtype=np.int64) - np.repeat(tokens.starts, counts)
    left = np.repeat(counts, counts) - pos  # tokens from here to the document's end
    grams, docs = [], []
    packed = np.zeros(len(ids), dtype=np.int64)
    for n in range(1, max(orders) + 1):
        if n == 1:
            packed = ids.copy()
        else:
            packed = (packed[:-1] << BITS) | ids[n - 1:]
        if n in orders:
            ok = left[: len(packed)] >= n
            grams.append(packed[ok])
            docs.append(doc[: len(packed)][ok])
    return np.concatenate(grams), np.concatenate(docs)


def describe(gram: int) -> str:
    """The readable skeleton of a packed n-gram id, e.g. ', however , the w'."""
    parts = []
    mask = (1 << BITS) - 1
    while gram:
        parts.append(VOCABULARY[(gram & mask) - 1])
        gram >>= BITS
    return " ".join(reversed(parts))


def parse(text: str) -> int:
    """The packed id of a readable skeleton n-gram (inverse of `describe`)."""
    gram = 0
    for token in text.split(" "):
        if token not in _ID:
            raise ValueError(f"unknown skeleton token {token!r}")
        gram = (gram << BITS) | _ID[token]
    return gram
