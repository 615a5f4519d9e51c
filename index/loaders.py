"""Loading reports: one file in, one `LoadedDocument` (text, title, date, stable id) out.

PDF and DOCX are extracted the way llama-index's PDFReader and DocxReader do it (pypdf page by
page, docx2txt), but from the bytes already read, so a file that changes or vanishes while it is
being loaded cannot give text that does not match its id. Plain text, Markdown and HTML are read
here because offsets must point into exactly the text we store, and llama-index's
MarkdownReader splits and rewrites sections while its HTML reader keeps only chosen tags.

Every failure is a DocumentError naming the file and a reason a person can act on; nothing a
file contains (junk, a wrong encoding, a FIFO or a dangling link in its place) may hang or crash
an ingest.
"""

from __future__ import annotations

import codecs
import datetime
import errno
import hashlib
import io
import json
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from index.common.errors import DocumentError, UnsupportedFileError
from index.dates import DateSource, find_publication_date, iso_date

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
TITLE_MAX_CHARS = 90
# `story.txt.meta.json` beside `story.txt`: facts about the report that the file does not hold.
SIDECAR_SUFFIX = ".meta.json"
SIDECAR_MAX_BYTES = 1_000_000


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


@dataclass(frozen=True)
class Sidecar:
    """What a report's sidecar file says about it; every field is optional."""

    date: str | None = None  # YYYY-MM-DD
    title: str | None = None
    url: str | None = None


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
            for p in sorted(path.rglob("*")):
                if (p.suffix.lower() not in SUPPORTED_SUFFIXES
                        or any(part.startswith(".") for part in p.relative_to(path).parts)):
                    continue
                if p.is_file():
                    files.append(p)
                elif not p.is_dir():  # a folder named x.txt is just a folder, scanned above
                    problems.append((str(p), not_a_file_reason(p)))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            elif not is_sidecar(path):  # a sidecar is read with its report (`ingest dir/*`)
                problems.append((str(path), unsupported_reason(path.name)))
        elif path.is_symlink() or path.exists():
            problems.append((str(path), not_a_file_reason(path)))
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


def is_sidecar(path: Path) -> bool:
    """True for a report's sidecar file (`story.txt.meta.json`)."""
    return path.name.lower().endswith(SIDECAR_SUFFIX)


def read_sidecar(path: Path, source: str) -> Sidecar:
    """The sidecar beside the report at `path` (an empty Sidecar when there is none).

    `{"date": "YYYY-MM-DD", "title": "...", "url": "..."}`; other fields are ignored. Raises
    DocumentError for the report `source`, naming the sidecar and what is wrong with it.
    """
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not (sidecar.exists() or sidecar.is_symlink()):
        return Sidecar()

    def bad(reason: str) -> DocumentError:
        return DocumentError(source, f"sidecar {sidecar.name}: {reason}")

    try:
        meta = json.loads(read_bytes(sidecar, SIDECAR_MAX_BYTES).decode("utf-8"))
    except (OSError, ValueError) as exc:  # unreadable, too big, not UTF-8, not JSON
        raise bad(f"not a readable JSON file: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(meta, dict):
        raise bad('must be a JSON object like {"date": "YYYY-MM-DD", "title": "...", "url": "..."}')
    fields: dict[str, str | None] = {}
    for name in ("date", "title", "url"):
        value = meta.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise bad(f"field {name!r} must be a non-empty string, got {value!r}")
        fields[name] = value.strip() if value else None
    if fields["date"] and not iso_date(fields["date"]):
        raise bad(f"field 'date' must be a date YYYY-MM-DD, got {fields['date']!r}")
    return Sidecar(**fields)


def _describe(exc: BaseException) -> str:
    """A reader's error as one line: the cause, not a retry wrapper around it."""
    last = getattr(exc, "last_attempt", None)  # tenacity.RetryError
    if last is not None and last.exception() is not None:
        exc = last.exception()
    message = " ".join(str(exc).split()) or type(exc).__name__
    return message[:300]


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def _cp1252_for_stray_bytes(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 are read as Windows-1252 (else Latin-1)."""
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start:error.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in bad), error.end


codecs.register_error("report-cp1252", _cp1252_for_stray_bytes)


def decode_text(data: bytes) -> str:
    """Decode bytes as text: a BOM, else UTF-8, else UTF-16 without BOM, else by detection.

    Text in a Latin script that is not UTF-8 (Windows-1252, Latin-1, UTF-8 with stray
    Windows-1252 bytes) is read as UTF-8 with the other bytes as Windows-1252: detection guesses
    badly among the Latin code pages on short texts. Raises ValueError for what is not text.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).lstrip("\ufeff")
            except UnicodeDecodeError:
                raise ValueError(f"declares {encoding.upper()} but is not valid {encoding.upper()}") from None
    if b"\x00" in data[:8192]:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise ValueError("binary content, not text")
        return utf16
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None:
            raise ValueError("binary content or unknown text encoding") from None
        text = str(best)
        if _latin_script(text):
            text = data.decode("utf-8", errors="report-cp1252")
    if not _mostly_printable(text[:8192]):
        raise ValueError("binary content, not text")
    return text


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM: nearly every other byte is NUL (ASCII-range characters)."""
    sample = data[:8192]
    if len(sample) < 4 or len(data) % 2:
        return None
    for encoding, zeros in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
        if zeros.count(0) >= 0.9 * len(zeros):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            return text if _mostly_printable(text[:8192]) else None
    return None


def _mostly_printable(text: str) -> bool:
    """Text, not control codes: at most 2% of the characters are controls other than spacing."""
    return len(_CONTROLS.findall(text)) <= 0.02 * len(text)


# Unicode's control characters (category Cc) but the five of spacing (\t \n \v \f \r): one
# regular expression instead of a category lookup per character, which cost a second an ingest.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _latin_script(text: str) -> bool:
    """True when every letter outside ASCII is a Latin letter (é, ß, ł; not й, α, 日)."""
    return all("LATIN" in unicodedata.name(c, "") for c in set(text) if ord(c) > 127 and c.isalpha())


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _shorten(title: str) -> str:
    title = " ".join(title.split())
    if len(title) <= TITLE_MAX_CHARS:
        return title
    cut = title[:TITLE_MAX_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _title_from_text(text: str, path: Path) -> str:
    line = _first_line(text)
    return _shorten(line) if line else path.stem


def _read_txt(path: Path, data: bytes) -> _Extracted:
    return _Extracted(text=decode_text(data))


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
# Front matter is a few lines of metadata. Both limits stop "billion laughs" files: a few hundred
# bytes of nested aliases expand to hundreds of megabytes when the title is turned into text.
FRONT_MATTER_MAX_CHARS = 16_384
FRONT_MATTER_MAX_ALIASES = 16
# A title is read from a first line's first characters: room for the longest front matter title.
FIRST_LINE_MAX_CHARS = 2 * FRONT_MATTER_MAX_CHARS
# Where `str.splitlines` breaks a line, and the text's end.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]|\Z")


class _FrontMatterLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses more than `FRONT_MATTER_MAX_ALIASES` aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > FRONT_MATTER_MAX_ALIASES:
                raise ValueError(f"front matter uses more than {FRONT_MATTER_MAX_ALIASES} "
                                 "YAML aliases (*name); write the values out")
        return super().compose_node(parent, index)


def _front_matter(block: str) -> dict[Any, Any] | None:
    """The YAML front matter as a mapping; None when it is not valid YAML or not a mapping.

    Raises ValueError when it is too large or uses too many aliases.
    """
    if len(block) > FRONT_MATTER_MAX_CHARS:
        raise ValueError(f"front matter over {FRONT_MATTER_MAX_CHARS:,} characters")
    loader = _FrontMatterLoader(block)
    try:
        meta = loader.get_single_data()
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return meta if isinstance(meta, dict) else None


def _scalar(value: Any) -> str | None:
    """A front matter value as text: only a plain value (a list or mapping is no title)."""
    if isinstance(value, (str, int, float, datetime.date)) and not isinstance(value, bool):
        return str(value) if str(value).strip() else None
    return None


def _read_markdown(path: Path, data: bytes) -> _Extracted:
    text = decode_text(data)
    title = date = None
    match = _FRONT_MATTER.match(text)
    if match:
        meta = _front_matter(match.group(1))
        if meta is not None:
            title = _scalar(meta.get("title"))
            date = next(filter(None, (_scalar(meta.get(key)) for key in (
                "date", "published", "publication_date", "pubdate"))), None)
        text = text[match.end():]
        if title is not None and _first_line(text) != " ".join(title.split()):
            # The front matter's title becomes the text's first line, as a .txt report's title
            # line is: searched with the body and citable as the headline (index/headlines.py).
            text = f"{title}\n\n{text.lstrip(chr(10))}"
    if title is None:
        heading = _HEADING.search(text)
        title = heading.group(1) if heading else None
    return _Extracted(text=text, title=title, date=date)


def _first_line(text: str) -> str:
    """The first line of `text` with words, without Markdown heading marks, spaces collapsed, of
    at most `FIRST_LINE_MAX_CHARS`.

    Lines are found one at a time (where `str.splitlines` breaks) and only a line's first
    characters split into words: `splitlines` and `split` over a single-line report of tens of
    megabytes would make millions of strings, hundreds of megabytes, for a title of a few words.
    """
    start = 0
    for brk in _LINE_BREAK.finditer(text):
        line = text[start : min(brk.start(), start + FIRST_LINE_MAX_CHARS)]
        words = " ".join(line.strip().lstrip("#").split())
        if words:
            return words
        start = brk.end()
    return ""


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
    import pypdf

    # As llama-index's PDFReader(return_full_document=False): one text per page.
    pages = [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages]
    return _Extracted(text="\n\n".join(page.strip() for page in pages if page.strip()))


def _read_docx(path: Path, data: bytes) -> _Extracted:
    import docx2txt

    # As llama-index's DocxReader.
    text = docx2txt.process(io.BytesIO(data)) or ""
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
