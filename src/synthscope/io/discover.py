"""Expand user-given paths (files, folders, globs) into a sorted list of input files."""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path

from synthscope.errors import InputError

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
    """One input file: where it is, how to read it, and the label used for ids and `--by file`."""

    path: Path
    label: str
    format: str  # "parquet" | "jsonl"
    compression: str | None  # None | "gz" | "zst"
    bytes: int


def detect_format(path: Path) -> tuple[str, str | None] | None:
    """Return (format, compression) from a file name, or None when the name is not a known format."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        compression = COMPRESSION_SUFFIXES[suffixes[-1]]
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in FORMAT_SUFFIXES:
        return FORMAT_SUFFIXES[suffixes[-1]], compression
    return None


def is_single_json_document(path: Path) -> bool:
    """True for a plain `.json` file holding one JSON document (an array, or an object spread over
    lines) rather than JSON Lines: e.g. a manifest or a config file beside the data."""
    if path.suffix.lower() != ".json" or path.stat().st_size > 1 << 20:
        return False
    raw = path.read_bytes().strip()
    if not raw:
        return False
    first_line = raw.split(b"\n", 1)[0]
    try:
        json.loads(first_line)
        first_is_document = True
    except ValueError:
        first_is_document = False
    if raw.startswith(b"["):
        return True
    if first_is_document:
        return False
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def _is_hidden(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    return any(part.startswith((".", "_")) for part in rel.parts)


def _make_input(path: Path, label: str) -> InputFile:
    detected = detect_format(path)
    if detected is None:
        known = ", ".join(sorted(FORMAT_SUFFIXES))
        raise InputError(
            f"{path}: unknown format (expected one of {known}, optionally .gz or .zst)"
        )
    fmt, compression = detected
    return InputFile(path=path, label=label, format=fmt, compression=compression, bytes=path.stat().st_size)


def discover_inputs(paths: list[str]) -> tuple[list[InputFile], list[str]]:
    """Expand files, folders (recursed) and globs into input files.

    Returns the inputs in a stable order and the files that were passed over inside folders
    (unknown formats, hidden files, `.json` files holding one JSON document such as a manifest).
    An explicitly named file of unknown format, or a single-document `.json`, is an error.
    """
    if not paths:
        raise InputError("no input paths given")
    found: list[InputFile] = []
    ignored: list[str] = []
    seen: set[Path] = set()

    def add(candidate: InputFile) -> None:
        key = candidate.path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(candidate)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                for name in sorted(filenames):
                    file_path = Path(dirpath) / name
                    label = file_path.as_posix()
                    if _is_hidden(file_path, path) or detect_format(file_path) is None or is_single_json_document(file_path):
                        ignored.append(label)
                        continue
                    add(_make_input(file_path, label))
        elif path.is_file():
            if is_single_json_document(path):
                raise InputError(f"{raw}: one JSON document, not JSON Lines (one object a line); convert it first")
            add(_make_input(path, path.as_posix()))
        elif _GLOB_CHARS & set(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                raise InputError(f"{raw}: no files match this pattern")
            for file_path in files:
                if detect_format(file_path) is None:
                    ignored.append(file_path.as_posix())
                    continue
                add(_make_input(file_path, file_path.as_posix()))
        else:
            raise InputError(f"{raw}: no such file or folder")
    if not found:
        raise InputError(
            "no readable input files in " + ", ".join(paths)
            + (f" ({len(ignored)} files of unknown format passed over)" if ignored else "")
        )
    return found, ignored
