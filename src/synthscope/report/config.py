"""Check settings from flags and from `synthscope.toml` ([checks]) or pyproject.toml ([tool.synthscope.checks])."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from synthscope.errors import UsageError
from synthscope.report.metrics import KEY_DIVERSITY

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SYNTHETIC_BOUNDS = ("estimate", "ci_low", "ci_high")
LEVELS = ("error", "warn")


@dataclass(frozen=True)
class MetricRule:
    """A bound on any metric path of a source: value <= max and/or value >= min."""

    max: float | None = None
    min: float | None = None
    level: str = "error"


@dataclass(frozen=True)
class CheckSettings:
    """Thresholds of the CI checks; `sources` holds per-source overrides of the same keys."""

    fail_on_synthetic: float | None = None
    fail_on_near_dup: float | None = None
    max_synthetic_increase: float | None = None
    max_diversity_drop: float | None = None
    diversity_metrics: tuple[str, ...] = KEY_DIVERSITY
    synthetic_bound: str = "estimate"
    # a synthetic fraction left null because the source is in languages the calibration profile does not
    # cover warns instead of failing the checks that need it
    allow_unsupported_language: bool = False
    metrics: dict[str, MetricRule] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-source overrides (parsed kwargs)

    @property
    def any_rule(self) -> bool:
        return self.any_threshold or self.any_baseline_rule

    @property
    def any_threshold(self) -> bool:
        tops = (self.fail_on_synthetic, self.fail_on_near_dup)
        overrides = any(k in o for o in self.sources.values() for k in ("fail_on_synthetic", "fail_on_near_dup", "metrics"))
        return any(v is not None for v in tops) or bool(self.metrics) or overrides

    @property
    def any_baseline_rule(self) -> bool:
        tops = (self.max_synthetic_increase, self.max_diversity_drop)
        overrides = any(k in o for o in self.sources.values() for k in ("max_synthetic_increase", "max_diversity_drop"))
        return any(v is not None for v in tops) or overrides

    def for_source(self, source: str) -> CheckSettings:
        """These settings with the source's overrides applied (metric rules merge by path)."""
        override = self.sources.get(source)
        if override is None:
            return self
        changes = {k: v for k, v in override.items() if k != "metrics"}
        return replace(self, **changes, metrics={**self.metrics, **override.get("metrics", {})}, sources={})

    def with_flags(self, **flags: Any) -> CheckSettings:
        """Flags (not None) override the file's top-level values."""
        return replace(self, **{k: v for k, v in flags.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form recorded in the report."""
        out: dict[str, Any] = {
            "fail_on_synthetic": self.fail_on_synthetic,
            "fail_on_near_dup": self.fail_on_near_dup,
            "max_synthetic_increase": self.max_synthetic_increase,
            "max_diversity_drop": self.max_diversity_drop,
            "diversity_metrics": list(self.diversity_metrics),
            "synthetic_bound": self.synthetic_bound,
            "allow_unsupported_language": self.allow_unsupported_language,
            "metrics": {k: {"max": r.max, "min": r.min, "level": r.level} for k, r in self.metrics.items()},
        }
        if self.sources:
            out["sources"] = {
                name: {
                    k: (list(v) if isinstance(v, tuple) else {p: vars(r) for p, r in v.items()} if k == "metrics" else v)
                    for k, v in o.items()
                }
                for name, o in self.sources.items()
            }
        return out


_NUMBER_KEYS = ("fail_on_synthetic", "fail_on_near_dup", "max_synthetic_increase", "max_diversity_drop")
KNOWN_SECTIONS = ("checks",)  # the tables synthscope reads from synthscope.toml / [tool.synthscope]


def _number(value: Any, where: str, upper: float | None = None) -> float:
    """A non-negative number (at most `upper` when given), else a UsageError naming `where`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        raise UsageError(f"{where}: expected a non-negative number, got {value!r}")
    if upper is not None and value > upper:
        raise UsageError(f"{where}: expected a number from 0 to {upper:g} (a fraction), got {value!r}")
    return float(value)


def _rule(value: Any, where: str) -> MetricRule:
    if not isinstance(value, dict) or not value or set(value) - {"max", "min", "level"}:
        raise UsageError(f"{where}: expected a table with 'max' and/or 'min' (and optional 'level'), got {value!r}")
    level = value.get("level", "error")
    if level not in LEVELS:
        raise UsageError(f"{where}.level: expected one of {', '.join(LEVELS)}, got {level!r}")
    rule = MetricRule(
        max=None if "max" not in value else _number(value["max"], f"{where}.max"),
        min=None if "min" not in value else _number(value["min"], f"{where}.min"),
        level=level,
    )
    if rule.max is None and rule.min is None:
        raise UsageError(f"{where}: needs 'max' or 'min'")
    return rule


def parse_settings(table: dict[str, Any], where: str) -> CheckSettings:
    """CheckSettings from a TOML table; unknown keys and bad values raise UsageError naming them."""
    return CheckSettings(**_parse_table(table, where, allow_sources=True))


def _parse_table(table: dict[str, Any], where: str, allow_sources: bool) -> dict[str, Any]:
    """Validated keyword arguments of CheckSettings from one TOML table."""
    if not isinstance(table, dict):
        raise UsageError(f"{where}: expected a table, got {table!r}")
    allowed = {*_NUMBER_KEYS, "diversity_metrics", "synthetic_bound", "allow_unsupported_language", "metrics"} | ({"sources"} if allow_sources else set())
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise UsageError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    kwargs: dict[str, Any] = {k: _number(table[k], f"{where}.{k}", upper=1.0) for k in _NUMBER_KEYS if k in table}
    if "diversity_metrics" in table:
        names = table["diversity_metrics"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise UsageError(f"{where}.diversity_metrics: expected a list of metric names")
        kwargs["diversity_metrics"] = tuple(n.removeprefix("diversity.") for n in names)
    if "synthetic_bound" in table:
        if table["synthetic_bound"] not in SYNTHETIC_BOUNDS:
            raise UsageError(f"{where}.synthetic_bound: expected one of {', '.join(SYNTHETIC_BOUNDS)}")
        kwargs["synthetic_bound"] = table["synthetic_bound"]
    if "allow_unsupported_language" in table:
        if not isinstance(table["allow_unsupported_language"], bool):
            raise UsageError(f"{where}.allow_unsupported_language: expected true or false, got {table['allow_unsupported_language']!r}")
        kwargs["allow_unsupported_language"] = table["allow_unsupported_language"]
    if "metrics" in table:
        if not isinstance(table["metrics"], dict):
            raise UsageError(f"{where}.metrics: expected a table of metric rules")
        kwargs["metrics"] = {path: _rule(rule, f"{where}.metrics.{path}") for path, rule in table["metrics"].items()}
    if "sources" in table:
        if not isinstance(table["sources"], dict):
            raise UsageError(f"{where}.sources: expected a table of per-source settings")
        kwargs["sources"] = {
            name: _parse_table(sub, f"{where}.sources.{name}", allow_sources=False) for name, sub in table["sources"].items()
        }
    return kwargs


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: a folder, not a config file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the config file ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML ({exc})") from None


def _check_sections(table: Any, where: str) -> None:
    """Unknown sections (a `[check]` for `[checks]`) are errors: a typo would silently run no check."""
    if not isinstance(table, dict):
        raise UsageError(f"{where}: expected a table, got {table!r}")
    unknown = sorted(set(table) - set(KNOWN_SECTIONS))
    if unknown:
        known = ", ".join(f"[{k}]" for k in KNOWN_SECTIONS)
        raise UsageError(f"{where}: unknown section [{unknown[0]}] (known: {known})")


def find_config(start: Path) -> Path | None:
    """`synthscope.toml`, else a pyproject.toml with [tool.synthscope], in `start` (the working folder)."""
    candidate = start / "synthscope.toml"
    if candidate.is_file():
        return candidate
    pyproject = start / "pyproject.toml"
    if pyproject.is_file() and "synthscope" in _read_toml(pyproject).get("tool", {}):
        return pyproject
    return None


def load_settings(path: Path | None) -> CheckSettings:
    """Settings from a config file: [checks] of synthscope.toml, or [tool.synthscope.checks] of pyproject.toml.

    Unknown sections, unknown keys and out-of-range values are UsageErrors naming them.
    """
    if path is None:
        return CheckSettings()
    data = _read_toml(path)
    tool = data.get("tool", {}).get("synthscope") if isinstance(data.get("tool"), dict) else None
    if tool is not None:
        _check_sections(tool, f"{path}: [tool.synthscope]")
        data, where = tool, f"{path}: [tool.synthscope.checks]"
    elif path.name == "pyproject.toml":
        raise UsageError(f"{path}: no [tool.synthscope] table")
    else:
        _check_sections(data, str(path))
        where = f"{path}: [checks]"
    return parse_settings(data.get("checks", {}), where)


def resolve_settings(config: Path | None, cwd: Path, **flags: Any) -> tuple[CheckSettings, Path | None]:
    """Settings from `config` (or the one found in `cwd`), with flags (not None) on top."""
    path = config if config is not None else find_config(cwd)
    return load_settings(path).with_flags(**flags), path
