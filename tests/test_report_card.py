"""Dataset-card insertion between markers, idempotent, and the YAML metadata."""

from __future__ import annotations

import copy

import pytest
import yaml

from synthscope.errors import InputError
from synthscope.report.card import BEGIN, END, insert_metadata, insert_section, update_card_file
from synthscope.report.markdown import TITLE, card_metadata, render_card_yaml, render_card_yaml_summary, render_section

CARD = "---\nlicense: mit\nlanguage:\n- en\n---\n\n# My corpus\n\nSome words.\n\n## Usage\n\nLoad it.\n"


def test_insert_appends_then_replaces_idempotently(audit_report) -> None:
    section = render_section(audit_report)
    once = insert_section(CARD, section)
    assert once.startswith(CARD.rstrip("\n")) and once.count(BEGIN) == 1 and TITLE in once
    assert insert_section(once, section) == once
    newer = render_section({**audit_report, "created_at": "2030-01-01T00:00:00+00:00"})
    replaced = insert_section(once, newer)
    assert "Audited 2030-01-01" in replaced and replaced.count(END) == 1
    assert replaced.split(BEGIN)[0] == once.split(BEGIN)[0]  # the rest of the card untouched


def test_section_in_the_middle_keeps_text_after_it(audit_report) -> None:
    card = f"# Card\n\n{BEGIN}\nold audit\n{END}\n\n## License\n\nMIT\n"
    out = insert_section(card, render_section(audit_report))
    assert out.endswith(f"{END}\n\n## License\n\nMIT\n") and "old audit" not in out


def test_broken_markers_are_an_input_error() -> None:
    with pytest.raises(InputError, match="markers are broken"):
        insert_section(f"x\n{END}\n{BEGIN}\n", "s")
    with pytest.raises(InputError, match="markers are broken"):
        insert_section(f"x\n{BEGIN}\n", "s")


def test_card_file_created_and_metadata_in_front_matter(tmp_path, audit_report) -> None:
    readme = tmp_path / "README.md"
    update_card_file(readme, audit_report)
    first = readme.read_text()
    assert first.startswith(BEGIN)
    update_card_file(readme, audit_report)
    assert readme.read_text() == first
    readme.write_text(CARD)
    update_card_file(readme, audit_report, metadata=True)
    once = readme.read_text()
    update_card_file(readme, audit_report, metadata=True)
    assert readme.read_text() == once
    front = yaml.safe_load(once.split("---\n")[1])
    assert front["license"] == "mit" and front["language"] == ["en"]
    assert front["synthscope"]["documents"] == audit_report["totals"]["analysed"]
    assert insert_metadata("", render_card_yaml_summary(audit_report)).startswith("---\n# synthscope:begin\n")


def test_yaml_block_parses_and_matches_the_report(audit_report) -> None:
    meta = yaml.safe_load(render_card_yaml(audit_report))
    assert meta == card_metadata(audit_report)
    assert meta["size_categories"] == ["1K<n<10K"]
    # one corpus-level synthetic fraction: the sources' estimates weighted by the documents they used,
    # the same in the card metadata and in the report's summary
    used = [(s["synthetic_fraction"]["estimate"], s["synthetic_fraction"]["documents_used"]) for s in audit_report["sources"]]
    weighted = sum(e * n for e, n in used) / sum(n for _, n in used)
    corpus = audit_report["summary"]["detect"]["synthetic_fraction"]
    assert corpus["estimate"] == pytest.approx(weighted, abs=1e-4) == meta["synthscope"]["synthetic_fraction"]
    assert corpus["documents_used"] == audit_report["totals"]["analysed"] and corpus["sources_estimated"] == len(used)


def test_corpus_fraction_follows_the_sources_after_a_human_baseline(audit_report) -> None:
    from synthscope.report.ci import evaluate
    from synthscope.report.config import CheckSettings

    before = audit_report["summary"]["detect"]["synthetic_fraction"]["estimate"]
    new = evaluate(copy.deepcopy(audit_report), CheckSettings(), baseline=audit_report, baseline_label="old.json", baseline_is_human=True)
    after = new["summary"]["detect"]["synthetic_fraction"]
    # the baseline estimates carry no documents_used: each source then weighs its documents
    used = [(s["synthetic_fraction"]["estimate"], s["synthetic_fraction"].get("documents_used", s["documents"])) for s in new["sources"]]
    assert after["estimate"] == pytest.approx(sum(e * n for e, n in used) / sum(n for _, n in used), abs=1e-4)
    assert after["estimate"] < before  # the corpus against itself as human reference reads (nearly) human
    assert card_metadata(new)["synthscope"]["synthetic_fraction"] == after["estimate"]


def test_limitations_point_to_the_error_of_the_profile_used(audit_report) -> None:
    from synthscope.report.markdown import limitations

    shipped = limitations(audit_report)
    assert "shipped profile" in shipped and "How good it is" in shipped and "0.15" not in shipped
    own = copy.deepcopy(audit_report)
    own["summary"]["detect"]["profile"] = "my-profile.json"  # as an audit with --calibration my-profile.json records it
    assert "`synthscope calibrate` printed" in limitations(own) and "shipped profile" not in limitations(own)
