"""Issue 9, running: outputs checked before the work, config typos refused, report sets written
atomically, Ctrl-C / SIGTERM / a closed pipe end quietly, calibrations that cannot separate refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.test_hardening_io import audit, jsonl, one_line_error, texts

FAST = ("--no-detect", "--no-diversity")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "corpus.jsonl"
    path.parent.mkdir()
    path.write_bytes(jsonl([{"text": t, "source": "abc"[i % 3]} for i, t in enumerate(texts(30))]))
    return path


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "plain.txt"
    path.write_text("not a folder")
    return path


# ------------------------------------------------------------------ 12. outputs are checked before the work


def test_unwritable_report_folder_exits_2_before_reading(cli: Any, tmp_path: Path, a_file: Path) -> None:
    # The input's rows are all malformed: reading it would fail with another message.
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"not json\n" * 3)
    for target in (a_file, a_file / "sub", Path("/dev/null")):
        one_line_error(cli("audit", bad, "-o", target, *FAST), 2, f"{target}: cannot write the report here")
    assert a_file.read_text() == "not a folder" and not (tmp_path / "plain.txt.partial").exists()


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")
def test_report_folder_under_proc_exits_2(cli: Any, corpus: Path) -> None:
    one_line_error(cli("audit", corpus, "-o", "/proc/synthscope-x", *FAST), 2, "/proc/synthscope-x: cannot write the report here")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_report_folder_exits_2(cli: Any, corpus: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        one_line_error(cli("audit", corpus, "-o", folder / "out", *FAST), 2, "cannot write the report here")
    finally:
        folder.chmod(0o755)


def test_probe_leaves_no_trace_and_a_good_folder_still_works(cli: Any, corpus: Path, tmp_path: Path) -> None:
    result, _ = audit(cli, corpus, "-o", tmp_path / "deep" / "er" / "out")
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "deep" / "er" / "out").iterdir()) == ["report.html", "report.json", "report.md", "sources.parquet"]


def test_other_outputs_are_checked_first(cli: Any, corpus: Path, tmp_path: Path, a_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one_line_error(cli("dedup", corpus, "-o", a_file / "d", "-q"), 2, "cannot write the dedup output")
    one_line_error(cli("score", corpus, "-o", a_file / "s.parquet", "-q"), 2, "cannot write the scores")
    one_line_error(cli("score", corpus, "-o", tmp_path / "missing" / "s.parquet", "-q"), 2, "the folder", "does not exist")
    one_line_error(cli("calibrate", "--human", corpus, "--synthetic", corpus, "-o", tmp_path / "nope" / "p.json"), 2, "cannot write the profile")
    result, _ = audit(cli, corpus, "-o", tmp_path / "rep")
    report = tmp_path / "rep" / "report.json"
    one_line_error(cli("card", report, "--into", tmp_path / "missing" / "README.md"), 2, "the folder", "does not exist")
    one_line_error(cli("report", report, "--format", "md", "-o", tmp_path), 2, "a folder, not a file")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(a_file / "summary.md"))
    one_line_error(cli("audit", corpus, "-o", tmp_path / "rep2", *FAST), 2, "GITHUB_STEP_SUMMARY")
    assert not (tmp_path / "rep2").exists()


def test_config_that_is_not_utf8_exits_2(cli: Any, corpus: Path, tmp_path: Path) -> None:
    config = tmp_path / "synthscope.toml"
    config.write_bytes(b"[checks]\n# caf\xe9\nfail_on_synthetic = 0.2\n")
    one_line_error(cli("audit", corpus, "--config", config, "-o", tmp_path / "o", *FAST), 2, "not UTF-8")


# ------------------------------------------------------------------ 13. config typos


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("synthscope.toml", "[check]\nfail_on_synthetic = 0.2\n", "unknown section [check] (known: [checks])"),
        ("synthscope.toml", "[checks]\nfail_on_synthetic = 1.5\n", "fail_on_synthetic: expected a number from 0 to 1"),
        ("synthscope.toml", "[checks.sources.a]\nfail_on_near_dup = 2\n", "fail_on_near_dup: expected a number from 0 to 1"),
        ("synthscope.toml", "[checks]\nmax_diversity_drop = nan\n", "expected a non-negative number"),
        ("pyproject.toml", "[tool.synthscope.check]\nfail_on_synthetic = 0.2\n", "[tool.synthscope]: unknown section [check]"),
    ],
)
def test_config_typos_and_out_of_range_values_exit_2(cli: Any, corpus: Path, tmp_path: Path, name: str, text: str, message: str) -> None:
    config = tmp_path / name
    config.write_text(text)
    one_line_error(cli("audit", corpus, "--config", config, "-o", tmp_path / "o", *FAST), 2, message)


def test_per_source_rule_for_an_unknown_source_warns(cli: Any, corpus: Path, tmp_path: Path) -> None:
    config = tmp_path / "synthscope.toml"
    config.write_text('[checks]\nfail_on_near_dup = 0.9\n[checks.sources."contentfarm.biz"]\nfail_on_near_dup = 0.1\n')
    result, report = audit(cli, corpus, "--config", config, "-o", tmp_path / "o")
    assert result.exit_code == 0
    assert report["checks"]["status"] == "warn"
    assert any(w.startswith("contentfarm.biz: a per-source rule names this source") for w in report["checks"]["warnings"])


# ------------------------------------------------------------------ 14. the report set is written atomically


def test_report_set_is_replaced_whole_or_not_at_all(cli: Any, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import synthscope.report.outputs as outputs

    out = tmp_path / "out"
    assert audit(cli, corpus, "-o", out)[0].exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_render = outputs.render

    def render_then_fail_on_html(report: dict[str, Any], fmt: str) -> str:
        if fmt == "html":
            raise KeyboardInterrupt
        return real_render(report, fmt)

    monkeypatch.setattr(outputs, "render", render_then_fail_on_html)
    result = cli("audit", corpus, "-o", out, "-q", "--min-chars", "3", *FAST)
    assert result.exit_code == 130 and result.stderr.strip() == "interrupted"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the previous set, untouched
    monkeypatch.setattr(outputs, "render", real_render)
    assert cli("audit", corpus, "-o", out, "-q", "--format", "json", *FAST).exit_code == 0
    assert [p.name for p in out.iterdir()] == ["report.json"]  # no stale report.md / report.html beside it


# ------------------------------------------------------------------ 15. Ctrl-C and SIGTERM


def _group_alive(pgid: int) -> list[str]:
    """Processes (not zombies) still in a process group, from /proc."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(stat.parent.name)
    return alive


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(("sig", "code", "line"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_signal_ends_with_one_line_and_removes_temporary_files(dev_frame: pl.DataFrame, tmp_path: Path, sig: int, code: int, line: str) -> None:
    frame = dev_frame.select("text", "domain")
    big = pl.concat([frame.with_columns(pl.col("text") + f" copy {i}") for i in range(6)])
    corpus = tmp_path / "big.parquet"
    big.write_parquet(corpus)
    temp = tmp_path / "tmp"
    temp.mkdir()
    command = [sys.executable, "-m", "synthscope.cli", "audit", str(corpus), "--workers", "2", "--batch-size", "2000", "-q", "-o", str(tmp_path / "out")]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env={**os.environ, "TMPDIR": str(temp)})
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not any(p.is_file() for p in temp.rglob("*")):
        time.sleep(0.1)  # wait until the workers are writing spill files
    assert proc.poll() is None, "the audit ended before it could be interrupted"
    time.sleep(0.5)
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole foreground group, workers included
    else:
        os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code
    assert err.decode().strip() == line
    assert list(temp.iterdir()) == []
    assert not (tmp_path / "out").exists()
    time.sleep(0.5)
    assert _group_alive(proc.pid) == []


# ------------------------------------------------------------------ 17. a closed stdout


@pytest.mark.parametrize("extra", [(), ("--json",)])
def test_closed_stdout_ends_quietly_with_the_commands_own_code(corpus: Path, tmp_path: Path, extra: tuple[str, ...]) -> None:
    command = [sys.executable, "-m", "synthscope.cli", "audit", str(corpus), "-o", str(tmp_path / "o"), *FAST, *extra]
    shell = f"set -o pipefail; {' '.join(command)} | head -1"
    result = subprocess.run(["bash", "-c", shell], capture_output=True, timeout=120)
    assert result.returncode == 0 and result.stderr == b"" and len(result.stdout.splitlines()) == 1
    # a check that fails (its metric was not measured): exit 1 is the check's verdict, not the pipe's
    result = subprocess.run(["bash", "-c", shell.replace(" | head", " --fail-on-synthetic 0.5 | head")], capture_output=True, timeout=120)
    assert result.returncode == 1 and result.stderr == b""


# ------------------------------------------------------------------ 18. calibrations that cannot separate


def test_calibrate_refuses_profiles_that_cannot_separate(cli: Any, dev_frame: pl.DataFrame, tmp_path: Path) -> None:
    human = tmp_path / "human.jsonl"
    dev_frame.filter(pl.col("label") == "human").head(200).select("text", "domain").write_ndjson(human)
    profile = tmp_path / "p.json"
    result = cli("calibrate", "--human", human, "--synthetic", human, "-o", profile)
    one_line_error(result, 2, "cannot tell human from synthetic text", "held-out AUC")
    assert not profile.exists()
    few = tmp_path / "few.jsonl"
    dev_frame.head(5).select("text").write_ndjson(few)
    one_line_error(cli("calibrate", "--human", few, "--synthetic", human, "-o", profile), 2, "at least 20 human and 20 synthetic")
    assert not profile.exists()
