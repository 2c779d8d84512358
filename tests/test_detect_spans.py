"""Spans of the span features: exactly what the features count, at the right characters of the original text."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from synthscope.detect.features import SPAN_FEATURES, compute_features, match_patterns, token_rules
from synthscope.detect.spans import document_spans, text_spans
from synthscope.text import normalize, prepare
from tests.conftest import SAMPLE_DATA

PER_100_WORDS = {"hc3_chatgpt_phrases", "hc3_human_phrases"}

# Text the normaliser changes: case, runs of white space, no-break spaces, curly apostrophes, an ellipsis
# and a ligature inside words (their normalised form is longer), a decomposed accent (shorter), an acute
# accent used as an apostrophe (NFKC turns it into a space and an accent), fullwidth letters.
AWKWARD = [
    "  Additionally,\n\n  we  DELVE\u00a0into it\u2026  Certainly! It\u2019s   Meticulous work, highlighting issues. lol I believe :)",
    "Moreover\u2026 the intri\ufb01cate plan \u2014 showcasing it. I don\u2019t think so, my friend. Furthermore, notable.",
    "Caf\u0065\u0301 delve. Moreover, it\u00b4s notable, showcasing it. Overall, I\u2019m fine.",
    "\uff21dditionally, the ＭＥＴＩＣＵＬＯＵＳ work. Thus, underscoring it. In conclusion, my two cents.",
    "",
    "   ",
]


def _spans_agree_with_features(texts: list[str]) -> None:
    batch = prepare(pl.DataFrame({"text": texts}))
    spans = document_spans(batch).to_list()
    features = compute_features(batch)
    words = batch["n_tokens"].to_numpy()
    for feature in SPAN_FEATURES:
        counted = features[feature].fill_null(0.0).to_numpy() * words / (100 if feature in PER_100_WORDS else 1)
        found = np.array([sum(s["feature"] == feature for s in row) for row in spans])
        np.testing.assert_allclose(found, counted, atol=1e-6, err_msg=feature)
    rules, patterns = token_rules(), match_patterns()
    for text, row in zip(texts, spans):
        assert [(s["start"], s["end"]) for s in row] == sorted((s["start"], s["end"]) for s in row)
        for span in row:
            piece = normalize(text[span["start"] : span["end"]])
            feature = span["feature"]
            if feature in rules:
                assert rules[feature].matches(pl.Series([piece])).item(), (feature, piece)
            else:
                spans_of = [re.sub(r"\(\?P<pre>[^)]*\)", "", p.pattern).replace("(?P<span>", "(") for p in patterns if p.feature == feature]
                assert any(re.fullmatch(p.lstrip("^"), piece) for p in spans_of), (feature, piece)


def test_spans_are_what_the_features_count_on_the_sample_data() -> None:
    texts = pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet")["text"].to_list()
    _spans_agree_with_features(texts)


def test_spans_map_back_through_normalisation() -> None:
    _spans_agree_with_features(AWKWARD)
    first, second, third, fourth = text_spans(AWKWARD[:4])
    text = AWKWARD[0]
    shown = {(s["feature"], text[s["start"] : s["end"]]) for s in first}
    assert {("transition_rate", "Additionally"), ("kobak_style_rate", "DELVE"), ("liang_adjective_rate", "Meticulous"),
            ("participle_clause_rate", "highlighting"), ("hc3_human_phrases", "I believe"), ("hc3_human_phrases", ":)"),
            ("contraction_rate", "It\u2019s"), ("hc3_chatgpt_phrases", "Certainly!")} <= shown
    assert ("transition_rate", "Moreover") in {(s["feature"], AWKWARD[1][s["start"] : s["end"]]) for s in second}
    # after the decomposed accent and the acute-accent apostrophe, offsets still land on the words
    assert {"notable", "showcasing", "Overall"} <= {AWKWARD[2][s["start"] : s["end"]] for s in third}
    assert ("transition_rate", "\uff21dditionally") in {(s["feature"], AWKWARD[3][s["start"] : s["end"]]) for s in fourth}


@pytest.mark.parametrize("feature", ["kobak_style_rate", "transition_rate"])
def test_only_the_features_asked_for(feature: str) -> None:
    spans = text_spans([AWKWARD[0]], [feature])[0]
    assert spans and {s["feature"] for s in spans} == {feature}


def test_spans_column_type_and_empty_rows() -> None:
    batch = prepare(pl.DataFrame({"text": ["no markers here", "Additionally, yes.", ""]}))
    spans = document_spans(batch)
    assert spans.dtype == pl.List(pl.Struct({"feature": pl.String, "start": pl.Int64, "end": pl.Int64}))
    assert spans.to_list()[0] == [] and spans.to_list()[2] == []
    assert {"feature": "transition_rate", "start": 0, "end": 12} in spans.to_list()[1]


def test_score_explain_writes_the_spans_of_every_document(tmp_path, cli) -> None:
    out = tmp_path / "scores.parquet"
    result = cli("score", str(SAMPLE_DATA / "web_corpus.parquet"), "--by", "domain", "--explain", "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    scores = pl.read_parquet(out)
    assert scores.schema["spans"] == pl.List(pl.Struct({"feature": pl.String, "start": pl.Int64, "end": pl.Int64}))
    texts = dict(pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet").select("id", "text").iter_rows())
    assert scores.height == len(texts)
    batch = prepare(pl.DataFrame({"text": [texts[i] for i in scores["id"]]}))
    assert scores["spans"].to_list() == document_spans(batch).to_list()
    words = batch["n_tokens"].to_numpy()
    transitions = np.array([sum(s["feature"] == "transition_rate" for s in row) for row in scores["spans"].to_list()])
    np.testing.assert_allclose(transitions, scores["transition_rate"].fill_null(0.0).to_numpy() * words, atol=1e-6)
    plain = tmp_path / "plain.parquet"
    assert cli("score", str(SAMPLE_DATA / "web_corpus.parquet"), "-o", str(plain), "-q").exit_code == 0
    assert "spans" not in pl.read_parquet(plain).columns
