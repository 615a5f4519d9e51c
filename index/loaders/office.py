"""PDF and DOCX reports, extracted as llama-index's PDFReader and DocxReader do it, but from the
bytes already read (see `index.loaders`)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from index.loaders.extracted import _Extracted


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
