"""Plain text and Markdown reports.

Read here rather than by llama-index's MarkdownReader, which splits and rewrites sections: offsets
must point into exactly the text we store.
"""

from __future__ import annotations

import re
from pathlib import Path

from index.loaders.encoding import decode_text
from index.loaders.extracted import _Extracted, _first_line
from index.loaders.frontmatter import _FRONT_MATTER, _front_matter, _scalar

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _read_txt(path: Path, data: bytes) -> _Extracted:
    return _Extracted(text=decode_text(data))


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
