"""Escape user-supplied strings (source names, paths, columns, config keys, report fields) for each
rendering: the terminal, Markdown, HTML and JSON embedded in HTML. Every renderer goes through these
helpers; no user string is ever interpolated into markup.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from rich.text import Text

# C0 and C1 control characters (ANSI escapes, bells, newlines in a name), DEL, line/paragraph
# separators and bidirectional overrides (which can reorder what a reader sees).
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;"}
# `_` only where it can open or close emphasis (not inside a word such as fail_on_synthetic).
_MARKDOWN_SPECIAL = re.compile(r"[&<>|\\`*\[\]~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_CODE_SAFE = re.compile(r"[^`<>&]*")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: Any) -> str:
    """`value` as one line of text with control characters shown as `\\x1b`-style escapes."""
    return _INVISIBLE.sub(_visible, str(value))


def md_text(value: Any) -> str:
    """A user string as literal Markdown text: HTML-significant characters and the table pipe as
    entities, Markdown punctuation backslash-escaped, control characters made visible."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        return _MARKDOWN_ENTITIES.get(char) or "\\" + char

    return _MARKDOWN_SPECIAL.sub(escape, printable(value))


def md_code(value: Any) -> str:
    """A user string as inline code when that is safe (no backtick, `<`, `>` or `&`), else as `md_text`."""
    text = printable(value)
    return f"`{text}`" if _CODE_SAFE.fullmatch(text) else md_text(text)


def html_text(value: Any) -> str:
    """A user string as HTML text or attribute value."""
    return html.escape(printable(value), quote=True)


# In a document's text: the invisible characters above except line breaks and tabs, which the text keeps.
_INVISIBLE_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def text_html(value: str) -> str:
    """A document's text as HTML text for an element that keeps white space (pre-wrap): line breaks
    and tabs kept, other control characters and bidirectional overrides shown as escapes."""
    return html.escape(_INVISIBLE_IN_TEXT.sub(_visible, value), quote=True)


def md_inline_text(value: str) -> str:
    """A document's text as one line of literal Markdown: white space runs as one space, then `md_text`."""
    return md_text(re.sub(r"\s+", " ", value))


_MARKDOWN_PUNCTUATION = re.compile(r"[\\`*_\[\]()|~!#]")


def html_in_markdown(value: Any) -> str:
    """A user string inside an HTML element of a Markdown file (a `<summary>`): HTML-escaped, and Markdown
    punctuation as numeric character references, so it reads literally whether or not the renderer
    processes Markdown there."""
    return "".join(f"&#{ord(c)};" if _MARKDOWN_PUNCTUATION.match(c) else html.escape(c, quote=True) for c in printable(value))


def json_for_html(value: Any) -> str:
    """JSON safe inside a `<script>` element: `<`, `>` and `&` as \\u escapes, so no `</script>`,
    `<!--` or `<script` can end or re-open the element."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def terminal_text(value: Any, style: str = "") -> Text:
    """A user string for rich: a Text object (never parsed as console markup), controls made visible."""
    return Text(printable(value), style=style)
