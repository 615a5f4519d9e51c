"""Loading reports: one file in, one `LoadedDocument` (text, title, date, stable id) out.

PDF and DOCX are extracted the way llama-index's PDFReader and DocxReader do it (pypdf page by
page, docx2txt), but from the bytes already read, so a file that changes or vanishes while it is
being loaded cannot give text that does not match its id. Plain text, Markdown and HTML are read
here because offsets must point into exactly the text we store, and llama-index's
MarkdownReader splits and rewrites sections while its HTML reader keeps only chosen tags.

Every failure is a DocumentError naming the file and a reason a person can act on; nothing a
file contains (junk, a wrong encoding, a FIFO or a dangling link in its place) may hang or crash
an ingest.

One idea a module: `discovery` finds the files to read, `files` reads one safely and hashes it,
`encoding` turns bytes into text, `sidecars` reads a report's `.meta.json`, `text` (plain text,
Markdown with `frontmatter`), `html` and `office` (PDF, DOCX) extract a format into an
`extracted._Extracted`. `load_file` puts them together; the names used outside the package are
imported from here.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from index.common.errors import DocumentError, UnsupportedFileError
from index.publication import DateSource, find_publication_date
from index.loaders.discovery import SUPPORTED_SUFFIXES, discover, unsupported_reason
from index.loaders.encoding import _normalize_newlines, decode_text
from index.loaders.extracted import (
    FIRST_LINE_MAX_CHARS,
    TITLE_MAX_CHARS,
    _Extracted,
    _shorten,
    _title_from_text,
)
from index.loaders.files import content_hash, not_a_file_reason, read_bytes
from index.loaders.frontmatter import FRONT_MATTER_MAX_ALIASES, FRONT_MATTER_MAX_CHARS
from index.loaders.html import _read_html
from index.loaders.office import _read_docx, _read_pdf
from index.loaders.sidecars import (
    SIDECAR_MAX_BYTES,
    SIDECAR_SUFFIX,
    Sidecar,
    is_sidecar,
    read_sidecar,
)
from index.loaders.text import _read_markdown, _read_txt

__all__ = [
    "FIRST_LINE_MAX_CHARS",
    "FRONT_MATTER_MAX_ALIASES",
    "FRONT_MATTER_MAX_CHARS",
    "SIDECAR_MAX_BYTES",
    "SIDECAR_SUFFIX",
    "SUPPORTED_SUFFIXES",
    "TITLE_MAX_CHARS",
    "LoadedDocument",
    "Sidecar",
    "content_hash",
    "decode_text",
    "discover",
    "is_sidecar",
    "load_file",
    "not_a_file_reason",
    "read_bytes",
    "read_sidecar",
    "unsupported_reason",
]


@dataclass(frozen=True)
class LoadedDocument:
    """A report's extracted text and what we know about it."""

    doc_id: str
    source: str
    title: str
    date: str | None
    date_source: DateSource | None
    text: str
    content_hash: str


def load_file(
    path: Path, source: str | None = None, max_bytes: int | None = None, date: str | None = None
) -> LoadedDocument:
    """Read one report and its sidecar, if any. Raises DocumentError naming the file and the reason.

    `date` (YYYY-MM-DD) is a publication date the user gave for it; its sidecar's date wins over
    it, being given for this one file.
    """
    source = source or str(path)
    suffix = path.suffix.lower()
    extractor = _EXTRACTORS.get(suffix)
    if extractor is None:
        raise UnsupportedFileError(f"{source}: {unsupported_reason(path.name)}")
    try:
        data = read_bytes(path, max_bytes)
    except FileNotFoundError:
        reason = (not_a_file_reason(path) if path.is_symlink()
                  else "file disappeared before it could be read")
        raise DocumentError(source, reason) from None
    except PermissionError:
        raise DocumentError(source, "permission denied (check the file's permissions)") from None
    except IsADirectoryError:
        raise DocumentError(source, "is a folder, not a file") from None
    except ValueError as exc:
        raise DocumentError(source, str(exc)) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DocumentError(source, "symbolic link loop") from None
        raise DocumentError(source, f"cannot be read: {exc.strerror or exc}") from None
    if not data.strip():
        raise DocumentError(source, "file is empty")
    sidecar = read_sidecar(path, source)
    try:
        extracted = extractor(path, data)
    except DocumentError:
        raise
    except Exception as exc:  # a reader's own exception types vary by format and library
        raise DocumentError(
            source, f"could not read {suffix[1:].upper()}: {_describe(exc)}") from None
    text = _normalize_newlines(extracted.text)
    if not text.strip():
        raise DocumentError(source, "no text could be extracted")
    title = sidecar.title or extracted.title
    published, date_source = find_publication_date(
        text, [p for p in (sidecar.url, source) if p], extracted.date, sidecar.date or date)
    return LoadedDocument(
        doc_id=content_hash(data),
        source=source,
        title=_shorten(title) if title else _title_from_text(text, path),
        date=published,
        date_source=date_source,
        text=text,
        content_hash=content_hash(data),
    )


def _describe(exc: BaseException) -> str:
    """A reader's error as one line: the cause, not a retry wrapper around it."""
    last = getattr(exc, "last_attempt", None)  # tenacity.RetryError
    if last is not None and last.exception() is not None:
        exc = last.exception()
    message = " ".join(str(exc).split()) or type(exc).__name__
    return message[:300]


_EXTRACTORS: dict[str, Callable[[Path, bytes], _Extracted]] = {
    ".txt": _read_txt,
    ".md": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}
