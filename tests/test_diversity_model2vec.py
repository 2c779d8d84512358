"""The optional model2vec embedder, on a tiny static model this test builds itself (no download)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synthscope.diversity.embed import parse_embedder
from synthscope.diversity.ngrams import token_stream
from synthscope.diversity.spread import EmbeddingSums, mean_cosine_distance, vendi_score
from synthscope.pipeline import AuditConfig, run_audit

model2vec = pytest.importorskip("model2vec")
tokenizers = pytest.importorskip("tokenizers")

TEXTS = {
    "a": ["the cat sat on the mat", "a cat and a dog", "the dog sat on the cat", "my cat likes the mat"],
    "b": ["stocks fell sharply today", "markets rose on bank news", "the bank cut rates", "rates and stocks rose"],
}


def build_tiny_model(folder: Path) -> None:
    """A word-level tokenizer over the test vocabulary and random 16-dimensional vectors."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    words = sorted({w for texts in TEXTS.values() for t in texts for w in t.split()})
    vocab = {"[UNK]": 0, "[PAD]": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    vectors = np.random.default_rng(0).standard_normal((len(vocab), 16)).astype(np.float32)
    model2vec.StaticModel(vectors, tokenizer, normalize=True).save_pretrained(folder)


def test_model2vec_embedder_in_an_audit(tmp_path: Path) -> None:
    model_dir = tmp_path / "tiny-model"
    build_tiny_model(model_dir)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t, "source": s}) + "\n" for s, texts in TEXTS.items() for t in texts))
    config = AuditConfig(embedder=f"model2vec:{model_dir}", diversity_sample_docs=10, diversity_budget_tokens=100, diversity_min_docs=2)
    report = run_audit([str(corpus)], config)
    model = model2vec.StaticModel.from_pretrained(model_dir)
    for src in report["sources"]:
        div = src["diversity"]
        assert div["embedder"] == f"model2vec:{model_dir}"
        sums = EmbeddingSums.of(model.encode(TEXTS[src["source"]]))
        assert div["vendi_score"] == pytest.approx(vendi_score(sums), rel=1e-5)
        assert div["embedding_cosine_distance"] == pytest.approx(mean_cosine_distance(sums), rel=1e-5)


def test_unreadable_model_folder_is_an_input_error(tmp_path: Path) -> None:
    from synthscope.errors import InputError

    (tmp_path / "empty").mkdir()
    embedder = parse_embedder(f"model2vec:{tmp_path / 'empty'}", 1)
    with pytest.raises(InputError, match="cannot load the model"):
        embedder.embed(token_stream([["a"]]))
