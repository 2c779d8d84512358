"""Shared fixtures: paths to the real data, small corpora written in every supported format.

Every report the test suite builds, evaluates or writes is validated against the report schema.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import zstandard
from click.testing import CliRunner, Result

from synthscope.report.schema import validate_report

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO / "sample_data"
SHARED_DATA = REPO.parent / "shared" / "data"
DEV_DATA = SHARED_DATA / "detect_dev.jsonl.gz"


@pytest.fixture(scope="session")
def dev_frame() -> pl.DataFrame:
    """The labelled dev data (real human and machine text)."""
    if not DEV_DATA.exists():
        pytest.fail(f"shared data missing: {DEV_DATA} (the repo expects ../shared beside it)")
    return pl.read_ndjson(DEV_DATA)


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    return json.loads((SAMPLE_DATA / "MANIFEST.json").read_text())


@pytest.fixture
def small_corpus(dev_frame: pl.DataFrame) -> pl.DataFrame:
    """60 real documents from four domains with a url and a source column."""
    frame = dev_frame.filter(pl.col("label") == "human").group_by("domain", maintain_order=True).head(15)
    return frame.with_columns(
        pl.format("https://www.{}.example.com/{}", pl.col("domain"), pl.col("id")).alias("url"),
        pl.col("domain").alias("source"),
    ).select("id", "url", "source", "text", "domain")


def write_jsonl(frame: pl.DataFrame, path: Path) -> Path:
    """Write a frame as JSON Lines, compressed by the path's suffix (.gz, .zst)."""
    data = b"".join((json.dumps(row) + "\n").encode() for row in frame.iter_rows(named=True))
    return write_bytes(data, path)


def write_bytes(data: bytes, path: Path) -> Path:
    """Write raw bytes, compressed by the path's suffix (.gz, .zst)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        data = gzip.compress(data)
    elif path.suffix == ".zst":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def write_parquet(frame: pl.DataFrame, path: Path, **kwargs: Any) -> Path:
    """Write a frame as Parquet, compressed by the path's suffix (.gz, .zst) when it has one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".gz", ".zst"):
        plain = path.with_suffix("")
        frame.write_parquet(plain, **kwargs)
        write_bytes(plain.read_bytes(), path)
        plain.unlink()
    else:
        frame.write_parquet(path, **kwargs)
    return path


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run the synthscope CLI in-process; returns click's Result (stdout, stderr, exit_code)."""
    from synthscope.cli import main

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    return run


def source_counts(report: dict[str, Any]) -> dict[str, int]:
    """{source: documents} of a report."""
    return {s["source"]: s["documents"] for s in report["sources"]}

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
    from tests.report_fixtures import corpus_frame

    frame = corpus_frame()
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    frame.write_ndjson(path)
    return path, frame


@pytest.fixture(scope="session")
def _audit_report_once(report_corpus: Any) -> dict[str, Any]:
    from synthscope.pipeline import AuditConfig, run_audit

    path, _ = report_corpus
    return assert_valid_report(run_audit([str(path)], AuditConfig(workers=1)))


@pytest.fixture()
def audit_report(_audit_report_once: dict[str, Any]) -> dict[str, Any]:
    """The real audit report of `report_corpus` (every analyzer; a fresh copy per test). The report-layer
    tests (checks, card, compare, HTML, Markdown, schema) run on it: on the fields the analyzers really write."""
    import copy

    return copy.deepcopy(_audit_report_once)


# ------------------------------------------------------------------ object storage and Ray (real parts)

S3_SECRET = "synthscope-test-secret-3f9a1c"  # the fake secret key: no report or message may show it
S3_BUCKET = "corpus"


def require(module: str) -> Any:
    """Import an optional test dependency; skip without it, except in CI, where it must be installed."""
    import importlib
    import os

    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


@pytest.fixture(scope="session")
def s3_endpoint() -> Any:
    """An S3 API on 127.0.0.1 (moto in server mode, on a free port) holding sample_data/ under
    s3://corpus/data/; the environment points at it (AWS_ENDPOINT_URL, fake credentials) for the session."""

    require("moto.server")
    boto3 = require("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    patch = pytest.MonkeyPatch()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    patch.setenv("AWS_ACCESS_KEY_ID", "synthscope-test-key")
    patch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    patch.setenv("AWS_REGION", "us-east-1")
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.client("s3")
    client.create_bucket(Bucket=S3_BUCKET)
    for name in ("web_corpus.parquet", "web_corpus.jsonl.gz", "MANIFEST.json"):
        client.upload_file(str(SAMPLE_DATA / name), S3_BUCKET, f"data/{name}")
    try:
        yield client
    finally:
        patch.undo()
        server.stop()


@pytest.fixture(scope="session")
def ray_cluster(s3_endpoint: Any) -> Any:
    """A local Ray (2 CPUs, no dashboard, a small object store, no usage statistics), started once per
    session after the S3 endpoint so that its workers inherit the endpoint's environment."""
    import os

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray = require("ray")
    require("ray.data")
    from synthscope.engines.ray import WORKER_ENV

    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=100 << 20, logging_level="ERROR", log_to_driver=False,
             runtime_env={"env_vars": dict(WORKER_ENV)})
    try:
        yield ray
    finally:
        ray.shutdown()
