"""The diversity analyzer through the real pipeline and CLI, on documents from the shared data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from synthscope.cli import main
from synthscope.pipeline import AuditConfig, run_audit

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CONTRACT = (
    "ttr", "mattr", "mtld", "distinct_1", "distinct_2", "distinct_3", "unigram_entropy", "bigram_entropy",
    "hapax_share", "zipf_exponent", "tail_mass", "compression_ratio", "self_bleu", "embedding_cosine_distance",
    "vendi_score", "embedder", "budget_tokens", "budget_documents",
)
SMALL = {"diversity_budget_tokens": 20_000, "diversity_sample_docs": 150, "diversity_hypotheses": 60}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three sources: 500 human documents, 500 copies of 50 other human documents, 15 documents."""
    human = []
    with gzip.open(DATA / "detect_dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["label"] == "human":
                human.append(row["text"])
    even, odd = human[0::2], human[1::2]  # same mix of domains in both sources
    rows = [{"id": f"h{i}", "source": "varied", "text": t} for i, t in enumerate(even[:500])]
    rows += [{"id": f"c{i}", "source": "copies", "text": odd[i % 50]} for i in range(500)]
    rows += [{"id": f"t{i}", "source": "tiny", "text": t} for i, t in enumerate(odd[100:115])]
    path = tmp_path_factory.mktemp("div") / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def audit(corpus: Path, **options: object) -> dict:
    return run_audit([str(corpus)], AuditConfig(id_column="id", **{**SMALL, **options}))  # type: ignore[arg-type]


def by_source(report: dict) -> dict[str, dict]:
    return {s["source"]: s["diversity"] for s in report["sources"]}


def test_contract_fields_and_budget_record(corpus: Path) -> None:
    report = audit(corpus)
    div = by_source(report)
    for fields in div.values():
        assert set(CONTRACT) <= set(fields)
        assert fields["budget_tokens"] == 20_000 and fields["budget_documents"] == 150
        assert fields["embedder"].startswith("hashed(")
    assert div["varied"]["below_budget"] is False and div["varied"]["sample_tokens"] == 20_000
    assert div["tiny"]["below_budget"] is True and div["tiny"]["sample_documents"] == 15
    options = report["analyzers"]["diversity"]
    assert options["seed"] == 1 and options["budget_tokens"] == 20_000 and options["budget_documents"] == 150
    assert report["summary"]["diversity"]["sources_below_budget"] == []  # tiny (15 documents) is not measured
    assert report["summary"]["diversity"]["sources_not_measured"] == 1
    every = audit(corpus, diversity_min_docs=1)
    assert every["summary"]["diversity"]["sources_below_budget"] == ["tiny"] and every["summary"]["diversity"]["sources_not_measured"] == 0
    assert {"map_seconds", "finalize_seconds", "spilled_rows", "groups"} == set(report["timings"]["analyzers"]["diversity"])


def test_copies_look_collapsed(corpus: Path) -> None:
    div = by_source(audit(corpus))
    varied, copies = div["varied"], div["copies"]
    for key in ("distinct_2", "distinct_3", "unigram_entropy", "bigram_entropy", "tail_mass", "vendi_score", "hapax_share"):
        assert copies[key] < varied[key], key
    # MATTR and MTLD look at ~100-token windows and are blind to whole-document copies; mean cosine
    # distance barely moves: a document meets its ~2 twins in ~1% of the pairs)
    assert copies["self_bleu"] > varied["self_bleu"] + 0.5  # every copy has its twin among the references
    assert copies["compression_ratio"] > varied["compression_ratio"]


def test_report_does_not_depend_on_batching(corpus: Path) -> None:
    one = by_source(audit(corpus, batch_size=5_000))
    other = by_source(audit(corpus, batch_size=37))
    assert one == other
    reseeded = by_source(audit(corpus, seed=2))
    assert reseeded["varied"]["ttr"] != one["varied"]["ttr"]


def test_cli_options(corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "r"
    result = runner.invoke(main, ["audit", str(corpus), "--id-column", "id", "-o", str(out), "--json", "-q",
                                  "--diversity-budget-tokens", "5000", "--diversity-sample-docs", "40", "--self-bleu-hypotheses", "10", "--seed", "3"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    div = by_source(report)
    assert div["varied"]["budget_tokens"] == 5000 and div["varied"]["sample_documents"] == 40
    assert div["varied"]["self_bleu_hypotheses"] == 10 and div["varied"]["seed"] == 3
    result = runner.invoke(main, ["audit", str(corpus), "--id-column", "id", "-o", str(out), "-q",
                                  "--diversity-budget-tokens", "20000", "--diversity-sample-docs", "150"])
    assert result.exit_code == 0
    assert ("diversity: 1 source under 30 documents not measured (--diversity-min-docs); 0 of the 2 measured sources are below "
            "the budget (20,000 tokens, 150 documents)") in " ".join(result.output.split())  # tiny: 15 documents
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["diversity"]["sources_not_measured"] == 1 and "not_measured" in by_source(report)["tiny"]
    result = runner.invoke(main, ["audit", str(corpus), "--id-column", "id", "-o", str(out), "-q",
                                  "--diversity-budget-tokens", "20000", "--diversity-sample-docs", "150", "--diversity-min-docs", "1"])
    assert result.exit_code == 0
    assert "diversity: 1 of the 3 measured sources are below the budget (20,000 tokens, 150 documents)" in " ".join(result.output.split())
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["diversity"]["sources_not_measured"] == 0 and by_source(report)["tiny"]["ttr"] is not None
    result = runner.invoke(main, ["audit", str(corpus), "-o", str(out), "--json", "-q", "--no-diversity"])
    assert result.exit_code == 0
    assert all("diversity" not in s for s in json.loads(result.output)["sources"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--embedder", "bert"], "expected 'hashed' or 'model2vec:PATH'"),
        (["--embedder", "model2vec:no/such/folder"], "no such folder"),
        (["--diversity-sample-docs", "1"], "--diversity-sample-docs"),
    ],
)
def test_cli_rejects_bad_diversity_options(corpus: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["audit", str(corpus), "-o", str(tmp_path / "r"), "-q", *args])
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.slow
def test_worker_processes_give_the_same_report(corpus: Path) -> None:
    """The map runs in a pool of spawned processes; the merged sample must not change."""
    assert by_source(audit(corpus, workers=2)) == by_source(audit(corpus))
