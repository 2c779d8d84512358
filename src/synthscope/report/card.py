"""Insert or replace the audit section (and optional metadata) in a dataset card, idempotently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthscope.errors import InputError

BEGIN = "<!-- synthscope:begin -->"
END = "<!-- synthscope:end -->"
META_BEGIN = "# synthscope:begin"
META_END = "# synthscope:end"


def _replace_between(text: str, begin: str, end: str, block: str, label: str) -> str | None:
    """`text` with the span from `begin` to `end` (inclusive) replaced by `block`; None if absent."""
    start, stop = text.find(begin), text.find(end)
    if start < 0 and stop < 0:
        return None
    if start < 0 or stop < start or text.find(begin, start + 1) >= 0:
        raise InputError(f"{label}: the synthscope markers are broken (need one '{begin}' before one '{end}')")
    return text[:start] + block + text[stop + len(end) :]


def insert_section(card: str, section: str, label: str = "card") -> str:
    """The card with `section` between the markers: replaced if present, else appended at the end."""
    block = f"{BEGIN}\n{section.strip()}\n{END}"
    replaced = _replace_between(card, BEGIN, END, block, label)
    if replaced is not None:
        return replaced
    body = card.rstrip("\n")
    return (body + "\n\n" if body else "") + block + "\n"


def insert_metadata(card: str, yaml_block: str, label: str = "card") -> str:
    """The card with `yaml_block` between comment markers in its YAML front matter (created if absent)."""
    block = f"{META_BEGIN}\n{yaml_block.strip()}\n{META_END}"
    if not card.startswith("---\n"):
        return f"---\n{block}\n---\n\n{card.lstrip(chr(10))}" if card else f"---\n{block}\n---\n"
    close = card.find("\n---", 3)
    if close < 0:
        raise InputError(f"{label}: YAML front matter is not closed by a '---' line")
    front, rest = card[4 : close + 1], card[close + 1 :]
    replaced = _replace_between(front, META_BEGIN, META_END, block, label)
    front = replaced if replaced is not None else front + block + "\n"
    return "---\n" + front + rest


def update_card_file(path: Path, report: dict[str, Any], metadata: bool = False) -> None:
    """Insert the report's section (and, with `metadata`, its YAML summary) into the card at `path`."""
    from synthscope.io.writable import check_output_file
    from synthscope.report.markdown import render_card_yaml_summary, render_section

    check_output_file(path, "the dataset card")
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the card ({exc})") from None
    updated = insert_section(text, render_section(report), str(path))
    if metadata:
        updated = insert_metadata(updated, render_card_yaml_summary(report), str(path))
    if updated != text:
        from synthscope.io.writable import write_text_atomically

        write_text_atomically(path, updated)
