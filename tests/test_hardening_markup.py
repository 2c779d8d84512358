"""Issue 9, markup and injection: user strings (paths, columns, source names, config keys) are printed
and rendered literally, never interpreted as rich markup, Markdown, HTML or terminal escapes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.test_hardening_io import jsonl, one_line_error, texts

EVIL = [
    "<script>alert(1)</script>",
    "</table><img src=x onerror=alert(1)>",
    "[link](javascript:alert(1))",
    "`rm -rf` *bold* _it_ a|b",
    "<!-- synthscope:end -->",
    "<!--",
    "[/INST]",
    "\x1b[31mred\x1b[0m",
    "[bold]x[/bold] :smile:",
]
OWN_TAGS = {"<details>", "<summary>", "</summary>", "</details>"}


@pytest.fixture(scope="module")
def evil_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("evil")
    rows = [{"text": t, "source": EVIL[i % len(EVIL)]} for i, t in enumerate(texts(4 * len(EVIL)))]
    path = folder / "corpus.jsonl"
    path.write_bytes(jsonl(rows))
    return path


@pytest.fixture(scope="module")
def evil_audit(evil_corpus: Path) -> tuple[Any, Path]:
    from click.testing import CliRunner

    from synthscope.cli import main

    out = evil_corpus.parent / "out"
    result = CliRunner().invoke(main, ["audit", str(evil_corpus), "-o", str(out), "-q", "--no-diversity"], catch_exceptions=False)
    return result, out


def test_terminal_summary_prints_source_names_literally(evil_audit: tuple[Any, Path]) -> None:
    result, _ = evil_audit
    assert result.exit_code == 0, result.stderr
    assert "[/INST]" in result.stdout and "[bold]x[/bold] :smile:" in result.stdout
    assert "\x1b" not in result.stdout and "\\x1b[31mred" in result.stdout


def test_markdown_has_no_user_markup(evil_audit: tuple[Any, Path]) -> None:
    _, out = evil_audit
    md = (out / "report.md").read_text()
    tags = set(re.findall(r"</?[A-Za-z!][^>\s]*>?", md))
    assert tags <= OWN_TAGS, tags - OWN_TAGS
    assert "<!--" not in md and "\x1b" not in md
    assert not re.search(r"(?<!\\)\]\(", md) and "\\[link\\](javascript:alert(1))" in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "\\`rm -rf\\` \\*bold\\* \\_it\\_ a&#124;b" in md
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert {line.count(" | ") for line in table} == {table[0].count(" | ")}  # no cell broke the table


def test_html_has_no_user_markup_and_the_chart_data_parses(evil_audit: tuple[Any, Path]) -> None:
    _, out = evil_audit
    page = (out / "report.html").read_text()
    scripts = re.findall(r'<script id="figures" type="application/json">(.*?)</script>', page, flags=re.S)
    assert len(scripts) == 1 and "<" not in scripts[0]
    figures = json.loads(scripts[0])
    labels = {y for f in figures if f["id"] == "chart-documents" for y in f["figure"]["data"][0]["y"]}
    assert "&lt;!--" in labels and "&lt;script&gt;alert(1)&lt;/script&gt;" in labels  # plotly shows entities literally
    body = page.split('<script id="figures"')[0]
    assert "<script>alert" not in body and "<img" not in body and "<!--" not in body and "\x1b" not in body
    assert re.search(r'<td>(<a href="#evidence-\d+">)?&lt;/table&gt;&lt;img src=x onerror=alert\(1\)&gt;(</a>)?</td>', body)


def test_card_stays_idempotent_whatever_the_source_names(evil_audit: tuple[Any, Path], cli: Any, tmp_path: Path) -> None:
    _, out = evil_audit
    card = tmp_path / "README.md"
    card.write_text("# My dataset\n\nSome text.\n")
    for _ in range(2):
        result = cli("card", out / "report.json", "--into", card, "--metadata")
        assert result.exit_code == 0, result.stderr
    first = card.read_text()
    assert cli("card", out / "report.json", "--into", card, "--metadata").exit_code == 0
    assert card.read_text() == first
    assert first.count("<!-- synthscope:begin -->") == 1 and first.count("<!-- synthscope:end -->") == 1
    assert first.startswith("---\n") and first.endswith("<!-- synthscope:end -->\n")


def test_paths_and_columns_with_brackets_are_named_literally(cli: Any, tmp_path: Path) -> None:
    missing = tmp_path / "[draft] corpus.jsonl.gz"
    one_line_error(cli("audit", missing, "-o", tmp_path / "o"), 2, "[draft] corpus.jsonl.gz: no such file or folder")
    path = tmp_path / "[draft] corpus.jsonl"
    path.write_bytes(jsonl([{"text": t} for t in texts(3)]))
    one_line_error(cli("audit", path, "--text-column", "[/INST]", "-o", tmp_path / "o"), 2, "no column '[/INST]'", "[draft] corpus.jsonl")
    result = cli("audit", path, "-o", tmp_path / "o", "--no-detect", "--no-diversity")
    assert result.exit_code == 0 and "[draft] corpus.jsonl" in result.stdout


def test_config_errors_keep_their_section_names(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(jsonl([{"text": t} for t in texts(3)]))
    config = tmp_path / "synthscope.toml"
    config.write_text("[checks]\nfail_on_synthetc = 0.2\n")
    one_line_error(cli("audit", path, "--config", config, "-o", tmp_path / "o"), 2, "[checks]: unknown setting 'fail_on_synthetc'")
    config.write_text("[checks\nfail_on_synthetic = 0.2\n")
    one_line_error(cli("audit", path, "--config", config, "-o", tmp_path / "o"), 2, "invalid TOML")
