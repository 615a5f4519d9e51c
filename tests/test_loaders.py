"""Loading real files of every supported format, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import DocumentError, UnsupportedFileError
from index.dates import date_from_path, find_publication_date, parse_date
from index.loaders import discover, load_file


def test_txt_title_is_first_line_and_dateline_gives_date(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_text("Rockets hit base\nBAGHDAD, January 5, 2022 (AP) - Rockets struck a base.\n")
    doc = load_file(path)
    assert doc.title == "Rockets hit base"
    assert doc.date == "2022-01-05"
    assert doc.text.startswith("Rockets hit base\nBAGHDAD")


def test_doc_id_is_a_stable_content_hash(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("Same words.")
    b.write_text("Same words.")
    assert load_file(a).doc_id == load_file(b).doc_id
    b.write_text("Other words.")
    assert load_file(a).doc_id != load_file(b).doc_id


def test_markdown_front_matter_gives_title_and_date(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: Drone attack on Ain Al Asad\ndate: 2021-05-03\n---\n# Heading\n\nBody text.\n")
    doc = load_file(path)
    assert doc.title == "Drone attack on Ain Al Asad"
    assert doc.date == "2021-05-03"
    assert "title:" not in doc.text and "Body text." in doc.text


def test_markdown_without_front_matter_uses_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("Intro line\n\n## The real heading\n\nText.")
    assert load_file(path).title == "The real heading"


def test_html_keeps_visible_text_only(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Base attacked</title>"
        '<meta property="article:published_time" content="2022-01-05T10:00:00Z">'
        "<style>.x{color:red}</style><script>var secret = 'do not index';</script></head>"
        "<body><h1>Base attacked</h1><p>Rockets struck <b>a base</b>.</p>"
        '<div style="display: none">hidden words</div><noscript>enable js</noscript></body></html>'
    )
    doc = load_file(path)
    assert doc.title == "Base attacked"
    assert doc.date == "2022-01-05"
    assert "Rockets struck a base." in doc.text
    for invisible in ("secret", "color:red", "hidden words", "enable js"):
        assert invisible not in doc.text


def test_pdf_written_with_a_pdf_library(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "report.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.drawString(72, 800, "Militia attack report")
    pdf.drawString(72, 780, "The coalition said Iran-backed militias carried out the attacks.")
    pdf.showPage()
    pdf.drawString(72, 800, "Second page about drones.")
    pdf.save()
    doc = load_file(path)
    assert doc.title == "Militia attack report"
    assert "Iran-backed militias" in doc.text and "Second page about drones." in doc.text


def test_docx_written_with_python_docx(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "report.docx"
    document = docx.Document()
    document.add_heading("Kirby briefing", level=1)
    document.add_paragraph("Pentagon Press Secretary John Kirby spoke on Wednesday.")
    document.save(str(path))
    doc = load_file(path)
    assert doc.title == "Kirby briefing"
    assert "John Kirby spoke on Wednesday." in doc.text


def test_non_utf8_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Le président a parlé à Bagdad, où les troupes sont déployées.".encode("cp1252"))
    assert "président" in load_file(path).text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("junk.txt", b"\x00\x01\x02\x03binary", "binary"),
        ("broken.pdf", b"%PDF-1.4 not really a pdf", "could not read PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip", "could not read DOCX"),
    ],
)
def test_bad_files_name_the_file_and_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError) as error:
        load_file(path)
    assert name in str(error.value) and reason in str(error.value)


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(DocumentError, match="over the limit"):
        load_file(path, max_bytes=100)


def test_unsupported_type(tmp_path: Path) -> None:
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(UnsupportedFileError, match="unsupported file type '.xlsx'"):
        load_file(path)


def test_discover_recurses_and_reports_problems(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one.txt").write_text("x")
    (tmp_path / "a" / "b" / "two.md").write_text("y")
    (tmp_path / "a" / "b" / "skip.csv").write_text("z")
    (tmp_path / "c.exe").write_text("z")
    files, problems = discover([tmp_path / "a", tmp_path / "c.exe", tmp_path / "missing"])
    assert sorted(f.name for f in files) == ["one.txt", "two.md"]
    assert [Path(p).name for p, _ in problems] == ["c.exe", "missing"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Published 2022-01-05 by AP", "2022-01-05"),
        ("WASHINGTON, Jan. 5, 2022 —", "2022-01-05"),
        ("5 January 2022, Baghdad", "2022-01-05"),
        ("On Monday, coalition forces shot down drones", None),
        ("In May, the base was attacked", None),
        ("2022-02-30 is not a date", None),
    ],
)
def test_parse_date(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


def test_dates_from_paths_and_precedence() -> None:
    assert date_from_path("https://news.example/2022/01/05/attack.html") == "2022-01-05"
    assert date_from_path("reports/20220105-attack.txt") == "2022-01-05"
    assert date_from_path("reports/attack.txt") is None
    # Metadata beats a dateline, which beats the path.
    assert find_publication_date("2021-12-31", "January 5, 2022", "2020/01/01/x") == "2021-12-31"
    assert find_publication_date(None, "January 5, 2022", "2020/01/01/x") == "2022-01-05"
    assert find_publication_date(None, "no date here", "2020/01/01/x") == "2020-01-01"
