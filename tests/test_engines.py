"""Parts of files read by workers, and the same report on every engine, worker count and batch size."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import synthscope.io.parts as parts_module
from synthscope.engines import LocalEngine, PoolEngine, map_part
from synthscope.io.discover import discover_inputs
from synthscope.io.parts import plan_parts, read_part
from synthscope.io.readers import ColumnSpec, read_batches
from synthscope.pipeline import AuditConfig, run_audit
from synthscope.stats import summed_counts
from tests.conftest import SAMPLE_DATA, write_bytes, write_parquet

SPEC = ColumnSpec(text="text", extra=("url",))


def _read_all(batches: Any) -> tuple[pl.DataFrame, list[tuple[int, str]], int, int]:
    frames, malformed, utf8, blank = [], [], 0, 0
    for b in batches:
        frames.append(b.frame)
        malformed += b.malformed
        utf8 += b.invalid_utf8
        blank += b.blank_lines
    return pl.concat(frames), malformed, utf8, blank


def _messy_jsonl(tmp_path: Path) -> Path:
    """The sample corpus as JSON Lines with blank lines, malformed lines and a non-string text."""
    rows = pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet").select("url", "text").write_ndjson().splitlines(keepends=True)
    for at, bad in ((5, "{not json\n"), (300, "\n"), (301, '{"url": "https://x.org/1", "text": 42}\n'), (900, "[1, 2]\n")):
        rows.insert(at, bad)
    return write_bytes("".join(rows).encode(), tmp_path / "messy.jsonl")


def test_parquet_parts_read_the_same_rows_as_the_whole_file(tmp_path: Path) -> None:
    frame = pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet")
    for group_rows in (1_000_000, 100, 7):  # one row group; groups smaller and larger than a part
        path = write_parquet(frame, tmp_path / f"g{group_rows}.parquet", row_group_size=group_rows)
        (file,), _ = discover_inputs([str(path)])
        whole = _read_all(read_batches(file, SPEC, 5000))
        parts = plan_parts([file], batch_size=37)
        assert len(parts) > 1 and [p.index for p in parts] == list(range(len(parts)))
        pieces = _read_all(b for p in parts for b in read_part(p, SPEC, 37))
        assert pieces[0].equals(whole[0]) and pieces[1:] == whole[1:]
        assert sum(p.bytes for p in parts) <= file.bytes


def test_jsonl_parts_keep_line_numbers_and_malformed_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (file,), _ = discover_inputs([str(_messy_jsonl(tmp_path))])
    whole = _read_all(read_batches(file, SPEC, 5000))
    assert [row for row, _ in whole[1]] == [6, 302, 901] and whole[3] == 1
    monkeypatch.setattr(parts_module, "JSONL_PART_BYTES", 50_000)
    parts = plan_parts([file], batch_size=100)
    assert len(parts) > 10 and sum(p.bytes for p in parts) == file.bytes
    assert all(p.first_line > 1 for p in parts[1:])
    pieces = _read_all(b for p in parts for b in read_part(p, SPEC, 100))
    assert pieces[0].equals(whole[0]) and pieces[1:] == whole[1:]


def test_part_results_carry_accounting_and_first_malformed_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from synthscope.pipeline import build_analyzers, job_of, resolve_plan

    path = _messy_jsonl(tmp_path)
    config = AuditConfig(by="domain", batch_size=100, detect=False, dedup=False, diversity=False)
    inputs, _ = discover_inputs([str(path)])
    plan = resolve_plan(inputs, config)
    job = job_of(build_analyzers(config, tmp_path), plan, config)
    monkeypatch.setattr(parts_module, "JSONL_PART_BYTES", 200_000)
    parts = plan_parts(inputs, config.batch_size)
    results = [map_part(job, p) for p in parts]
    assert sum(r.counts.rows_read for r in results) == 1142 + 3
    assert sum(r.counts.malformed for r in results) == 3
    assert [row for r in results for row, _ in r.malformed] == [6, 302, 901]
    local = LocalEngine().run(job, parts)
    assert local.parts == len(parts) and int(local.states[0].rows["documents"].sum()) == 1142


def _without_run_facts(report: dict[str, Any]) -> dict[str, Any]:
    """The report minus what differs between two runs of the same audit: the date and the timings."""
    out = copy.deepcopy(report)
    out.pop("created_at")
    out.pop("timings")
    return out


@pytest.mark.slow
def test_full_report_identical_for_any_engine_worker_count_and_batch_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    messy = _messy_jsonl(tmp_path)
    paths = [str(SAMPLE_DATA / "web_corpus.parquet"), str(messy)]
    monkeypatch.setattr(parts_module, "JSONL_PART_BYTES", 300_000)  # several parts of the JSON Lines file too
    reports = {}
    for workers, batch in ((1, 5000), (1, 37), (2, 100), (3, 61)):
        report = run_audit(paths, AuditConfig(by="domain", workers=workers, batch_size=batch))
        assert report["timings"]["engine"] == ("local" if workers == 1 else "pool")
        assert report["totals"]["malformed"] == 3 and len(report["malformed_examples"]) == 3
        reports[(workers, batch)] = _without_run_facts(report)
    first = reports[(1, 5000)]
    for key, report in reports.items():
        assert report == first, f"report differs with workers={key[0]}, batch size={key[1]}"


def test_pool_engine_maps_parts_in_workers(tmp_path: Path) -> None:
    from synthscope.pipeline import build_analyzers, job_of, resolve_plan

    config = AuditConfig(by="domain", batch_size=200, detect=False, dedup=False, diversity=False)
    inputs, _ = discover_inputs([str(SAMPLE_DATA / "web_corpus.parquet")])
    plan = resolve_plan(inputs, config)
    job = job_of(build_analyzers(config, tmp_path), plan, config)
    parts = plan_parts(inputs, config.batch_size)
    seen: list[int] = []
    engine = PoolEngine(2)
    try:
        pooled = engine.run(job, parts, lambda r: seen.append(r.part.index))
    finally:
        engine.close()
    local = LocalEngine().run(job, parts)
    assert seen == list(range(len(parts)))  # merged in part order
    key = ["source", "n_tokens"]
    assert summed_counts(pooled.states[0].rows).sort(key).equals(summed_counts(local.states[0].rows).sort(key))


def test_pool_workers_get_the_job_from_a_file_and_their_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import synthscope.engines.pool as pool_module
    from synthscope.engines.base import usable_cores
    from synthscope.pipeline import build_analyzers, job_of, resolve_plan

    for name in ("POLARS_MAX_THREADS", *pool_module.WORKER_MALLOC):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "12345")  # a user's own setting is kept
    config = AuditConfig(by="domain", batch_size=200, detect=False, dedup=False, diversity=False)
    inputs, _ = discover_inputs([str(SAMPLE_DATA / "web_corpus.parquet")])
    plan = resolve_plan(inputs, config)
    spill = tmp_path / "work"
    spill.mkdir()
    job = job_of(build_analyzers(config, spill), plan, config, spill)
    parts = plan_parts(inputs, config.batch_size)
    engine = PoolEngine(2)
    try:
        engine.start()  # the workers are spawned before any job exists
        pooled = engine.run(job, parts)
        assert [p.name for p in spill.iterdir()] and all(p.name.startswith("synthscope-job-") for p in spill.iterdir())
        names = ["POLARS_MAX_THREADS", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "POLARS_MAX_THREADS"]
        seen = list(engine.parallel_map(os.getenv, names))
        # a second run on the same workers maps with its own job (here: every document too short)
        second = engine.run(dataclasses.replace(job, min_chars=10**9), parts)
    finally:
        engine.close()
    assert pooled.states[0].rows.height > 0 and second.states[0].rows.height == 0
    threads = str(max(1, usable_cores() // 2))
    assert seen == [threads, str(32 << 20), "12345", threads]
    assert list(spill.iterdir()) == []  # the job file is gone with the pool
    assert "MALLOC_MMAP_THRESHOLD_" not in os.environ and "POLARS_MAX_THREADS" not in os.environ
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "12345"
    assert pooled.parts == len(parts) and summed_counts(pooled.states[0].rows).height == summed_counts(LocalEngine().run(job, parts).states[0].rows).height


def test_a_worker_maps_without_importing_scipy(tmp_path: Path) -> None:
    """scipy (~0.4 s to import) is only needed to fit models and in finalize: a worker's start-up and
    map do without it."""
    import pickle
    import subprocess
    import sys

    from synthscope.pipeline import build_analyzers, job_of, resolve_plan

    config = AuditConfig(by="domain", batch_size=200)
    inputs, _ = discover_inputs([str(SAMPLE_DATA / "web_corpus.parquet")])
    plan = resolve_plan(inputs, config)
    config = plan.resolved(config)
    (tmp_path / "job.pickle").write_bytes(pickle.dumps(job_of(build_analyzers(config, tmp_path), plan, config, tmp_path)))
    code = (
        "import pickle, sys\n"
        "from synthscope.engines.work import map_part\n"
        "from synthscope.io.discover import discover_inputs\n"
        "from synthscope.io.parts import plan_parts\n"
        f"job = pickle.loads(open({str(tmp_path / 'job.pickle')!r}, 'rb').read())\n"
        f"inputs, _ = discover_inputs([{str(SAMPLE_DATA / 'web_corpus.parquet')!r}])\n"
        "result = map_part(job, plan_parts(inputs, job.batch_size)[0])\n"
        "print(result.counts.analysed, sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(maxsplit=1)
    assert int(out[0]) > 0 and out[1].strip() == "[]"
