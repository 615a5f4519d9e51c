"""Bytes to text: a report's encoding is found from its bytes, as no file says what it is."""

from __future__ import annotations

import codecs
import re
import unicodedata

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
