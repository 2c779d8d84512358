"""Outputs: checked before the work starts (so a long run never fails at its end), and written under
temporary names then renamed (so an interrupted run never leaves a half-written or mixed set)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from synthscope.errors import UsageError


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _probe(folder: Path) -> None:
    """Create and remove a file in `folder` (raises OSError when that is not possible)."""
    handle, name = tempfile.mkstemp(prefix=".synthscope-probe-", dir=folder)
    os.close(handle)
    os.unlink(name)


def check_output_folder(folder: Path, what: str) -> None:
    """Raise a UsageError unless files can be written into `folder` (created if missing; folders
    created by the check are removed again)."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: cannot write {what} here (a file, not a folder)")
    created = [p for p in (folder, *folder.parents) if not _exists(p)]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _probe(folder)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot write {what} here ({_reason(exc)})") from None
    finally:
        for path in created:  # deepest first
            try:
                path.rmdir()
            except OSError:
                pass


def _exists(path: Path) -> bool:
    try:
        path.stat()
    except OSError:
        return False
    return True


def check_output_file(path: Path, what: str, append: bool = False) -> None:
    """Raise a UsageError unless `path` can be written (or, with `append`, appended to): its folder
    must exist, and an existing `path` must be a regular file we can open for writing."""
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"{path}: cannot write {what}: the folder {parent} does not exist")
    if path.is_dir():
        raise UsageError(f"{path}: cannot write {what}: a folder, not a file")
    try:
        if path.exists():
            if not path.is_file():
                raise UsageError(f"{path}: cannot write {what}: not a regular file")
            with open(path, "ab"):
                pass
        if not append:
            _probe(parent)  # the file is written beside its final name, then renamed
    except OSError as exc:
        raise UsageError(f"{path}: cannot write {what} ({_reason(exc)})") from None


def check_step_summary(environ: dict[str, str] | None = None) -> None:
    """When $GITHUB_STEP_SUMMARY is set, it must be a file we can append to."""
    target = (environ if environ is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if target:
        check_output_file(Path(target), "the GitHub step summary ($GITHUB_STEP_SUMMARY)", append=True)


def partial_name(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed to `path`."""
    return path.with_name(f".{path.name}.partial")


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block succeeds it is renamed to `path`,
    otherwise removed. Readers of `path` see the old file or the complete new one, never a part."""
    partial = partial_name(path)
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` through a temporary name."""
    with atomic_target(path) as partial:
        partial.write_text(text, encoding="utf-8")


def replace_set(files: dict[Path, str | bytes], stale: Sequence[Path] = ()) -> None:
    """Write several files as one set: all under temporary names first, then remove `stale` files
    of an earlier set, then rename each into place. A failure before the renames leaves the old set."""
    partials: list[Path] = []
    try:
        for path, text in files.items():
            partial = partial_name(path)
            partials.append(partial)
            if isinstance(text, bytes):
                partial.write_bytes(text)
            else:
                partial.write_text(text, encoding="utf-8")
        for path in stale:
            path.unlink(missing_ok=True)
        for path in files:
            os.replace(partial_name(path), path)
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield a fresh folder beside `target` to write into; when the block succeeds it replaces `target`
    (an earlier one is moved aside, then removed), otherwise it is removed. `target` is never partial."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
