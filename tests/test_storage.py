"""Object storage: every command reads s3:// (and other pyarrow/fsspec URLs) as it reads local files.

The S3 API is real (moto in server mode on 127.0.0.1, `s3_endpoint` in conftest); pyarrow's S3
filesystem finds it through AWS_ENDPOINT_URL, as it would find MinIO or a cloud endpoint.
"""

from __future__ import annotations

import copy
import glob
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl
import pytest

import synthscope.io.parts as parts_module
from synthscope.io.discover import _glob_regex, discover_inputs
from synthscope.io.storage import RemotePath, redact
from synthscope.pipeline import AuditConfig, run_audit
from tests.conftest import S3_BUCKET, S3_SECRET, SAMPLE_DATA, write_bytes


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what may differ between a local file and its copy in object storage: the date,
    the timings, and the folder part of input paths (a URL instead of a local path)."""
    out = copy.deepcopy(report)
    out.pop("created_at")
    out.pop("timings")
    names = {record["path"]: PurePosixPath(record["path"]).name for record in out["inputs"]}
    for record in out["inputs"]:
        record["path"] = names[record["path"]]
    out["ignored_files"] = [PurePosixPath(p).name for p in out["ignored_files"]]
    out["malformed_examples"] = [_rename(example, names) for example in out["malformed_examples"]]
    return out


def _rename(example: str, names: dict[str, str]) -> str:
    for label, name in names.items():
        if example.startswith(label + ":"):
            return name + example[len(label):]
    return example


def upload(client: Any, path: Path, key: str) -> str:
    client.upload_file(str(path), S3_BUCKET, key)
    return f"s3://{S3_BUCKET}/{key}"


@pytest.fixture(scope="module")
def local_reports() -> dict[str, dict[str, Any]]:
    """The local audits (--by domain) of the sample parquet, its JSONL.gz copy, and the folder holding both."""
    config = AuditConfig(by="domain", workers=1)
    return {
        "parquet": run_audit([str(SAMPLE_DATA / "web_corpus.parquet")], config),
        "gz": run_audit([str(SAMPLE_DATA / "web_corpus.jsonl.gz")], config),
        "folder": run_audit([str(SAMPLE_DATA)], config),
    }


@pytest.mark.parametrize(
    ("url", "local"),
    [
        (f"s3://{S3_BUCKET}/data/web_corpus.parquet", "parquet"),
        (f"s3://{S3_BUCKET}/data/web_corpus.jsonl.gz", "gz"),
        (f"s3://{S3_BUCKET}/data/", "folder"),
        (f"s3://{S3_BUCKET}/data", "folder"),
        (f"s3://{S3_BUCKET}/**/web_corpus.*", "folder"),
    ],
)
def test_s3_file_prefix_and_glob_give_the_local_report(s3_endpoint: Any, local_reports: dict[str, Any], url: str, local: str) -> None:
    report = run_audit([url], AuditConfig(by="domain", workers=1))
    expected = comparable(local_reports[local])
    if "*" in url:
        expected["ignored_files"] = []  # the pattern does not match MANIFEST.json
    assert comparable(report) == expected
    assert [r["fingerprint"] for r in report["inputs"]] == [r["fingerprint"] for r in local_reports[local]["inputs"]]
    assert all(r["path"].startswith(f"s3://{S3_BUCKET}/") for r in report["inputs"])
    if local == "folder" and "*" not in url:
        assert report["ignored_files"] == [f"s3://{S3_BUCKET}/data/MANIFEST.json"]  # passed over as in a local folder


def test_remote_parts_keep_rows_line_numbers_and_malformed_rows(s3_endpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of remote files (Parquet row ranges, JSON Lines byte ranges) are read as local parts are."""
    rows = pl.read_parquet(SAMPLE_DATA / "web_corpus.parquet").select("id", "url", "text").write_ndjson().splitlines(keepends=True)
    for at, bad in ((5, "{not json\n"), (300, "\n"), (301, '{"url": "https://x.org/1", "text": 42}\n'), (900, "[1, 2]\n")):
        rows.insert(at, bad)
    messy = write_bytes("".join(rows).encode(), tmp_path / "messy.jsonl")
    url = upload(s3_endpoint, messy, "messy/messy.jsonl")
    monkeypatch.setattr(parts_module, "JSONL_PART_BYTES", 200_000)
    config = AuditConfig(by="domain", workers=1, batch_size=150, diversity=False)
    remote = run_audit([url, f"s3://{S3_BUCKET}/data/web_corpus.parquet"], config)
    local = run_audit([str(messy), str(SAMPLE_DATA / "web_corpus.parquet")], config)
    assert remote["timings"]["parts"] == local["timings"]["parts"] > 4
    assert remote["totals"]["malformed"] == 3 and remote["malformed_examples"][0].startswith(f"{url}:6: invalid JSON")
    assert comparable(remote) == comparable(local)


def test_missing_forbidden_and_unknown_objects_are_one_line_errors(s3_endpoint: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    upload(s3_endpoint, SAMPLE_DATA / "MANIFEST.json", "odd/notes.txt")
    cases = {
        f"s3://{S3_BUCKET}/data/nothing.parquet": "no such object or prefix",
        "s3://no-such-bucket/web_corpus.parquet": "no such object or prefix",
        f"s3://{S3_BUCKET}/odd/notes.txt": "unknown format",
        f"s3://{S3_BUCKET}/data/*.zst": "no object matches it",
        f"s3://{S3_BUCKET}/data/MANIFEST.json": "one JSON document, not JSON Lines",
        "nosuchfs://bucket/web_corpus.parquet": "no filesystem for nosuchfs://",
    }
    for url, reason in cases.items():
        result = cli("audit", url, "-o", tmp_path / "out", "-q")
        assert result.exit_code == 2, (url, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {url}: {reason}"), (url, lines)
    # no access: the endpoint now checks credentials, and this key id does not exist there
    from moto import settings
    from moto.core.responses import ActionAuthenticatorMixin

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "not-a-known-key")
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 1)
    url = f"s3://{S3_BUCKET}-private/web_corpus.parquet"  # another bucket: a filesystem made with these credentials
    result = cli("audit", url, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: s3://{S3_BUCKET}-private") and "access denied" in lines[0], lines


def test_no_secret_in_reports_messages_or_options(s3_endpoint: Any, cli: Any, tmp_path: Path) -> None:
    """Credentials come from the environment or the URL; neither reaches a report, a message or the options."""
    in_url = f"s3://synthscope-test-key:{S3_SECRET}@{S3_BUCKET}/data/web_corpus.jsonl.gz?region=us-east-1"
    out = tmp_path / "report"
    result = cli("audit", in_url, "--by", "domain", "-o", out, "--human-reference", in_url, "--no-diversity", "--no-dedup")
    assert result.exit_code == 0, result.output
    written = "".join(pl.read_parquet(p).write_csv() if p.suffix == ".parquet" else p.read_text() for p in out.iterdir())
    written += result.output + result.stderr
    assert S3_SECRET not in written and "synthscope-test-key" not in written
    report = json.loads((out / "report.json").read_text())
    assert report["inputs"][0]["path"] == f"s3://{S3_BUCKET}/data/web_corpus.jsonl.gz"
    assert report["options"]["human_reference"] == [f"s3://{S3_BUCKET}/data/web_corpus.jsonl.gz"]
    missing = cli("audit", in_url.replace("web_corpus", "nothing"), "-o", out, "-q")
    assert missing.exit_code == 2 and S3_SECRET not in missing.stderr and "s3://corpus/data/nothing.jsonl.gz" in missing.stderr


def test_dedup_score_calibrate_and_filter_read_urls(s3_endpoint: Any, cli: Any, tmp_path: Path) -> None:
    url = f"s3://{S3_BUCKET}/data/web_corpus.parquet"
    local = str(SAMPLE_DATA / "web_corpus.parquet")
    for where, path in (("remote", url), ("local", local)):
        assert cli("dedup", path, "--by", "domain", "-o", tmp_path / where / "dedup", "-q", "--workers", "1").exit_code == 0
        assert cli("score", path, "--by", "domain", "-o", tmp_path / where / "scores.parquet", "-q").exit_code == 0
    for name in ("dedup/clusters.parquet", "scores.parquet"):
        remote, here = pl.read_parquet(tmp_path / "remote" / name), pl.read_parquet(tmp_path / "local" / name)
        if "file" in remote.columns:  # clusters.parquet names the input file: the URL instead of the path
            assert set(remote["file"]) == {url}
            remote, here = remote.drop("file"), here.drop("file")
        assert remote.height == 1142 and remote.equals(here), name
    filtered = cli("filter", url, "-o", tmp_path / "filtered", "--max-synthetic", "0.3", "-q", "--workers", "1")
    assert filtered.exit_code == 0, filtered.output
    assert (tmp_path / "filtered" / "data" / "web_corpus.parquet").exists()  # outputs stay local
    profile = tmp_path / "profile.json"
    human = f"s3://{S3_BUCKET}/data/web_corpus.parquet"
    result = cli("calibrate", "--human", human, "--synthetic", f"s3://{S3_BUCKET}/data/web_corpus.jsonl.gz", "-o", profile, "-q")
    assert result.exit_code == 2 and "cannot tell human from synthetic" in result.stderr  # the same text twice: read, then refused


def test_fsspec_urls_through_the_same_reader(tmp_path: Path) -> None:
    """A protocol pyarrow does not know (here fsspec's in-memory filesystem) is read through fsspec."""
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    memory.pipe("/synthscope-test/web_corpus.parquet", (SAMPLE_DATA / "web_corpus.parquet").read_bytes())
    report = run_audit(["memory://synthscope-test/web_corpus.parquet"], AuditConfig(by="domain", workers=1, diversity=False))
    local = run_audit([str(SAMPLE_DATA / "web_corpus.parquet")], AuditConfig(by="domain", workers=1, diversity=False))
    assert comparable(report) == comparable(local)


def test_urls_are_shown_without_credentials_or_options() -> None:
    assert redact("s3://KEY:SECRET@bucket/a/b.parquet?region=x&secret_key=y") == "s3://bucket/a/b.parquet"
    assert redact("gs://bucket") == "gs://bucket"
    assert redact("data/local.parquet") == "data/local.parquet"
    path = RemotePath("s3://k:s@bucket/dir/x.jsonl.gz?region=eu-west-1")
    assert (path.name, path.suffixes, path.stem, str(path)) == ("x.jsonl.gz", [".jsonl", ".gz"], "x.jsonl", "s3://bucket/dir/x.jsonl.gz")
    assert path.with_key("other/y.parquet").url == "s3://k:s@bucket/other/y.parquet?region=eu-west-1"


def test_remote_patterns_match_what_glob_matches_locally(tmp_path: Path) -> None:
    keys = ["a.parquet", "a.jsonl", "x/a.parquet", "x/y/b.parquet", "x/y/z/c.jsonl.gz", "[1].jsonl", "b1.parquet", "x/b2.jsonl"]
    for key in keys:
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_text("")
    for pattern in ["*.parquet", "**/*.parquet", "x/**/*", "x/*/b.parquet", "b?.*", "[!a]*.parquet", "**", "x/**", "*/*.jsonl", "**/c.jsonl.gz"]:
        local = {Path(m).relative_to(tmp_path).as_posix() for m in glob.glob(str(tmp_path / pattern), recursive=True) if Path(m).is_file()}
        remote = {k for k in keys if _glob_regex(pattern).fullmatch(k)}
        assert remote == local, pattern


def test_ray_address_needs_the_ray_engine(cli: Any, tmp_path: Path) -> None:
    for command in ("audit", "dedup"):
        result = cli(command, str(SAMPLE_DATA / "web_corpus.parquet"), "--ray-address", "127.0.0.1:1", "-o", tmp_path / "o", "-q")
        assert result.exit_code == 2 and "--ray-address needs --engine ray" in result.stderr


def test_workdir_must_be_a_folder(cli: Any, tmp_path: Path) -> None:
    result = cli("audit", str(SAMPLE_DATA / "web_corpus.parquet"), "--workdir", "s3://bucket/work", "-o", tmp_path / "o", "-q")
    assert result.exit_code == 2 and "object-store prefix cannot hold the spill files" in result.stderr
    result = cli("audit", str(SAMPLE_DATA / "web_corpus.parquet"), "--workdir", tmp_path / "missing", "-o", tmp_path / "o", "-q")
    assert result.exit_code == 2 and "no such folder" in result.stderr


def test_discovery_lists_prefix_files_in_order(s3_endpoint: Any) -> None:
    inputs, ignored = discover_inputs([f"s3://{S3_BUCKET}/data"])
    assert [f.label for f in inputs] == [f"s3://{S3_BUCKET}/data/web_corpus.jsonl.gz", f"s3://{S3_BUCKET}/data/web_corpus.parquet"]
    assert [f.relative for f in inputs] == ["web_corpus.jsonl.gz", "web_corpus.parquet"]
    assert [f.bytes for f in inputs] == [(SAMPLE_DATA / n).stat().st_size for n in ("web_corpus.jsonl.gz", "web_corpus.parquet")]
    assert re.fullmatch(r"s3://corpus/data/MANIFEST\.json", ignored[0])
