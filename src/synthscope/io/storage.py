"""Where input files live: a local path, or a URL of object storage or another remote filesystem.

Every reader opens files through this module, so local files and URLs take one code path: a local
file is opened with Python's `open`, a URL through a pyarrow filesystem (`s3://`, `gs://`, `hdfs://`
natively; any other fsspec protocol, such as `az://` or `hf://`, through fsspec when it and the
protocol's package are installed). Credentials and endpoints come from the environment as each
filesystem reads it (`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`,
`AWS_REGION`; `GOOGLE_APPLICATION_CREDENTIALS`, ...) or from the URL's own options
(`s3://bucket/key?region=eu-west-1`). What is shown (labels, errors, reports) is the URL without
credentials (`s3://KEY:SECRET@bucket` shows as `s3://bucket`) and without options.

A `RemotePath` is a small picklable value; its filesystem is made once per process and bucket, so a
worker of any engine (process pool, Ray) opens the same URL with its own environment's credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Union

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from synthscope.errors import InputError

_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]+)://")
STREAM_BUFFER_BYTES = 8 << 20  # sequential reads of a remote object are buffered this much (fewer requests)
_DENIED = (
    "ACCESS_DENIED", "AccessDenied", "Forbidden", "HTTP status 403", "INVALID_ACCESS_KEY_ID", "InvalidAccessKeyId", "SIGNATURE_DOES_NOT_MATCH",
    "SignatureDoesNotMatch", "PermissionDenied", "permission denied",
)


def is_url(raw: str) -> bool:
    """True for a URL of a remote filesystem (`s3://...`); `file://` URLs are local paths."""
    match = _URL.match(raw)
    return match is not None and match.group(1).lower() != "file"


def local_path(raw: str) -> str:
    """A `file://` URL as a plain path; anything else unchanged."""
    return raw[len("file://"):] if raw.lower().startswith("file://") else raw


def _split(url: str) -> tuple[str, str, str, str]:
    """(scheme, netloc, path, query) of a URL; the path has no leading slash, the query no `?`."""
    scheme, rest = url.split("://", 1)
    netloc, _, path = rest.partition("/")
    path, _, query = path.partition("?")
    if not path and "?" in netloc:
        netloc, _, query = netloc.partition("?")
    return scheme.lower(), netloc, path, query


def redact(url: str) -> str:
    """A URL as it may be shown and recorded: no credentials (`user:secret@`) and no options (`?...`)."""
    if not is_url(url):
        return url
    scheme, netloc, path, _ = _split(url)
    host = netloc.rsplit("@", 1)[-1]
    return f"{scheme}://{host}/{path}" if path else f"{scheme}://{host}"


@dataclass(frozen=True)
class RemotePath:
    """A file, folder (prefix) or pattern on a remote filesystem, by URL (as given, options kept)."""

    url: str

    @property
    def shown(self) -> str:
        """The URL without credentials or options: what labels, errors and reports show."""
        return redact(self.url)

    @property
    def _parts(self) -> tuple[str, str, str, str]:
        scheme, netloc, path, query = _split(self.url)
        return scheme, netloc, path.strip("/"), query

    @property
    def key(self) -> str:
        """The path inside the bucket (or host), without a leading or trailing slash."""
        return self._parts[2]

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.key).suffix

    @property
    def suffixes(self) -> list[str]:
        return PurePosixPath(self.key).suffixes

    @property
    def stem(self) -> str:
        return PurePosixPath(self.key).stem

    def with_key(self, key: str) -> RemotePath:
        """The URL of another key in the same bucket, with the same options."""
        scheme, netloc, _, query = self._parts
        return RemotePath(f"{scheme}://{netloc}/{key.strip('/')}" + (f"?{query}" if query else ""))

    def __str__(self) -> str:
        return self.shown


AnyPath = Union[Path, RemotePath]


def as_path(raw: str) -> AnyPath:
    """A user-given path or URL as a local Path or a RemotePath."""
    return RemotePath(raw) if is_url(raw) else Path(local_path(raw))


def shown(raw: str) -> str:
    """A user-given path or URL as it may be shown and recorded (credentials and options removed)."""
    return redact(raw)


# ------------------------------------------------------------------------------------- filesystems


class _Unusable(Exception):
    """Why a URL's filesystem cannot be made (turned into an InputError naming the URL)."""


@lru_cache(maxsize=64)
def _filesystem(scheme: str, netloc: str, query: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem of one bucket (or host) and the path of its root inside that filesystem."""
    root = f"{scheme}://{netloc}" + (f"?{query}" if query else "")
    try:
        fs, root_path = pafs.FileSystem.from_uri(root)
    except pa.ArrowInvalid as exc:
        if "Unrecognized filesystem type" not in str(exc):
            raise _Unusable(f"not a usable URL ({exc})") from None
        return _fsspec_filesystem(root, scheme)
    return fs, root_path


def _fsspec_filesystem(root: str, scheme: str) -> tuple[pafs.FileSystem, str]:
    """A filesystem pyarrow does not know, through fsspec (wrapped as a pyarrow filesystem)."""
    try:
        import fsspec
    except ImportError:
        raise _Unusable(
            f"no filesystem for {scheme}:// (pyarrow reads s3://, gs://, hdfs://; others need fsspec and the "
            f"protocol's package: pip install 'synthscope[fsspec]' and, e.g., adlfs for az://)"
        ) from None
    try:
        fs, root_path = fsspec.core.url_to_fs(root)
    except (ValueError, ImportError) as exc:
        raise _Unusable(f"no filesystem for {scheme}:// ({exc})") from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), root_path


def filesystem(path: RemotePath) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem holding `path` and the path of the object inside it."""
    scheme, netloc, key, query = path._parts
    try:
        fs, root = _filesystem(scheme, netloc, query)
    except _Unusable as exc:
        raise InputError(f"{path.shown}: {exc}") from None
    except OSError as exc:
        raise remote_error(path, exc) from None
    root = root.rstrip("/")
    return fs, f"{root}/{key}" if key else (root or "/")


def _remote_error(shown: str, exc: BaseException) -> InputError:
    """One line naming the URL: no such object, access denied, or the filesystem's own reason."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{shown}: no such object")
    if isinstance(exc, PermissionError) or any(marker in message for marker in _DENIED):
        return InputError(f"{shown}: access denied ({message}); check the credentials in the environment (AWS_* or a profile, GOOGLE_APPLICATION_CREDENTIALS)")
    return InputError(f"{shown}: cannot read ({message})")


def remote_error(path: RemotePath, exc: BaseException) -> InputError:
    """`_remote_error` for a RemotePath."""
    return _remote_error(path.shown, exc)


# ------------------------------------------------------------------------------------------ access


@dataclass(frozen=True)
class Entry:
    """What a path is: a file (with its size), a folder (a prefix holding objects), or nothing."""

    kind: str  # "file" | "folder" | "missing"
    size: int = 0


def entry(path: RemotePath) -> Entry:
    """Whether `path` is a file, a folder (prefix) or missing."""
    fs, inner = filesystem(path)
    try:
        info = fs.get_file_info(inner)
    except OSError as exc:
        raise remote_error(path, exc) from None
    if info.type == pafs.FileType.File:
        return Entry("file", int(info.size or 0))
    if info.type == pafs.FileType.Directory:
        return Entry("folder")
    return Entry("missing")


def list_files(folder: RemotePath) -> list[tuple[RemotePath, str, int]]:
    """Every file under a folder (prefix), recursively: (path, path relative to the folder, size),
    sorted by relative path."""
    fs, inner = filesystem(folder)
    try:
        infos = fs.get_file_info(pafs.FileSelector(inner, recursive=True, allow_not_found=True))
    except OSError as exc:
        raise remote_error(folder, exc) from None
    base = inner.rstrip("/") + "/"
    prefix = folder.key + "/" if folder.key else ""
    found = []
    for info in infos:
        if info.type != pafs.FileType.File or not info.path.startswith(base):
            continue
        relative = info.path[len(base):]
        found.append((folder.with_key(prefix + relative), relative, int(info.size or 0)))
    return sorted(found, key=lambda item: item[1])


def size_of(path: AnyPath) -> int:
    """A file's size in bytes (InputError naming it when it cannot be read)."""
    if isinstance(path, RemotePath):
        found = entry(path)
        if found.kind != "file":
            raise InputError(f"{path.shown}: no such object")
        return found.size
    try:
        return path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


@contextmanager
def open_binary(path: AnyPath, seekable: bool = False) -> Iterator[BinaryIO]:
    """A binary file open for reading: sequential and buffered, or `seekable` (byte ranges)."""
    if isinstance(path, RemotePath):
        fs, inner = filesystem(path)
        try:
            handle = fs.open_input_file(inner) if seekable else fs.open_input_stream(inner, compression=None, buffer_size=STREAM_BUFFER_BYTES)
        except OSError as exc:
            raise remote_error(path, exc) from None
    else:
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InputError(f"{path}: cannot open ({exc.strerror or exc})") from None
    try:
        yield handle  # type: ignore[misc]
    finally:
        handle.close()


def parquet_file(path: AnyPath) -> pq.ParquetFile:
    """A Parquet file opened for reading (local path or URL); raises OSError/ArrowException as pyarrow does,
    except that a missing or forbidden remote object is an InputError naming its URL."""
    if isinstance(path, RemotePath):
        fs, inner = filesystem(path)
        try:
            handle = fs.open_input_file(inner)
        except OSError as exc:
            raise remote_error(path, exc) from None
        return pq.ParquetFile(handle)
    return pq.ParquetFile(path)
