"""Skeleton n-grams (text distortion) and topic vectors: tokens, packing, the model's lookup, stability."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from synthscope.detect.calibrate import group_weights
from synthscope.detect.skeleton import describe, ngram_ids, parse, skeleton_tokens
from synthscope.detect.skeleton_model import GramMatrix, GramTable, fit_skeleton
from synthscope.detect.topics import DIM, stable_hash, topic_vectors
from synthscope.text import prepare


def _skeleton(text: str) -> str:
    tokens = skeleton_tokens(pl.DataFrame({"text": [text]}))
    return " ".join(describe(int(i)) for i in tokens.ids)


def test_function_words_and_punctuation_kept_other_words_become_shapes() -> None:
    assert _skeleton("The results, however, were not significant.") == "the w , however , were not w ."
    assert _skeleton("NASA launched 3 probes in June; “wow” – I’m sure!") == 'U w D w in C ; " w " — i\'m w !'


def _whole_text_skeleton_ids(texts: pl.Series) -> list[list[int]]:
    """Reference: the token regex over each whole text (no splitting at spaces), then each token's id."""
    from synthscope.detect.skeleton import _TOKEN, _vocab_ids

    tokens = texts.str.extract_all(_TOKEN).to_list()
    vocab = sorted({t for doc in tokens if doc for t in doc})
    ids = dict(zip(vocab, _vocab_ids(pa.array(vocab, pa.large_string())).tolist())) if vocab else {}
    return [[ids[t] for t in doc] if doc else [] for doc in tokens]


def test_tokens_of_space_separated_pieces_equal_the_tokens_of_whole_texts(dev_frame: pl.DataFrame) -> None:
    tricky = [
        "", None, "  ", " lead and trail ", "two  spaces", "tab\there\nnew line\u00a0nbsp", "don't  ' x'y 'z don'' it’s",
        "ÉCOLE İstanbul ﬁne — “quoted” ‘x’", "a.b c!? d e..f. g!", "日本語のテキストです。これはテスト。", "NASA's 3rd (big) win",
    ]
    texts = pl.concat([pl.Series("text", tricky, dtype=pl.String), dev_frame.sort("id")["text"].head(3000)])
    tokens = skeleton_tokens(pl.DataFrame({"text": texts}))
    want = _whole_text_skeleton_ids(texts)
    assert tokens.counts.tolist() == [len(doc) for doc in want]
    assert tokens.ids.tolist() == [i for doc in want for i in doc]
    assert tokens.counts[:4].tolist() == [0, 0, 0, 3]


def test_ngrams_of_every_order_stay_inside_their_document() -> None:
    frame = pl.DataFrame({"text": ["the cat sat .", "", "a dog"]})
    tokens = skeleton_tokens(frame)
    grams, docs = ngram_ids(tokens)
    assert tokens.counts.tolist() == [4, 0, 2]
    assert np.bincount(docs, minlength=3).tolist() == [4 + 3 + 2 + 1, 0, 2 + 1]
    readable = {describe(int(g)) for g in grams}
    assert "the w w ." in readable and "a w" in readable
    assert not any(r.endswith(". a") or ". a " in r for r in readable)  # nothing spans two documents
    assert all(parse(describe(int(g))) == g for g in grams)
    with pytest.raises(ValueError, match="unknown skeleton token"):
        parse("the zebra")


def test_hash_table_lookup_finds_every_key_and_nothing_else() -> None:
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(1, 1 << 36, 5000))
    table = GramTable.of(keys, np.arange(len(keys), dtype=float) + 1)
    assert np.array_equal(table.lookup(keys), np.arange(len(keys)) + 1)
    others = np.setdiff1d(rng.integers(1, 1 << 36, 20000), keys)
    assert not table.lookup(others).any()


@pytest.fixture(scope="module")
def dev_skeleton(dev_frame: pl.DataFrame):
    """Skeleton rates of human and modern-generator dev documents (xsum, writing, pubmed)."""
    dev = dev_frame.filter(
        pl.col("domain").is_in(["xsum", "writing", "pubmed"])
        & ((pl.col("label") == "human") | pl.col("generator").is_in(["gpt-3.5-turbo", "gpt-4"]))
    ).sort("id")
    tokens = skeleton_tokens(dev)
    return dev, tokens, GramMatrix.of(tokens)


def test_skeleton_model_separates_held_out_documents_and_scores_batches_as_it_was_fitted(dev_skeleton) -> None:
    dev, tokens, matrix = dev_skeleton
    y = (dev["label"] == "machine").to_numpy().astype(int)
    domain = dev["domain"].to_numpy()
    train = (dev["pair"].hash(seed=3) % 3 != 0).to_numpy()  # pairs kept on one side
    rows = np.flatnonzero(train)
    model = fit_skeleton(matrix.select(rows=rows), y[train].astype(float), group_weights(y[train], domain[train]), keep=2000)
    assert len(model.grams) == 2000 and np.all(np.diff(model.grams) > 0)
    # scoring a batch through the hash tables equals the sparse product the model was fitted with
    assert np.allclose(model.raw_logits(tokens), model.raw_logits_of_rates(matrix), atol=1e-9)
    test = ~train
    scores = model.logits(tokens)[test]
    human, machine = scores[y[test] == 0], scores[y[test] == 1]
    auc = (machine[:, None] > human[None, :]).mean() + 0.5 * (machine[:, None] == human[None, :]).mean()
    assert auc > 0.8, auc
    top = [g for g, _ in model.describe_top(20)]
    assert all(isinstance(g, str) and g for g in top)


def test_topic_hash_is_stable_and_topics_tell_genres_apart(dev_frame: pl.DataFrame) -> None:
    # fixed values: a profile's topic centroids are only valid while these do not change
    assert stable_hash(pa.array(["insulin", "warranty", ""])).tolist() == [
        int(v) for v in stable_hash(pa.array(["x", "insulin", "warranty", ""]).slice(1))
    ]
    assert stable_hash(pa.array(["insulin", "telescope"])).tolist() == [11562699109246438975, 2650368882237293098]
    human = dev_frame.filter(pl.col("label") == "human").sort("id")
    vectors = topic_vectors(prepare(human))
    assert vectors.shape == (human.height, DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1)[np.abs(vectors).sum(axis=1) > 0], 1.0, atol=1e-5)
    domain = human["domain"].to_numpy()
    half = np.arange(human.height) % 2 == 0
    center = vectors[half].mean(axis=0)  # compared relative to the average text, as profiles with a matching center do
    centroids = {d: vectors[half & (domain == d)].mean(axis=0) - center for d in ("xsum", "writing", "pubmed", "squad")}
    for d in centroids:  # the other half of each domain is nearest its own centroid
        mean = vectors[~half & (domain == d)].mean(axis=0) - center
        cos = {e: mean @ c / (np.linalg.norm(mean) * np.linalg.norm(c)) for e, c in centroids.items()}
        assert max(cos, key=cos.get) == d, (d, cos)



def test_topic_vectors_equal_a_per_document_reference(dev_frame: pl.DataFrame) -> None:
    """The batch's shared dictionary encoding gives the vectors a plain loop over each document's tokens
    gives (bucket counts of its content words, L2-normalised), bit for bit; also for rows filtered
    out of a batch whose encoding is already kept."""
    from synthscope.detect.topics import MAX_ZIPF, _common_words
    from synthscope.text import token_codes

    batch = prepare(dev_frame.sort("id").head(300))
    common = set(_common_words().to_list())

    def reference(tokens: list[str]) -> np.ndarray:
        row = np.zeros(DIM, dtype=np.float32)
        words = [t for t in tokens if re.fullmatch(r"[a-z]{3,}", t) and t not in common]
        for word, h in zip(words, stable_hash(pa.array(words, pa.large_string())).tolist() if words else []):
            row[h % DIM] += 1
        norm = np.linalg.norm(row)
        return row / norm if norm > 0 else row

    expected = np.stack([reference(list(t)) for t in batch["tokens"].to_list()])
    assert MAX_ZIPF > 0 and np.abs(expected).sum() > 0
    assert np.array_equal(topic_vectors(batch), expected)
    token_codes(batch)  # kept, then a filtered frame of it is encoded on its own
    rows = batch.filter(pl.Series(np.arange(batch.height) % 3 == 0))
    assert np.array_equal(topic_vectors(rows), expected[::3])
    assert token_codes(batch) is token_codes(batch)
