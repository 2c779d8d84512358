"""Shared test fixtures. Every report the test suite builds or evaluates is validated against the schema."""

from __future__ import annotations

from typing import Any

import pytest

from synthscope.report.schema import validate_report


def assert_valid_report(report: dict[str, Any]) -> dict[str, Any]:
    """Fail the test unless `report` matches the shipped JSON Schema; returns it for chaining."""
    validate_report(report)
    return report


@pytest.fixture(autouse=True)
def _validate_every_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrap report construction, evaluation and writing so every report a test makes is validated."""
    import synthscope.pipeline as pipeline
    import synthscope.report.ci as ci
    import synthscope.report.outputs as outputs

    build, evaluate, write = pipeline.build_report, ci.evaluate, outputs.write_outputs

    def checked_build(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return assert_valid_report(build(*args, **kwargs))

    def checked_evaluate(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return assert_valid_report(evaluate(*args, **kwargs))

    def checked_write(report: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        return write(assert_valid_report(report), *args, **kwargs)

    monkeypatch.setattr(pipeline, "build_report", checked_build)
    monkeypatch.setattr(ci, "evaluate", checked_evaluate)
    monkeypatch.setattr(outputs, "write_outputs", checked_write)


@pytest.fixture(scope="session")
def report_corpus(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(path, frame): a JSONL corpus of real dev documents with `source` = domain and planted copies."""
    from report_fixtures import corpus_frame

    frame = corpus_frame()
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    frame.write_ndjson(path)
    return path, frame


@pytest.fixture(scope="session")
def _audit_report_once(report_corpus: Any) -> dict[str, Any]:
    from synthscope.pipeline import AuditConfig, run_audit

    path, _ = report_corpus
    return assert_valid_report(run_audit([str(path)], AuditConfig()))


@pytest.fixture()
def audit_report(_audit_report_once: dict[str, Any]) -> dict[str, Any]:
    """The real audit report of `report_corpus` (a fresh copy per test)."""
    import copy

    return copy.deepcopy(_audit_report_once)


@pytest.fixture()
def enriched_report(audit_report: dict[str, Any], report_corpus: Any) -> dict[str, Any]:
    """`audit_report` with detect/dedup/diversity fields computed from the same documents."""
    from report_fixtures import enrich

    return assert_valid_report(enrich(audit_report, report_corpus[1]))
