"""Memory a worker keeps between batches, and the memory settings synthscope applies to its processes."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np
import pytest

import synthscope.text as text
from synthscope.detect import analyzer as detect_analyzer
from synthscope.engines import map_part
from synthscope.io.discover import discover_inputs
from synthscope.io.parts import plan_parts, read_part
from synthscope.io.rows import classify
from synthscope.pipeline import AuditConfig, build_analyzers, job_of, resolve_plan
from tests.conftest import SAMPLE_DATA


def _job(tmp_path: Path, batch_size: int = 200):  # type: ignore[no-untyped-def]
    config = AuditConfig(by="domain", batch_size=batch_size)
    inputs, _ = discover_inputs([str(SAMPLE_DATA / "web_corpus.parquet")])
    plan = resolve_plan(inputs, config)
    config = plan.resolved(config)
    return job_of(build_analyzers(config, tmp_path), plan, config, tmp_path), plan_parts(inputs, config.batch_size)


def _cached() -> dict[str, int]:
    return {
        "codes": len(text._LAST_CODES),
        "prepared": len(text._PREPARED),
        "filtered": len(text._FILTERED_CLASSES),
        "scores": len(detect_analyzer._LAST_SCORES),
    }


def test_mapping_a_batch_fills_the_batch_caches_and_a_part_leaves_them_empty(tmp_path: Path) -> None:
    job, parts = _job(tmp_path)
    raw = next(read_part(parts[0], job.columns, job.batch_size))
    analysed, _ = classify(raw, job.columns, job.sources, job.min_chars, job.languages)
    batch = text.prepare(analysed)
    for analyzer in job.analyzers:
        analyzer.map(batch)
    cached = _cached()
    assert cached["codes"] and cached["prepared"] and cached["scores"], cached  # the analyzers of one batch share these
    result = map_part(job, parts[0])
    assert result.counts.analysed > job.batch_size  # the part has several batches
    assert not any(_cached().values()), _cached()  # nothing of the last batch is kept after the part


def test_forget_batches_empties_every_registered_cache() -> None:
    kept = text.batch_cache([])
    kept.append("a frame")
    text._LAST_CODES.append("codes")  # type: ignore[arg-type]
    text.forget_batches()
    assert kept == [] and text._LAST_CODES == []


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not Path("/proc/self/statm").exists() or platform.libc_ver()[0] != "glibc", reason="glibc on Linux")
def test_release_memory_gives_the_freed_heap_back() -> None:
    from synthscope.memory import release_memory

    chunks = [np.ones(1000) for _ in range(40_000)]  # 8 KB each: from the heap, under the mmap threshold
    del chunks  # freed, but glibc keeps most of it for reuse
    before = _rss_mib()
    assert release_memory()
    assert before - _rss_mib() > 150


def test_finalize_drops_every_state_but_the_deferred_ones(tmp_path: Path) -> None:
    from synthscope.analyzer import FinalizeContext
    from synthscope.engines import LocalEngine
    from synthscope.pipeline import explain_leading, finalize_all

    job, parts = _job(tmp_path, batch_size=500)
    states = LocalEngine().run(job, parts).states
    analyzers = list(job.analyzers)
    ctx = FinalizeContext(workdir=tmp_path, options={})
    results, _ = finalize_all(analyzers, states, ctx)
    kept = {a.name for a, s in zip(analyzers, states) if s is not None}
    assert kept == {a.name for a in analyzers if hasattr(a, "finalize_deferred")} == {"examples"}
    explain_leading(analyzers, states, results, dict.fromkeys(results, 0.0))  # still has what it reads
    assert any(fields for fields in results["examples"].per_source.values())


def test_a_worker_gives_its_heap_back_once_after_mapping_not_before_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import synthscope.engines.pool as pool

    calls: list[int] = []
    monkeypatch.setattr(pool, "release_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(pool, "_MAPPED_SINCE_RELEASE", [False])
    config = AuditConfig(by="domain", batch_size=200, detect=False, dedup=False, diversity=False)
    inputs, _ = discover_inputs([str(SAMPLE_DATA / "web_corpus.parquet")])
    plan = resolve_plan(inputs, config)
    job = job_of(build_analyzers(config, tmp_path), plan, config, tmp_path)
    job_file = str(pool._job_file(job))
    parts = plan_parts(inputs, config.batch_size)
    assert [pool._step_in_worker(abs, -3)] == [3] and calls == []  # nothing mapped yet: nothing to give back
    pool._map_in_worker(job_file, parts[0])
    pool._map_in_worker(job_file, parts[1])
    assert [pool._step_in_worker(abs, -k) for k in range(3)] == [0, 1, 2] and calls == [1]
    pool._map_in_worker(job_file, parts[2])
    pool._step_in_worker(abs, 0)
    assert calls == [1, 1]
