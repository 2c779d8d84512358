"""Checks: thresholds per metric and per source, config files, baseline regressions, missing metrics."""

from __future__ import annotations

import copy

import pytest

from synthscope.errors import UsageError
from synthscope.report.checks import run_checks
from synthscope.report.ci import evaluate, exit_code
from synthscope.report.config import CheckSettings, find_config, load_settings, parse_settings, resolve_settings


def _by(results, check, source):
    return [r for r in results if r["check"] == check and r["source"] == source]


def test_synthetic_threshold_records_value_threshold_and_fails_only_above(audit_report) -> None:
    fractions = {s["source"]: s["synthetic_fraction"]["estimate"] for s in audit_report["sources"]}
    threshold = sorted(fractions.values())[1]  # some sources above, some at or below
    checks = run_checks(audit_report, CheckSettings(fail_on_synthetic=threshold))
    assert len(checks["results"]) == len(fractions)
    for source, value in fractions.items():
        (record,) = _by(checks["results"], "fail_on_synthetic", source)
        assert record["value"] == pytest.approx(value)
        assert record["threshold"] == threshold and record["baseline"] is None and record["op"] == "<="
        assert record["status"] == ("fail" if value > threshold else "pass")
    assert checks["status"] == "fail" and checks["exit_code"] == 1


def test_missing_metric_fails_the_check(audit_report) -> None:
    assert run_checks(audit_report, CheckSettings(fail_on_near_dup=0.5))["exit_code"] == 0
    stripped = copy.deepcopy(audit_report)
    for source in stripped["sources"]:
        source.pop("near_duplicate_fraction")  # as if dedup had not run
    checks = run_checks(stripped, CheckSettings(fail_on_near_dup=0.5))
    assert checks["results"] and all(r["status"] == "fail" and r["value"] is None for r in checks["results"])
    assert "missing" in checks["results"][0]["message"]
    # one source without the metric is enough to fail
    partly = copy.deepcopy(audit_report)
    partly["sources"][0].pop("near_duplicate_fraction")
    assert run_checks(partly, CheckSettings(fail_on_near_dup=0.5))["exit_code"] == 1
    empty = {**audit_report, "sources": []}
    assert run_checks(empty, CheckSettings(fail_on_synthetic=0.5))["exit_code"] == 1


def test_generic_metric_rules_levels_and_per_source_overrides(audit_report) -> None:
    settings = parse_settings(
        {
            "metrics": {"exact_duplicate_fraction": {"max": 0.0}, "diversity.distinct_2": {"min": 0.0, "level": "warn"}},
            "sources": {"pubmed": {"metrics": {"exact_duplicate_fraction": {"max": 1.0}}}},
        },
        "test",
    )
    checks = run_checks(audit_report, settings)
    dup = {r["source"]: r for r in checks["results"] if r["metric"] == "exact_duplicate_fraction"}
    dups = {s["source"]: s["exact_duplicate_fraction"] for s in audit_report["sources"]}
    for source, record in dup.items():
        limit = 1.0 if source == "pubmed" else 0.0
        assert record["threshold"] == limit
        assert record["status"] == ("pass" if dups[source] <= limit else "fail")
    assert any(r["status"] == "fail" for r in dup.values())  # planted copies are found
    warn_rules = [r for r in checks["results"] if r["metric"] == "diversity.distinct_2"]
    measured = {s["source"]: s["diversity"]["distinct_2"] is not None for s in audit_report["sources"]}
    assert warn_rules and all(r["level"] == "warn" and r["status"] == ("pass" if measured[r["source"]] else "warn") for r in warn_rules)
    # a source under --diversity-min-docs (pubmed: 29 documents) is not checked on diversity: a warning, not a failure
    small = [r for r in warn_rules if not measured[r["source"]]]
    assert small and all(r["value"] is None and "not checked: fewer than 30 documents" in r["message"] for r in small)
    strict = run_checks(audit_report, parse_settings({"metrics": {"diversity.distinct_2": {"min": 0.0}}}, "t"))
    assert strict["exit_code"] == 0 and strict["status"] == "warn"
    # a warn-level rule that does not hold warns without failing
    warn_only = run_checks(audit_report, parse_settings({"metrics": {"diversity.distinct_2": {"min": 2.0, "level": "warn"}}}, "t"))
    assert warn_only["status"] == "warn" and warn_only["exit_code"] == 0


def test_config_files_synthscope_toml_and_pyproject(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text('[tool.synthscope.checks]\nfail_on_synthetic = 0.3\n[tool.synthscope.checks.sources."a.com"]\nfail_on_synthetic = 0.6\n')
    assert find_config(tmp_path) == tmp_path / "pyproject.toml"
    settings = load_settings(find_config(tmp_path))
    assert settings.fail_on_synthetic == 0.3 and settings.for_source("a.com").fail_on_synthetic == 0.6
    (tmp_path / "synthscope.toml").write_text("[checks]\nfail_on_near_dup = 0.1\nmax_diversity_drop = 0.2\n")
    settings, path = resolve_settings(None, tmp_path, fail_on_synthetic=0.05, fail_on_near_dup=None)
    assert path == tmp_path / "synthscope.toml"
    assert (settings.fail_on_synthetic, settings.fail_on_near_dup, settings.max_diversity_drop) == (0.05, 0.1, 0.2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[checks]\nfail_on_synthetc = 0.2\n", "unknown setting 'fail_on_synthetc'"),
        ("[checks]\nfail_on_synthetic = 'high'\n", "fail_on_synthetic: expected a non-negative number"),
        ("[checks.metrics]\nnear_duplicate_fraction = {maximum = 1}\n", "metrics.near_duplicate_fraction"),
        ("[checks\n", "invalid TOML"),
    ],
)
def test_bad_config_is_a_usage_error_naming_the_key(tmp_path, text, message) -> None:
    path = tmp_path / "synthscope.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_settings(path)


def _regressed(report):
    """A copy of `report` where the least synthetic source's share rose by 0.3 and its distinct-2 fell 20%."""
    new = copy.deepcopy(report)
    new["sources"].sort(key=lambda s: s["synthetic_fraction"]["estimate"])
    first = new["sources"][0]
    sf = first["synthetic_fraction"]
    sf["estimate"] = min(1.0, sf["estimate"] + 0.3)
    sf["ci_low"], sf["ci_high"] = min(sf["ci_low"] + 0.3, sf["estimate"]), min(1.0, sf["ci_high"] + 0.3)
    first["diversity"]["distinct_2"] *= 0.8
    return new


def test_baseline_regressions_fail_and_record_the_baseline_value(audit_report) -> None:
    old = copy.deepcopy(audit_report)
    new = _regressed(audit_report)
    name = new["sources"][0]["source"]
    settings = CheckSettings(max_synthetic_increase=0.1, max_diversity_drop=0.1, diversity_metrics=("distinct_2",))
    evaluate(new, settings, baseline=old, baseline_label="old/report.json")
    results = new["checks"]["results"]
    (rise,) = _by(results, "max_synthetic_increase", name)
    assert rise["status"] == "fail" and rise["value"] == pytest.approx(0.3, abs=1e-9)
    old_first = next(s for s in old["sources"] if s["source"] == name)
    assert rise["baseline"] == pytest.approx(old_first["synthetic_fraction"]["estimate"])
    (drop,) = _by(results, "max_diversity_drop", name)
    assert drop["status"] == "fail" and drop["value"] == pytest.approx(0.2)
    others = [r for r in results if r["source"] != name and r["value"] is not None]
    assert others and all(r["status"] == "pass" and r["value"] == pytest.approx(0.0) for r in others)
    unmeasured = [r for r in results if r["value"] is None]  # a source under --diversity-min-docs: warned, not failed
    assert unmeasured and all(r["status"] == "warn" and r["check"] == "max_diversity_drop" and "not checked" in r["message"] for r in unmeasured)
    assert exit_code(new) == 1
    row = next(r for r in new["comparison"]["sources"] if r["source"] == name)
    assert row["status"] == "both" and row["metrics"]["synthetic_fraction.estimate"]["delta"] == pytest.approx(0.3)


def test_no_regression_passes_and_diversity_metrics_missing_in_baseline_fail(audit_report) -> None:
    old, new = copy.deepcopy(audit_report), copy.deepcopy(audit_report)
    settings = CheckSettings(max_synthetic_increase=0.05, max_diversity_drop=0.1, diversity_metrics=("distinct_2", "ttr"))
    evaluate(new, settings, baseline=old)
    assert exit_code(new) == 0 and all(r["status"] == "pass" for r in new["checks"]["results"] if r["value"] is not None)
    new2 = copy.deepcopy(audit_report)
    older = copy.deepcopy(audit_report)  # a baseline from a version without three of the default key metrics
    for source in older["sources"]:
        for metric in ("mattr", "bigram_entropy", "vendi_score"):
            source["diversity"].pop(metric)
    evaluate(new2, CheckSettings(max_diversity_drop=0.1), baseline=older)
    assert exit_code(new2) == 1
    measured = {s["source"] for s in new2["sources"] if s["diversity"]["distinct_2"] is not None}
    absent = [r for r in new2["checks"]["results"] if r["metric"] != "diversity.distinct_2" and r["source"] in measured]
    assert absent and all(r["status"] == "fail" and "missing" in r["message"] for r in absent)
    present = [r for r in new2["checks"]["results"] if r["metric"] == "diversity.distinct_2" and r["source"] in measured]
    assert present and all(r["status"] == "pass" for r in present)


def test_added_and_removed_sources_warn(audit_report) -> None:
    old = copy.deepcopy(audit_report)
    new = copy.deepcopy(audit_report)
    new["sources"][0]["source"] = "brand-new.example"
    evaluate(new, CheckSettings(max_synthetic_increase=0.5), baseline=old)
    statuses = {r["source"]: r["status"] for r in new["comparison"]["sources"]}
    assert statuses["brand-new.example"] == "added" and statuses[old["sources"][0]["source"]] == "removed"
    assert new["checks"]["status"] == "warn" and exit_code(new) == 0
    assert any("not in the baseline" in w for w in new["checks"]["warnings"])


def test_baseline_flags_without_baseline_are_a_usage_error(audit_report) -> None:
    with pytest.raises(UsageError, match="need --baseline"):
        evaluate(audit_report, CheckSettings(max_synthetic_increase=0.1), require_baseline=True)
    with pytest.raises(UsageError, match="--baseline-is-human needs --baseline"):
        evaluate(audit_report, CheckSettings(), baseline_is_human=True)
