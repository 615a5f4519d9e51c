"""Loading reports: one file in, one `LoadedDocument` (text, title, date, stable id) out.

PDF and DOCX go through llama-index's file readers. Plain text, Markdown and HTML are read
here because offsets must point into exactly the text we store, and llama-index's
MarkdownReader splits and rewrites sections while its HTML reader keeps only chosen tags.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from assistant.errors import DocumentError, UnsupportedFileError
from index.dates import find_publication_date

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
TITLE_MAX_CHARS = 90


@dataclass(frozen=True)
class LoadedDocument:
    """A report's extracted text and what we know about it."""

    doc_id: str
    source: str
    title: str
    date: str | None
    text: str
    content_hash: str


@dataclass(frozen=True)
class _Extracted:
    text: str
    title: str | None = None
    date: str | None = None


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand files and folders (recursively) into supported files, sorted.

    Returns the files and `(path, reason)` for each named path that cannot be used.
    """
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            else:
                problems.append((str(path), unsupported_reason(path.name)))
        else:
            problems.append((str(path), "no such file or folder"))
    unique: dict[Path, Path] = {}
    for f in files:
        unique.setdefault(f.resolve(), f)
    return list(unique.values()), problems


def unsupported_reason(name: str) -> str:
    """The message for a file type we do not read."""
    return (
        f"unsupported file type {Path(name).suffix or '(none)'!r}; "
        f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
    )


def content_hash(data: bytes) -> str:
    """The stable id of a report's content."""
    return hashlib.sha256(data).hexdigest()[:16]


def load_file(path: Path, source: str | None = None, max_bytes: int | None = None) -> LoadedDocument:
    """Read one report. Raises DocumentError naming the file and the reason."""
    source = source or str(path)
    suffix = path.suffix.lower()
    extractor = _EXTRACTORS.get(suffix)
    if extractor is None:
        raise UnsupportedFileError(f"{source}: {unsupported_reason(path.name)}")
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise DocumentError(
                source,
                f"file is {size / 1e6:.1f} MB, over the limit of {max_bytes / 1e6:.1f} MB "
                "(raise ASSISTANT_MAX_FILE_MB to index it)",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise DocumentError(source, "file disappeared before it could be read") from None
    except PermissionError:
        raise DocumentError(source, "permission denied") from None
    except IsADirectoryError:
        raise DocumentError(source, "is a folder, not a file") from None
    if not data.strip():
        raise DocumentError(source, "file is empty")
    try:
        extracted = extractor(path, data)
    except DocumentError:
        raise
    except Exception as exc:  # a reader's own exception types vary by format and library
        raise DocumentError(source, f"could not read {suffix[1:].upper()}: {exc}") from None
    text = _normalize_newlines(extracted.text)
    if not text.strip():
        raise DocumentError(source, "no text could be extracted")
    title = _shorten(extracted.title) if extracted.title else _title_from_text(text, path)
    return LoadedDocument(
        doc_id=content_hash(data),
        source=source,
        title=title,
        date=find_publication_date(extracted.date, text, source),
        text=text,
        content_hash=content_hash(data),
    )


def decode_text(data: bytes) -> str:
    """Decode bytes as UTF-8, else by detection; refuse what is not text."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ValueError("binary content or unknown text encoding")
    return str(best)


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _shorten(title: str) -> str:
    title = " ".join(title.split())
    if len(title) <= TITLE_MAX_CHARS:
        return title
    cut = title[:TITLE_MAX_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _title_from_text(text: str, path: Path) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return _shorten(line)
    return path.stem


def _read_txt(path: Path, data: bytes) -> _Extracted:
    return _Extracted(text=decode_text(data))


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _read_markdown(path: Path, data: bytes) -> _Extracted:
    text = decode_text(data)
    title = date = None
    match = _FRONT_MATTER.match(text)
    if match:
        import yaml

        try:
            meta = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            meta = None
        if isinstance(meta, dict):
            title = str(meta["title"]) if meta.get("title") else None
            for key in ("date", "published", "publication_date", "pubdate"):
                if meta.get(key):
                    date = str(meta[key])
                    break
        text = text[match.end():]
    if title is None:
        heading = _HEADING.search(text)
        title = heading.group(1) if heading else None
    return _Extracted(text=text, title=title, date=date)


_INVISIBLE_TAGS = ("script", "style", "noscript", "template", "svg", "head", "iframe", "object")
_DATE_META = (
    {"property": "article:published_time"},
    {"name": "article:published_time"},
    {"itemprop": "datePublished"},
    {"name": "date"},
    {"name": "pubdate"},
    {"name": "publish-date"},
    {"name": "dc.date"},
    {"name": "DC.date.issued"},
)
_BLOCK_TAGS = (
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
    "section", "article", "header", "footer", "blockquote", "pre", "table", "ul", "ol",
)


def _read_html(path: Path, data: bytes) -> _Extracted:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    date = None
    for attrs in _DATE_META:
        tag = soup.find("meta", attrs=attrs)
        if tag and tag.get("content"):
            date = str(tag["content"])
            break
    if date is None:
        time_tag = soup.find("time", attrs={"datetime": True})
        date = str(time_tag["datetime"]) if time_tag else None
    for tag in soup.find_all(_INVISIBLE_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        style = str(tag.get("style", "")).replace(" ", "").lower()
        if tag.has_attr("hidden") or "display:none" in style or "visibility:hidden" in style:
            tag.decompose()
    if title is None:
        heading = soup.find(["h1", "h2"])
        title = heading.get_text(" ", strip=True) if heading else None
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    text = "\n".join(line for line in lines if line)
    return _Extracted(text=text, title=title, date=date)


def _read_pdf(path: Path, data: bytes) -> _Extracted:
    from llama_index.readers.file import PDFReader

    pages = PDFReader(return_full_document=False).load_data(path)
    return _Extracted(text="\n\n".join(page.text.strip() for page in pages if page.text.strip()))


def _read_docx(path: Path, data: bytes) -> _Extracted:
    from llama_index.readers.file import DocxReader

    docs = DocxReader().load_data(path)
    text = "\n".join(doc.text for doc in docs)
    # docx2txt puts a blank line between paragraphs; one newline reads the same and keeps offsets short.
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return _Extracted(text=text)


_EXTRACTORS: dict[str, Callable[[Path, bytes], _Extracted]] = {
    ".txt": _read_txt,
    ".md": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}
