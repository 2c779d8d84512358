"""The report's JSON Schema (shipped in the package), validation, and loading a report file."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from synthscope.errors import InputError, UsageError

SCHEMA_FILE = "report.schema.json"
SUPPORTED_MAJOR = 1


FILTER_SCHEMA_FILE = "filter_report.schema.json"


@lru_cache(maxsize=2)
def load_schema(name: str = SCHEMA_FILE) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) shipped as package data: the report's, or `FILTER_SCHEMA_FILE`."""
    return json.loads(resources.files("synthscope.report").joinpath(name).read_text(encoding="utf-8"))


def schema_errors(report: dict[str, Any], schema: str = SCHEMA_FILE) -> list[str]:
    """Every schema violation of `report` as 'path: message' lines (needs the `jsonschema` package)."""
    try:
        import jsonschema
    except ImportError as exc:  # pragma: no cover - jsonschema is in the test extra
        raise UsageError("full report validation needs the 'jsonschema' package (pip install jsonschema)") from exc
    validator = jsonschema.Draft202012Validator(load_schema(schema))
    errors = sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]


def validate_report(report: dict[str, Any]) -> None:
    """Raise InputError naming the first violations when `report` does not match the schema."""
    errors = schema_errors(report)
    if errors:
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise InputError("report does not match the schema: " + "; ".join(errors[:3]) + more)


def _check_shape(report: Any, label: str) -> None:
    """The minimal structure every reader relies on, checked without jsonschema."""
    if not isinstance(report, dict):
        raise InputError(f"{label}: not a synthscope report (top level is not an object)")
    if "schema_version" not in report:
        raise InputError(f"{label}: not a synthscope report (no schema_version)")
    version = report["schema_version"]
    if not isinstance(version, str) or not version.split(".")[0].isdigit():
        raise InputError(f"{label}: schema_version must be a string such as \"1.1\", got {json.dumps(version)}")
    if int(version.split(".")[0]) != SUPPORTED_MAJOR:
        raise InputError(f"{label}: report schema {version} is not supported (this synthscope reads {SUPPORTED_MAJOR}.x)")
    sources = report.get("sources")
    if not isinstance(sources, list) or not all(isinstance(s, dict) and "source" in s for s in sources):
        raise InputError(f"{label}: 'sources' must be a list of objects with a 'source' field")


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a report file; one clear InputError when it is missing, not JSON, or not a report."""
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{label}: report file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{label}: cannot read report ({exc})") from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{label}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    _check_shape(report, label)
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        return report
    errors = schema_errors(report)
    if errors:
        raise InputError(f"{label}: report does not match the schema: {errors[0]}")
    return report
