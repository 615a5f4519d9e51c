"""HTML reports: the text a reader sees, with the page's title and publication date.

Read here rather than by llama-index's HTML reader, which keeps only chosen tags: offsets must
point into exactly the text we store.
"""

from __future__ import annotations

from pathlib import Path

from index.loaders.encoding import decode_text
from index.loaders.extracted import _Extracted

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
