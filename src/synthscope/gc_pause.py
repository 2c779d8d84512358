"""Python's cyclic garbage collector paused while a report of many sources is built.

Finalizing, assembling and rendering a report of tens of thousands of sources allocate millions of
small dicts, lists and floats that live until the report is written; each allocation burst triggers
collections, and every full collection walks all of them. Reference counting still frees
everything that holds no cycle; the collector runs again as usual afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector disabled (restored as it was on exit)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
