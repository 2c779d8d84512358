"""Save what a benchmark prints under benchmarks/results/, with the command, date and machine.

Use at the top of a benchmark's main():

    from _record import recorded
    with recorded("throughput"):   # tees stdout to benchmarks/results/throughput.txt
        ...print figures...

The header records the exact command line, the UTC date, the machine (CPU count, architecture, RAM,
Python, load average at the start) and the synthscope version, so every figure quoted in the README or
a note can be traced to a file and regenerated with the command it names. `--no-record` on the
command line (or SYNTHSCOPE_NO_RECORD=1) prints without writing, e.g. for quick trial runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import platform
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

if "--no-record" in sys.argv:  # taken out at import, before the benchmark parses its own arguments
    sys.argv.remove("--no-record")
    os.environ["SYNTHSCOPE_NO_RECORD"] = "1"


def machine_description() -> str:
    """One line describing this machine: cores, architecture, memory, Python, load average."""
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        mem_text = f"{mem:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        mem_text = "RAM unknown"
    try:
        load = "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "load average unknown"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores ({platform.machine()}), {mem_text}, Python {platform.python_version()}, {load}"


class _Tee(io.TextIOBase):
    def __init__(self, *streams: io.TextIOBase) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def _wants_record() -> bool:
    if "--no-record" in sys.argv:
        sys.argv.remove("--no-record")
        return False
    return os.environ.get("SYNTHSCOPE_NO_RECORD", "") in ("", "0")


@contextlib.contextmanager
def recorded(name: str) -> Iterator[None]:
    """Tee stdout into benchmarks/results/NAME.txt (written when the block ends without error)."""
    if not _wants_record():
        yield
        return
    try:
        from synthscope import __version__ as version
    except ImportError:  # pragma: no cover - benchmarks run with the package installed
        version = "unknown"
    buffer = io.StringIO()
    header = (
        f"# command: python {shlex.join(['benchmarks/' + Path(sys.argv[0]).name, *sys.argv[1:]])}\n"
        f"# date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}\n"
        f"# machine: {machine_description()}\n"
        f"# synthscope {version}\n"
    )
    buffer.write(header)
    original = sys.stdout
    sys.stdout = _Tee(original, buffer)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = original
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.txt").write_text(buffer.getvalue(), encoding="utf-8")
