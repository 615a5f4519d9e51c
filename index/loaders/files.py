"""Reading one file safely: a regular file's bytes and their id, and why a path is not a file
we can read.

A FIFO, a device or a dangling link where a report should be gives a reason instead of hanging or
crashing an ingest, and a file is read through one descriptor, so the file checked is the file read.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path


def not_a_file_reason(path: Path) -> str:
    """Why a path that exists (or is a link) is not a file we can read."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return "file disappeared before it could be read"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISLNK(mode):
        try:
            path.stat()
        except FileNotFoundError:
            return f"broken symbolic link to {os.readlink(path)!r}"
        except OSError as exc:
            return f"symbolic link that cannot be followed: {exc.strerror or exc}"
        mode = path.stat().st_mode
    return f"not a regular file but {_kind(mode)}"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "a special file"


def read_bytes(path: Path, max_bytes: int | None = None) -> bytes:
    """A regular file's bytes, read through one descriptor; never blocks on a FIFO or device.

    Raises OSError for what the system refuses, ValueError (with the reason) for a path that is
    not a regular file or is over `max_bytes`.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"not a regular file but {_kind(mode)}")
        size = os.fstat(fd).st_size
        if max_bytes is not None and size > max_bytes:
            raise ValueError(_too_big(size, max_bytes))
        data = f.read() if max_bytes is None else f.read(max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:  # it grew while we read it
            raise ValueError(_too_big(len(data), max_bytes))
        return data


def _too_big(size: int, max_bytes: int) -> str:
    return (f"file is {size / 1e6:.1f} MB, over the limit of {max_bytes / 1e6:.1f} MB "
            "(raise ASSISTANT_MAX_FILE_MB to index it)")


def content_hash(data: bytes) -> str:
    """The stable id of a report's content."""
    return hashlib.sha256(data).hexdigest()[:16]
