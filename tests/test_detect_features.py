"""Detect features on hand-written examples: LLM style, plain and non-native English, very short text."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from synthscope.detect.analyzer import score_batch
from synthscope.detect.scoring import scorer_of
from synthscope.detect.features import FEATURE_NAMES, FEATURES, compute_features
from synthscope.detect.profile import default_profile
from synthscope.detect.scorer import sigmoid
from synthscope.text import prepare

LLM = (
    "Certainly! It is important to note that this comprehensive approach underscores the pivotal role of "
    "meticulous planning. Additionally, it showcases how innovative strategies can foster seamless "
    "collaboration, ultimately enhancing outcomes across diverse settings. In conclusion, embracing these "
    "insights paves the way for a transformative future."
)
CASUAL = (
    "lol no. I tried that last week and it broke my bike again :) My brother says I'm an idiot. "
    "Whatever. Anyway, I don't think it's worth it - just buy the cheap one? "
    "Honestly, I believe you'd be fine. My two cents."
)
NON_NATIVE = (
    "I am student from Vietnam and I want tell about my city. My city is very beautiful and have many "
    "people. Every morning I go to school by bicycle. The food is very good and cheap. I like my city "
    "very much because my family live there. In the future I want to come back and work there."
)
SHORT = "ok"


def features_of(*texts: str) -> pl.DataFrame:
    return compute_features(prepare(pl.DataFrame({"text": list(texts)})))


def test_every_feature_has_a_published_source_and_a_column() -> None:
    frame = features_of(LLM)
    assert list(frame.columns) == list(FEATURE_NAMES)
    assert all(f.source and f.description for f in FEATURES)


def test_marker_vocabulary_and_stock_phrases_fire_on_llm_style_only() -> None:
    f = features_of(LLM, CASUAL, NON_NATIVE)
    kobak = f["kobak_style_rate"].to_list()
    assert kobak[0] > 0.1 and kobak[1] == 0.0 and kobak[2] == 0.0
    assert f["liang_adjective_rate"][0] > 0 and f["liang_adjective_rate"][2] == 0
    chatgpt, human = f["hc3_chatgpt_phrases"].to_list(), f["hc3_human_phrases"].to_list()
    assert chatgpt[0] > 0 and chatgpt[1] == 0
    assert human[1] > human[0]


def test_personal_and_punctuation_profile() -> None:
    f = features_of(LLM, CASUAL)
    assert f["first_person_rate"][1] > 0.05 and f["first_person_rate"][0] == 0
    assert f["contraction_rate"][1] > f["contraction_rate"][0]
    assert f["exclaim_question_rate"][1] > 0 and f["dash_rate"][1] > 0
    assert f["word_length_mean"][0] > f["word_length_mean"][1] + 1


def test_burstiness_repetition_and_surprise() -> None:
    uniform = "The cat sat on the mat. The dog lay on the rug. The bird sat in the tree."
    bursty = "Stop. The old man walked slowly along the road that led from the village to the river bank. Why?"
    repeated = "the cat sat on the mat " * 6
    f = features_of(uniform, bursty, repeated, "the quick cat", "antidisestablishmentarianism perspicacious sesquipedalian")
    assert f["sentence_length_cv"][1] > 3 * f["sentence_length_cv"][0]
    assert f["repeated_trigram_share"][2] > 0.6 and f["repeated_trigram_share"][1] == 0
    assert f["lexical_surprise"][4] > f["lexical_surprise"][3] + 2
    assert f["rare_word_share"][4] == 1.0 and f["rare_word_share"][3] == 0.0


def test_very_short_and_empty_texts_give_nulls_not_errors() -> None:
    f = features_of(SHORT, "", "Hi.")
    assert f.height == 3
    assert f["sentence_length_cv"].null_count() == 3  # one sentence or none: no burstiness
    assert f["kobak_style_rate"][1] is None  # no words at all


def test_default_profile_does_not_cry_wolf_on_plain_non_native_or_short_text() -> None:
    profile = default_profile()
    batch = prepare(pl.DataFrame({"text": [NON_NATIVE, CASUAL, SHORT, "Delve.", LLM]}))
    logits = score_batch(batch, scorer_of(profile)).logits
    scores = sigmoid(logits)
    assert np.all(scores[:4] < profile.threshold), scores
    assert scores[4] > scores[0] and scores[4] > scores[1]


def test_transitions_and_participial_clauses_fire_on_assistant_prose() -> None:
    f = features_of(LLM, CASUAL, NON_NATIVE)
    transitions, participles = f["transition_rate"].to_list(), f["participle_clause_rate"].to_list()
    assert transitions[0] > 0 and transitions[2] == 0  # "Additionally," and "In conclusion," open sentences
    assert participles[0] > 0 and participles[1] == 0 and participles[2] == 0  # ", ultimately enhancing"
    # a connective inside a sentence, or a comma before a noun in -ing, is not counted as such
    g = features_of("We went home however late it was. He sang, and the morning, cold, ended.")
    assert g["transition_rate"][0] == 0 and g["participle_clause_rate"][0] == 0


def test_vectorised_features_equal_the_reference_implementation(dev_frame: pl.DataFrame) -> None:
    """The numpy/dictionary-encoded features equal the earlier polars explode+join implementation on
    real documents (dev data, the sample corpus) and on edge cases, nulls included."""
    from tests.conftest import SAMPLE_DATA
    from tests.detect_features_reference import compute_features as reference

    edge = ["ok", "", "a b", "1 2 3 4", "x. y! z?", "the the the the the the", "don't can't 42abc", "é café naïve", ".",
            "Additionally, this. Furthermore it is. moreover", LLM, CASUAL, NON_NATIVE]
    for texts in (dev_frame["text"], pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet")["text"], pl.Series(edge)):
        batch = prepare(pl.DataFrame({"text": texts}))
        got, want = compute_features(batch), reference(batch)
        for name in FEATURE_NAMES:
            assert got[name].is_null().to_list() == want[name].is_null().to_list(), name
            a, b = got[name].drop_nulls().to_numpy(), want[name].drop_nulls().to_numpy()
            assert np.allclose(a, b, rtol=0, atol=1e-9), (name, float(np.abs(a - b).max()))


def test_zipf_lookup_equals_the_word_table_even_when_hashes_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    from wordfreq import get_frequency_dict

    from synthscope.detect import features

    words = ["the", "of", "telescope", "insulin", "zzzqxj", "", "don't", "naïve", "THE", "delve"]
    freqs = get_frequency_dict("en", wordlist="best")  # wordfreq's own dict of the words
    table = dict(zip(freqs, (pl.Series(list(freqs.values()), dtype=pl.Float64).log10() + 9.0).to_list()))
    want = [table.get(w, features.OOV_ZIPF) for w in words]
    vocab = pa.array(words, pa.large_string())
    assert features._zipf_values(vocab, "en").tolist() == want
    # hashes cut to 1,000 values: each lookup walks past the other listed words with its hash
    real = features._word_hashes
    monkeypatch.setattr(features, "_word_hashes", lambda w: real(w) % 1000)
    features._zipf_lookup.cache_clear()
    try:
        assert features._zipf_values(vocab, "en").tolist() == want
    finally:
        features._zipf_lookup.cache_clear()
    assert features._zipf_values(vocab, None).tolist() == [features.OOV_ZIPF] * len(words)
