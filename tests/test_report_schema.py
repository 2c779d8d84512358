"""The report JSON Schema: real audit reports validate, broken ones do not, loading errors are clear."""

from __future__ import annotations

import copy
import json
import re

import pytest

from synthscope.errors import InputError
from synthscope.report.model import SCHEMA_VERSION
from synthscope.report.schema import load_report, load_schema, schema_errors, validate_report
from tests.conftest import REPO

README = REPO / "README.md"


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


def test_real_audit_report_validates(audit_report) -> None:
    assert schema_errors(audit_report) == []


def _documented(section: str) -> dict[str, list[str]]:
    """The backticked field names in the first column of the README table that follows `section`, each
    with the sub-fields the README names in parentheses after it."""
    text = README.read_text(encoding="utf-8")
    table = next(chunk for chunk in text[text.index(section):].split("\n\n") if chunk.startswith("| field |"))
    fields: dict[str, list[str]] = {}
    for row in table.splitlines()[2:]:
        first = row.split("|")[1]
        for name, inner in re.findall(r"`([a-z][a-z_0-9/]*)`(?:[^`(]*\(([^)]*)\))?", first):
            if "/" not in name:
                fields[name] = [n for n in re.findall(r"`([a-z][a-z_0-9]*[a-z0-9])`", inner) if not n.startswith("_")]
    return fields


def test_every_per_source_field_the_readme_documents_is_declared_and_produced(audit_report) -> None:
    """The README's per-source and diversity tables, the schema and a real audit agree: renaming or
    dropping a documented field fails here (and every report a test makes is validated, conftest)."""
    schema = load_schema()
    declared = schema["$defs"]["source"]["properties"]
    documented = _documented("Per source:")
    assert {"synthetic_fraction", "near_duplicates", "largest_clusters", "synthetic_fraction_adjusted_count"} <= set(documented)
    splits = [f"{k}_duplicate_{w}_source_fraction" for k in ("exact", "near") for w in ("within", "cross")]
    assert set(documented) | set(splits) <= set(declared)
    sources = audit_report["sources"]
    produced = set().union(*(s.keys() for s in sources))
    # every documented field is in a real report (calibration_match needs a topic-matching profile: the shipped one has it;
    # synthetic_fraction_default needs a human reference or baseline, tested in test_detect_human_reference)
    assert set(documented) - {"synthetic_fraction_default"} <= produced
    assert set(splits) <= produced
    for field in ("synthetic_fraction", "calibration_match", "tokens_per_document"):
        subfields = set(documented[field])
        assert subfields, field
        target = schema["$defs"]["synthetic_fraction"] if field == "synthetic_fraction" else declared[field]
        assert subfields <= set(target["properties"]), field
    assert set(documented["synthetic_fraction"]) - {"reason", "reference_documents"} <= set(sources[0]["synthetic_fraction"])
    diversity = [*_documented("## Diversity (per source"), "distinct_1", "distinct_2", "distinct_3"]
    assert {"mattr", "vendi_score", "below_budget", "unavailable"} <= set(diversity)
    assert set(diversity) - {"unavailable", "not_measured"} <= set(sources[0]["diversity"])
    assert "not_measured" in set().union(*(s["diversity"].keys() for s in sources))  # pubmed: 29 documents
    assert set(diversity) <= set(schema["$defs"]["diversity"]["properties"])


def test_an_undeclared_or_missing_per_source_field_fails_validation(audit_report) -> None:
    renamed = copy.deepcopy(audit_report)
    renamed["sources"][0]["near_dup_fraction"] = renamed["sources"][0].pop("near_duplicate_fraction")
    errors = schema_errors(renamed)
    assert any("near_dup_fraction" in e and "not allowed" in e for e in errors)
    assert any("'near_duplicate_fraction' is a required property" in e for e in errors)
    extra = copy.deepcopy(audit_report)
    extra["sources"][-1]["diversity"]["mattr_v2"] = 0.5
    assert any("mattr_v2" in e for e in schema_errors(extra))
    # an analyzer field is required only when its analyzer ran
    without = copy.deepcopy(audit_report)
    del without["analyzers"]["dedup"]
    for source in without["sources"]:
        for key in [k for k in source if "duplicate" in k or k == "largest_clusters"]:
            del source[key]
    without["summary"].pop("dedup")
    assert schema_errors(without) == []
    del without["analyzers"]["diversity"]
    without["sources"][0].pop("diversity")
    assert schema_errors(without) == []


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
def test_broken_reports_are_rejected_with_the_path(audit_report, mutate, where) -> None:
    report = copy.deepcopy(audit_report)
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


@pytest.fixture(scope="module")
def mixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A mixture of the labelled train data by dataset/domain, with a long tail of tiny sources, and a
    human reference of other documents of the same sources."""
    import polars as pl

    from tests.conftest import SHARED_DATA

    train = pl.read_ndjson(SHARED_DATA / "detect_train.jsonl.gz").filter(pl.col("label") != "revised")
    source = pl.concat_str([pl.col("dataset"), pl.lit("/"), pl.col("domain")]).alias("source")
    main = train.sample(900, seed=1).select("id", "text", source)
    tiny = train.sample(120, seed=2).select("id", "text", (pl.lit("tiny-") + (pl.int_range(0, 120) % 25).cast(pl.String)).alias("source"))
    folder = tmp_path_factory.mktemp("mixture")
    pl.concat([main, tiny]).write_parquet(folder / "mix.parquet")
    reference = train.filter(pl.col("label") == "human", ~pl.col("id").is_in(main["id"].implode())).sample(300, seed=3)
    reference.select("id", "text", source).write_parquet(folder / "human.parquet")
    return str(folder / "mix.parquet"), str(folder / "human.parquet")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("corpus", "options"),
    [
        ("sample", {"by": "domain"}),
        ("sample", {"by": "file", "detect": False}),
        ("sample", {"by": "domain", "languages": ["en", "de"], "examples": False}),
        ("mixture", {}),
        ("mixture", {"human_reference": ["reference"], "diversity": False}),
    ],
)
def test_real_audits_match_the_schema_under_option_combinations(mixture, corpus, options) -> None:
    from synthscope.pipeline import AuditConfig, run_audit
    from tests.conftest import SAMPLE_DATA

    paths = [str(SAMPLE_DATA / "web_corpus.parquet"), str(SAMPLE_DATA / "web_corpus.jsonl.gz")] if corpus == "sample" else [mixture[0]]
    if options.get("human_reference"):
        options = {**options, "human_reference": [mixture[1]]}
    report = run_audit(paths, AuditConfig(workers=1, **options))
    assert schema_errors(report) == []
    sources = report["sources"]
    if corpus == "mixture":
        assert any(s["documents"] < 30 for s in sources) and any(s["documents"] >= 30 for s in sources)  # compact and detailed sources
    if options.get("detect", True):
        corpus_fraction = report["summary"]["detect"]["synthetic_fraction"]
        assert corpus_fraction["sources_estimated"] == sum(1 for s in sources if s["synthetic_fraction"]["estimate"] is not None)
    else:
        assert not any("synthetic_fraction" in s for s in sources) and "detect" not in report["summary"]
    if options.get("human_reference"):
        assert {s["synthetic_fraction"]["method"] for s in sources} <= {"mle-human-reference-source", "mle-human-reference-pooled"}
        assert all("synthetic_fraction_default" in s for s in sources)
