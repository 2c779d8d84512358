"""The Ray Data engine on a real local Ray (`ray_cluster` in conftest: 2 CPUs, started once per session):
the same report as the local engine and the process pool, reading local files and s3:// alike."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import synthscope.io.parts as parts_module
from synthscope.pipeline import AuditConfig, run_audit
from tests.conftest import S3_BUCKET, SAMPLE_DATA, write_bytes
from tests.test_storage import comparable

pytestmark = pytest.mark.slow  # a Ray task's first run imports the whole toolkit in its worker: seconds each


def _messy_jsonl(tmp_path: Path) -> Path:
    """The sample corpus as JSON Lines with blank lines, malformed lines and a non-string text."""
    rows = pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet").select("id", "url", "text").write_ndjson().splitlines(keepends=True)
    for at, bad in ((5, "{not json\n"), (300, "\n"), (301, '{"url": "https://x.org/1", "text": 42}\n'), (900, "[1, 2]\n")):
        rows.insert(at, bad)
    return write_bytes("".join(rows).encode(), tmp_path / "messy.jsonl")


def _without_run_facts(report: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(report)
    out.pop("created_at")
    out.pop("timings")
    return out


def test_ray_report_equals_local_and_pool_with_accounting_and_malformed_rows(ray_cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    messy = _messy_jsonl(tmp_path)
    paths = [str(SAMPLE_DATA / "web_corpus.parquet"), str(messy)]
    monkeypatch.setattr(parts_module, "JSONL_PART_BYTES", 300_000)  # several parts of the JSON Lines file too
    reports = {}
    for engine, workers in (("local", 1), ("pool", 2), ("ray", 2)):
        report = run_audit(paths, AuditConfig(by="domain", workers=workers, batch_size=200, engine=engine))
        assert report["timings"]["engine"] == engine and report["timings"]["parts"] > 4
        assert report["totals"]["malformed"] == 3 and len(report["malformed_examples"]) == 3
        reports[engine] = _without_run_facts(report)
    assert reports["ray"] == reports["local"]
    assert reports["pool"] == reports["local"]


@pytest.mark.parametrize(
    ("target", "local"),
    [
        ("web_corpus.parquet", ["web_corpus.parquet"]),
        ("web_corpus.jsonl.gz", ["web_corpus.jsonl.gz"]),
        ("", ["web_corpus.jsonl.gz", "web_corpus.parquet"]),  # the prefix holding both (and MANIFEST.json, passed over)
    ],
)
def test_cli_ray_audit_of_s3_equals_the_local_audit(ray_cluster: Any, s3_endpoint: Any, cli: Any, tmp_path: Path, target: str, local: list[str]) -> None:
    """`synthscope audit s3://BUCKET/... --by domain --engine ray -o OUT` against the local files' audit."""
    url = f"s3://{S3_BUCKET}/data/{target}"
    remote = cli("audit", url, "--by", "domain", "--engine", "ray", "--batch-size", "400", "-o", tmp_path / "ray", "-q")
    assert remote.exit_code == 0, remote.output
    here = cli("audit", *[SAMPLE_DATA / name for name in local], "--by", "domain", "-o", tmp_path / "local", "-q")
    assert here.exit_code == 0, here.output
    ray_report = json.loads((tmp_path / "ray" / "report.json").read_text())
    local_report = json.loads((tmp_path / "local" / "report.json").read_text())
    assert ray_report["timings"]["engine"] == "ray"
    expected = comparable(local_report)
    expected["ignored_files"] = ["MANIFEST.json"] if not target else []
    assert comparable(ray_report) == expected
    assert ray_report["sources"] == local_report["sources"] and ray_report["totals"] == local_report["totals"]


def test_input_errors_in_ray_tasks_are_one_line(ray_cluster: Any, cli: Any, tmp_path: Path) -> None:
    import gzip

    whole = gzip.compress(gzip.decompress((SAMPLE_DATA / "web_corpus.jsonl.gz").read_bytes()) * 3)
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(whole[: len(whole) * 9 // 10])  # the driver's look at the first MiB passes; the task's read fails
    messy = _messy_jsonl(tmp_path)
    for args, expected in (
        ([truncated], f"error: {truncated}: truncated or corrupt gzip stream"),
        ([messy, "--strict"], f"error: {messy}:6: malformed row (invalid JSON"),
    ):
        result = cli("audit", *args, "--engine", "ray", "-o", tmp_path / "out", "-q")
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected), lines


def test_a_work_folder_the_workers_cannot_see_is_refused(ray_cluster: Any, tmp_path: Path) -> None:
    """On a cluster without a shared --workdir the tasks would spill where the driver cannot read: they refuse."""
    from synthscope.engines.ray import RayEngine, WorkdirNotShared
    from synthscope.io.discover import discover_inputs
    from synthscope.io.parts import plan_parts
    from synthscope.pipeline import build_analyzers, job_of, resolve_plan

    config = AuditConfig(by="domain", detect=False, diversity=False)
    inputs, _ = discover_inputs([str(SAMPLE_DATA / "web_corpus.parquet")])
    plan = resolve_plan(inputs, config)
    job = job_of(build_analyzers(config, tmp_path), plan, config, tmp_path / "not-on-this-node")
    with pytest.raises(WorkdirNotShared, match="not visible on the Ray node"):
        RayEngine().run(job, plan_parts(inputs, config.batch_size))


def test_dedup_and_filter_on_ray_equal_the_local_engine(ray_cluster: Any, cli: Any, tmp_path: Path) -> None:
    corpus = str(SAMPLE_DATA / "web_corpus.parquet")
    for engine in ("local", "ray"):
        result = cli("dedup", corpus, "--by", "domain", "--engine", engine, "--batch-size", "400", "-o", tmp_path / engine, "-q")
        assert result.exit_code == 0, result.output
        result = cli("filter", corpus, "--by", "domain", "--engine", engine, "--batch-size", "400", "--max-synthetic", "0.3",
                     "-o", tmp_path / engine / "filtered", "-q")
        assert result.exit_code == 0, result.output
    clusters = [pl.read_parquet(tmp_path / e / "clusters.parquet") for e in ("local", "ray")]
    assert clusters[0].height == 1142 and clusters[0].equals(clusters[1])
    decisions = [pl.read_parquet(tmp_path / e / "filtered" / "decisions.parquet") for e in ("local", "ray")]
    assert decisions[0].equals(decisions[1])


def test_without_ray_the_engine_asks_for_the_extra(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    result = cli("audit", SAMPLE_DATA / "web_corpus.parquet", "--engine", "ray", "-o", tmp_path / "out", "-q")
    assert result.exit_code == 2 and "pip install 'synthscope[ray]'" in result.stderr


def test_command_starts_its_own_ray_whose_workers_read_s3(s3_endpoint: Any, tmp_path: Path) -> None:
    """The issue's command as a user types it, in a fresh process: `AWS_ENDPOINT_URL=... synthscope audit
    s3://BUCKET/... --engine ray` starts a local Ray whose workers find the endpoint in their environment."""
    import os
    import subprocess

    target = f"s3://{S3_BUCKET}/data/"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    result = subprocess.run(
        [sys.executable, "-m", "synthscope.cli", "audit", target, "--by", "domain", "--engine", "ray", "--batch-size", "400",
         "-o", str(tmp_path / "out"), "-q"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    local = run_audit([str(SAMPLE_DATA)], AuditConfig(by="domain", workers=1))
    assert report["timings"]["engine"] == "ray" and report["timings"]["startup_seconds"] > 0
    assert comparable(report) == comparable(local)
