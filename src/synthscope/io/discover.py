"""Expand user-given paths (files, folders, globs) into a sorted list of input files."""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from synthscope.errors import InputError
from synthscope.io.storage import AnyPath, RemotePath, as_path, entry, list_files, local_path, open_binary, size_of

FORMAT_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
COMPRESSION_SUFFIXES = {".gz": "gz", ".zst": "zst", ".zstd": "zst"}
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputFile:
    """One input file: where it is (a local path or a URL), how to read it, and the label used for ids
    and `--by file` (a URL's label has no credentials or options)."""

    path: AnyPath
    label: str
    format: str  # "parquet" | "jsonl"
    compression: str | None  # None | "gz" | "zst"
    bytes: int
    relative: str = ""  # path inside what was named: under a folder, under a glob's fixed part, or the file name


def detect_format(path: AnyPath) -> tuple[str, str | None] | None:
    """Return (format, compression) from a file name, or None when the name is not a known format."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        compression = COMPRESSION_SUFFIXES[suffixes[-1]]
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in FORMAT_SUFFIXES:
        return FORMAT_SUFFIXES[suffixes[-1]], compression
    return None


def is_single_json_document(path: AnyPath, text_column: str | None = None) -> bool:
    """True for a plain `.json` file holding one JSON document rather than JSON Lines: an array, an
    object spread over lines (a manifest, an earlier report.json of any size), or, when
    `text_column` is given, a one-line object without that column (a config file beside the data).

    Reads at most the first MiB. A larger file is a document when its first line does not parse
    alone and opens a pretty-printed document (the line is `{`, or the next line is indented).
    """
    if path.suffix.lower() != ".json":
        return False
    try:
        with open_binary(path) as handle:
            head = handle.read(_SNIFF_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    head = head.removeprefix(b"\xef\xbb\xbf").strip()
    if not head:
        return False
    if head.startswith(b"["):
        return True
    lines = [ln for ln in head.split(b"\n", 2) if ln.strip()]
    first = _parses(lines[0])
    if len(head) <= _SNIFF_BYTES:  # the whole file is in `head`
        if len(lines) == 1:
            return text_column is not None and first is not _INVALID and not (isinstance(first, dict) and text_column in first)
        return first is _INVALID and _parses(head) is not _INVALID
    if first is not _INVALID:
        return False
    return lines[0].strip() == b"{" or (len(lines) > 1 and lines[1][:1] in (b" ", b"\t"))


_SNIFF_BYTES = 1 << 20
_INVALID = object()


def _parses(raw: bytes) -> object:
    try:
        return json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        return _INVALID


def _is_hidden(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    return any(part.startswith((".", "_")) for part in rel.parts)


def _make_input(path: AnyPath, label: str, root: Path | None = None, size: int | None = None, relative: str | None = None) -> InputFile:
    detected = detect_format(path)
    if detected is None:
        known = ", ".join(sorted(FORMAT_SUFFIXES))
        raise InputError(
            f"{path}: unknown format (expected one of {known}, optionally .gz or .zst)"
        )
    fmt, compression = detected
    if size is None:
        size = size_of(path)
    if relative is None:
        relative = path.relative_to(root).as_posix() if isinstance(path, Path) and root is not None else path.name
    return InputFile(path=path, label=str(path) if isinstance(path, RemotePath) else label, format=fmt, compression=compression, bytes=size, relative=relative)


def _glob_root(pattern: str) -> Path:
    """The leading folders of a glob pattern that hold no wildcard."""
    fixed = []
    for part in Path(pattern).parts[:-1]:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _passed_over(path: Path, root: Path, text_column: str) -> bool:
    """Whether a file found inside a folder is not corpus data: hidden, of unknown format, not a
    regular file (a dangling or looping symlink) or a single JSON document."""
    return (
        _is_hidden(path, root)
        or detect_format(path) is None
        or not path.is_file()
        or is_single_json_document(path, text_column)
    )


def discover_inputs(paths: list[str], text_column: str = "text") -> tuple[list[InputFile], list[str]]:
    """Expand files, folders (recursed) and globs into input files.

    Returns the inputs in a stable order and the files that were passed over inside folders
    (unknown formats, hidden files, dangling or looping symlinks, `.json` files holding one JSON
    document such as a manifest, a report or a one-line config without `text_column`).
    An explicitly named file of unknown format, or a single-document `.json`, is an error.
    """
    if not paths:
        raise InputError("no input paths given")
    found: list[InputFile] = []
    ignored: list[str] = []
    seen: set[Path] = set()

    def add(candidate: InputFile) -> None:
        key = candidate.path.url if isinstance(candidate.path, RemotePath) else candidate.path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(candidate)

    for raw in paths:
        given = as_path(raw)
        if isinstance(given, RemotePath):
            _discover_remote(given, text_column, add, ignored)
            continue
        path = given
        raw = local_path(raw)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                for name in sorted(filenames):
                    file_path = Path(dirpath) / name
                    label = file_path.as_posix()
                    if _passed_over(file_path, path, text_column):
                        ignored.append(label)
                        continue
                    add(_make_input(file_path, label, path))
        elif path.is_file():
            if is_single_json_document(path):
                raise InputError(f"{raw}: one JSON document, not JSON Lines (one object a line); convert it first")
            add(_make_input(path, path.as_posix()))
        elif _GLOB_CHARS & set(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            root = _glob_root(raw)
            files = [Path(m) for m in matches if not Path(m).is_dir()]
            if not files:
                raise InputError(f"{raw}: no such file or folder, and no files match it as a pattern")
            for file_path in files:
                if detect_format(file_path) is None or not file_path.is_file():
                    ignored.append(file_path.as_posix())
                    continue
                add(_make_input(file_path, file_path.as_posix(), root))
        else:
            raise InputError(f"{raw}: no such file or folder")
    if not found:
        raise InputError(
            "no readable input files in " + ", ".join(str(as_path(p)) for p in paths)
            + (f" ({len(ignored)} files of unknown format passed over)" if ignored else "")
        )
    return found, ignored


def _discover_remote(path: RemotePath, text_column: str, add: Callable[[InputFile], None], ignored: list[str]) -> None:
    """A URL as a file, a folder (every file under the prefix, with the same rules as a local folder)
    or a pattern (`*`, `?`, `[...]` within a path segment, `**` across segments)."""
    if _GLOB_CHARS & set(path.key):
        fixed = "/".join(_fixed_segments(path.key))
        matcher = _glob_regex(path.key[len(fixed):].lstrip("/"))
        folder = path.with_key(fixed)
        files = [(p, rel, size) for p, rel, size in list_files(folder) if matcher.fullmatch(rel)]
        if not files:
            raise InputError(f"{path}: no object matches it")
        for file_path, relative, size in files:
            if detect_format(file_path) is None:
                ignored.append(str(file_path))
                continue
            add(_make_input(file_path, str(file_path), size=size, relative=relative))
        return
    found = entry(path)
    if found.kind == "file":
        if is_single_json_document(path):
            raise InputError(f"{path}: one JSON document, not JSON Lines (one object a line); convert it first")
        add(_make_input(path, str(path), size=found.size))
    elif found.kind == "folder":
        for file_path, relative, size in list_files(path):
            if _hidden_relative(relative) or detect_format(file_path) is None or is_single_json_document(file_path, text_column):
                ignored.append(str(file_path))
                continue
            add(_make_input(file_path, str(file_path), size=size, relative=relative))
    else:
        raise InputError(f"{path}: no such object or prefix")


def _hidden_relative(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def _fixed_segments(key: str) -> list[str]:
    """The leading segments of a key pattern that hold no wildcard."""
    fixed = []
    for segment in key.split("/")[:-1]:
        if _GLOB_CHARS & set(segment):
            break
        fixed.append(segment)
    return fixed


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A key pattern as a regular expression, with the meaning `glob.glob(recursive=True)` gives it:
    `*` and `?` stay inside one segment, `**` spans segments, `[...]` is a character class."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
