"""Row accounting: every row read is analysed, empty, malformed, skipped or in another language than
`--language` asks for, per file and in total."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import xxhash

from synthscope.io.storage import AnyPath, open_binary

MAX_LOCATIONS = 20


@dataclass
class RowCounts:
    """Counts of one file or of the whole run;
    rows_read == analysed + empty + malformed + skipped + other_language."""

    rows_read: int = 0
    analysed: int = 0
    empty: int = 0
    malformed: int = 0
    skipped: int = 0
    other_language: int = 0  # left out by --language (identified as another language, or undetermined)
    invalid_utf8: int = 0
    blank_lines: int = 0

    def add(self, other: RowCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Accounting:
    """Totals, the first few malformed locations ("file:line: reason") and warnings about the input."""

    totals: RowCounts = field(default_factory=RowCounts)
    malformed_locations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        """Record a warning about the input (shown on stderr and kept in the report)."""
        self.warnings.append(message)

    def note_malformed(self, label: str, row: int, reason: str) -> None:
        if len(self.malformed_locations) < MAX_LOCATIONS:
            self.malformed_locations.append(f"{label}:{row}: {reason}")


def fingerprint_file(path: AnyPath) -> str:
    """A content fingerprint of the raw file bytes (xxh3-128, streamed; a URL's object is read once more)."""
    digest = xxhash.xxh3_128()
    with open_binary(path) as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return "xxh3_128:" + digest.hexdigest()
