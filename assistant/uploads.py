"""Uploaded reports, for the HTTP API and the UI alike: saved under `settings.uploads_path` with a
safe name, indexed, and removed again when they fail or their report is deleted.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from assistant.core import Assistant
from index import SUPPORTED_SUFFIXES, IngestProgress, unsupported_reason
from index.common.errors import InputError, UnsupportedFileError
from index.common.types import DocumentInfo, IngestReport

# File systems limit a name to 255 bytes, not characters ("報" is 3 bytes in UTF-8); the
# temporary `.NAME.XXXXXXXX.part` a file is written to first adds 15 bytes more.
MAX_UPLOAD_NAME_BYTES = 200
_COPY_BLOCK = 1 << 20


class UploadTooLargeError(InputError):
    """An uploaded file over `settings.max_file_bytes`."""


@dataclass(frozen=True)
class SavedUpload:
    """An uploaded file written under the uploads folder."""

    name: str  # the sanitized file name: also the report's `source`
    path: Path


def safe_upload_name(raw: str | None) -> str:
    """The file name an upload is saved under: a plain basename that cannot leave the folder.

    Directory parts (either slash) are dropped, odd characters replaced, and the name cut (at a
    character boundary, keeping the extension) to `MAX_UPLOAD_NAME_BYTES` of UTF-8; a NUL byte
    or a name with nothing usable left is refused with InputError.
    """
    if not raw:
        raise InputError("an uploaded file has no name")
    if "\x00" in raw:
        raise InputError("an uploaded file name contains a NUL byte")
    base = re.split(r"[\\/]", raw)[-1]
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")
    # A leading dot would hide the file from folder scans; ".." must never survive.
    base = base.lstrip(".")
    if not base or base in (".", ".."):
        raise InputError(f"unusable file name {raw!r}")
    stem, suffix = Path(base).stem, Path(base).suffix
    room = MAX_UPLOAD_NAME_BYTES - len(suffix.encode())
    if room < 1:
        raise InputError(f"unusable file name {raw!r}: its extension is too long")
    # Cutting the bytes may split a character: "ignore" drops the broken tail.
    stem = stem.encode()[:room].decode(errors="ignore").rstrip(" .")
    return (stem or "upload") + suffix


def check_upload_type(name: str) -> None:
    """Refuse a file type the loaders cannot read, before anything is written."""
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UnsupportedFileError(f"{name}: {unsupported_reason(name)}")


def save_upload(folder: Path, raw_name: str | None, data: BinaryIO, max_bytes: int) -> SavedUpload:
    """Copy one upload into `folder` under its sanitized name.

    Raises InputError for a bad name, UnsupportedFileError for a type we cannot read and
    UploadTooLargeError when it is over `max_bytes` (nothing is left behind then).
    """
    name = safe_upload_name(raw_name)
    check_upload_type(name)
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / name).resolve()
    if target.parent != folder:  # belt and braces: the name is already a plain basename
        raise InputError(f"unusable file name {raw_name!r}")
    # A unique hidden temporary name: concurrent uploads of one name never mix their bytes.
    out = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, kept on success
        dir=folder, prefix=f".{name}.", suffix=".part", delete=False)
    partial = Path(out.name)
    size = 0
    try:
        with out:
            while block := data.read(_COPY_BLOCK):
                size += len(block)
                if size > max_bytes:
                    raise UploadTooLargeError(
                        f"{name}: over the upload limit of {max_bytes / 1e6:g} MB "
                        "(raise ASSISTANT_MAX_FILE_MB to allow it)"
                    )
                out.write(block)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return SavedUpload(name=name, path=target)


def save_uploads(folder: Path, files: Iterable[tuple[str | None, BinaryIO]],
                 max_bytes: int) -> list[SavedUpload]:
    """Save every `(name, data)` with `save_upload`, or none: on an error the files already
    saved by this call are removed and the error raised."""
    saved: list[SavedUpload] = []
    try:
        for raw_name, data in files:
            saved.append(save_upload(folder, raw_name, data, max_bytes))
    except BaseException:
        for upload in saved:
            upload.path.unlink(missing_ok=True)
        raise
    return saved


def ingest_uploads(assistant: Assistant, saved: Iterable[SavedUpload], date: str | None = None,
                   on_progress: Callable[[IngestProgress], None] | None = None) -> IngestReport:
    """Index saved uploads; each report's `source` is its sanitized file name, and `date`
    (YYYY-MM-DD), when given, the publication date of every one. `on_progress` follows the
    indexing (files and chunks done).

    A file that could not be indexed is removed: it would only sit in the uploads folder.
    """
    by_path = {u.path: u.name for u in saved}
    report = assistant.ingest(
        list(by_path), progress=False,
        source_of=lambda p: by_path.get(Path(p).resolve(), Path(p).name), date=date,
        on_progress=on_progress,
    )
    failed = {f["path"] for f in report.failed}
    for path, name in by_path.items():
        if name in failed:
            path.unlink(missing_ok=True)
    return report


def delete_report(assistant: Assistant, doc_id: str) -> DocumentInfo:
    """Remove a report and, when it was uploaded, its file in the uploads folder."""
    info = assistant.delete(doc_id)
    folder = assistant.settings.uploads_path.resolve()
    uploaded = (folder / info.source).resolve()
    # Only a plain name inside the folder: a report indexed from elsewhere keeps its file.
    if uploaded.parent == folder and not any(d.source == info.source for d in assistant.documents()):
        uploaded.unlink(missing_ok=True)
    return info
