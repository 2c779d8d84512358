"""The report JSON Schema: real audit reports validate, broken ones do not, loading errors are clear."""

from __future__ import annotations

import copy
import json

import pytest

from synthscope.errors import InputError
from synthscope.report.model import SCHEMA_VERSION
from synthscope.report.schema import load_report, load_schema, schema_errors, validate_report


def test_schema_is_versioned_and_documents_the_analyzer_contract_fields() -> None:
    schema = load_schema()
    assert schema["properties"]["schema_version"]["pattern"] == "^1\\.[0-9]+$"
    assert SCHEMA_VERSION.startswith("1.")
    source = schema["$defs"]["source"]["properties"]
    for field in ("synthetic_fraction", "flagged_fraction", "top_features", "exact_duplicate_fraction", "near_duplicate_fraction", "diversity", "score_histogram"):
        assert field in source
    assert set(schema["$defs"]["synthetic_fraction"]["required"]) == {"estimate", "ci_low", "ci_high", "method", "low_confidence"}
    diversity = schema["$defs"]["diversity"]["properties"]
    for name in ("ttr", "mattr", "mtld", "distinct_1", "distinct_2", "distinct_3", "unigram_entropy", "bigram_entropy", "hapax_share",
                 "zipf_exponent", "tail_mass", "compression_ratio", "self_bleu", "embedding_cosine_distance", "vendi_score",
                 "embedder", "budget_tokens", "budget_documents"):
        assert name in diversity


def test_plain_and_enriched_reports_validate(audit_report, enriched_report) -> None:
    assert schema_errors(audit_report) == []
    assert schema_errors(enriched_report) == []


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda r: r.pop("sources"), "<root>"),
        (lambda r: r["sources"][0]["synthetic_fraction"].pop("ci_low"), "sources/0/synthetic_fraction"),
        (lambda r: r["sources"][0].update(near_duplicate_fraction=1.5), "sources/0/near_duplicate_fraction"),
        (lambda r: r["sources"][0]["diversity"].update(mattr="high"), "sources/0/diversity/mattr"),
        (lambda r: r["sources"][0]["score_histogram"].pop("counts"), "sources/0/score_histogram"),
        (lambda r: r.update(schema_version="2.0"), "schema_version"),
    ],
)
def test_broken_reports_are_rejected_with_the_path(enriched_report, mutate, where) -> None:
    report = copy.deepcopy(enriched_report)
    mutate(report)
    errors = schema_errors(report)
    assert errors and errors[0].startswith(where)
    with pytest.raises(InputError, match="does not match the schema"):
        validate_report(report)


def test_load_report_errors_name_the_file(tmp_path, audit_report) -> None:
    with pytest.raises(InputError, match="not found"):
        load_report(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"bad\.json:1: not valid JSON"):
        load_report(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": 1}))
    with pytest.raises(InputError, match="no schema_version"):
        load_report(other)
    future = tmp_path / "future.json"
    future.write_text(json.dumps({**audit_report, "schema_version": "2.0"}))
    with pytest.raises(InputError, match="not supported"):
        load_report(future)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(audit_report))
    assert load_report(good) == audit_report
