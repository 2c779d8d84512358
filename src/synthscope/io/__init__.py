"""Input discovery, streaming readers, source assignment and row accounting."""

from synthscope.io.discover import InputFile, discover_inputs
from synthscope.io.readers import ColumnSpec, RawBatch, read_batches

__all__ = ["ColumnSpec", "InputFile", "RawBatch", "discover_inputs", "read_batches"]
