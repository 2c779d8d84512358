"""synthscope: audit text corpora for synthetic contamination, duplication and diversity loss."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("synthscope")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
