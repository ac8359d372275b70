"""Reading the filesystem under a root, so a recorded tree can stand in for `/`.

Probes ask for absolute paths like `/proc/driver/nvidia/version`; with root `/tmp/case1`
that reads `/tmp/case1/proc/driver/nvidia/version`. Tests use recorded trees; nothing
else changes.
"""

from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol


@dataclass(frozen=True, kw_only=True)
class DiskUsage:
    total_bytes: int
    free_bytes: int


@dataclass(frozen=True, kw_only=True)
class FileStamp:
    """Enough of a file's metadata to notice that it was replaced."""

    size: int
    mtime_ns: int


class FileSystem(Protocol):
    def read_text(self, path: str, *, limit: int = 1 << 20) -> str | None:
        """The file's text (at most `limit` bytes), or None when it does not exist."""
        ...

    def exists(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def list_dir(self, path: str) -> list[str]:
        """Entry names, sorted; empty when the folder does not exist."""
        ...

    def resolve(self, path: str) -> str:
        """The path with symlinks resolved, as seen from inside the root."""
        ...

    def disk_usage(self, path: str) -> DiskUsage | None: ...

    def stamp(self, path: str) -> FileStamp | None:
        """Size and modification time, or None when the file does not exist."""
        ...


class RootedFileSystem:
    def __init__(self, root: Path = Path("/")) -> None:
        self.root = root

    def _host_path(self, path: str) -> Path:
        relative = PurePosixPath(path).relative_to("/") if path.startswith("/") else path
        return self.root / relative

    def read_text(self, path: str, *, limit: int = 1 << 20) -> str | None:
        try:
            with self._host_path(path).open("rb") as handle:
                return handle.read(limit).decode("utf-8", errors="replace")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            return None

    def exists(self, path: str) -> bool:
        return self._host_path(path).exists()

    def is_dir(self, path: str) -> bool:
        return self._host_path(path).is_dir()

    def list_dir(self, path: str) -> list[str]:
        try:
            return sorted(entry.name for entry in self._host_path(path).iterdir())
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return []

    def resolve(self, path: str) -> str:
        resolved = self._host_path(path).resolve()
        try:
            return "/" + str(resolved.relative_to(self.root.resolve()))
        except ValueError:
            return str(resolved)

    def stamp(self, path: str) -> FileStamp | None:
        try:
            stat = self._host_path(path).stat()
        except OSError:
            return None
        return FileStamp(size=stat.st_size, mtime_ns=stat.st_mtime_ns)

    def disk_usage(self, path: str) -> DiskUsage | None:
        try:
            stat = os.statvfs(self._host_path(path))
        except OSError:
            return None
        return DiskUsage(
            total_bytes=stat.f_blocks * stat.f_frsize, free_bytes=stat.f_bavail * stat.f_frsize
        )


def write_text_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old content or the new, never a half.

    The temporary file sits in the same folder, so the final rename cannot cross devices.
    """
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale_temporaries(path)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed before the rename
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
        delete=False,
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # NamedTemporaryFile makes the file 0600; the result should look like any file
        # written in place: the old file's mode, or the default the umask gives.
        Path(handle.name).chmod(_mode_for(path))
        Path(handle.name).replace(path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


# A write takes milliseconds; a temporary this old was left by a writer killed between the
# write and the rename (kill -9, power loss). A younger one may be another writer's, mid-write.
STALE_TEMPORARY_SECONDS = 600


def _sweep_stale_temporaries(path: Path) -> None:
    """Remove the `.NAME.*.tmp` files earlier, killed writes of `path` left behind."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if leftover.is_file() and leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:
            continue  # gone already, or not ours to remove: the write goes on


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# No envcheck input comes near this (a 50 MB pasted report is the largest seen); a
# character device such as /dev/zero would otherwise be read until memory runs out.
MAX_INPUT_BYTES = 256 * 1024 * 1024


class InputTooLargeError(OSError):
    """A file the user named holds more than MAX_INPUT_BYTES (or never ends)."""


def read_input_bytes(handle: BinaryIO) -> bytes:
    raw = handle.read(MAX_INPUT_BYTES + 1)
    if len(raw) > MAX_INPUT_BYTES:
        raise InputTooLargeError(f"larger than {MAX_INPUT_BYTES // 2**20} MiB; no envcheck "
                                 "input is that big")
    return raw


def read_input_text(path: Path, *, errors: str = "replace") -> str:
    """A file the user named, as UTF-8 text (U+FFFD for bytes that are not, unless
    errors="strict"), at most MAX_INPUT_BYTES; OSError as Path.read_text raises it."""
    with path.open("rb") as handle:
        return read_input_bytes(handle).decode("utf-8", errors=errors)
