"""Loading real files of every supported format, written by the tests themselves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.common.errors import DocumentError, UnsupportedFileError
from index.publication import date_from_path, dateline_date, find_publication_date, parse_date
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
    # Given beats metadata, which beats a dateline, which beats the path.
    paths = ["2020/01/01/x"]
    assert find_publication_date("January 5, 2022", paths, "2021-12-31", "2019-07-01") == (
        "2019-07-01", "given")
    assert find_publication_date("January 5, 2022", paths, "2021-12-31") == ("2021-12-31", "metadata")
    assert find_publication_date("January 5, 2022", paths) == ("2022-01-05", "dateline")
    assert find_publication_date("no date here", paths) == ("2020-01-01", "path")
    assert find_publication_date("no date here", ["reports/x.txt"]) == (None, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WASHINGTON, March 4, 2024 (Reuters) - The Senate voted.", "2024-03-04"),
        ("WASHINGTON (AP) — March 4, 2024 — The Senate voted.", "2024-03-04"),
        ("SPRINGFIELD, Ill., March 4, 2024 (AP) — Lawmakers met.", "2024-03-04"),
        ("KYIV, Ukraine, 4 March 2024 – Drones struck.", "2024-03-04"),
        ("March 4, 2024 — The council met.", "2024-03-04"),
        ("Published: 2024-03-04", "2024-03-04"),
        ("Updated March 4, 2024 10:32 AM", "2024-03-04"),
        ("Posted on 4 March 2024", "2024-03-04"),
        ("*Last updated: Mon 4 Mar 2024 at 9.15 p.m. EST*", "2024-03-04"),
        ("By Jane Doe | March 4, 2024", "2024-03-04"),
        ("March 4, 2024", "2024-03-04"),
        ("2024-03-04", "2024-03-04"),
        ("2024-03-04T10:32:00Z", "2024-03-04"),
        ("Mon 4 Mar 2024", "2024-03-04"),
        ("Monday, March 4, 2024", "2024-03-04"),
        # the title line first, the dateline after it
        ("Apex names a new chief\n\nHALFORD, March 4, 2024 (Daily Ledger) - Apex said.", "2024-03-04"),
        ("Council meets\nBy Jane Doe\nMarch 4, 2024\nThe council met.", "2024-03-04"),
        # dates of events, not of the report
        ("Ten Things You Need to Know Today: 23 June 2022\nThe Supreme Court ruled.", None),
        ("The storm hit on March 3, 2023, and cut power to 40,000 homes.", None),
        ("Storm news\nThe storm hit on March 3, 2023, and cut power.", None),
        ("March 3, 2023: the day the storm hit", None),
        ("By Monday, March 4, 2024, the storm had passed.", None),
        ("Updated guidance of March 4, 2024 says more.", None),
        ("In 2024-03-04 the council met.", None),
        ("February 30, 2024", None),
        # a dateline too far down is not read
        ("Title\n" + "Body text goes on. " * 20 + "\nMarch 4, 2024", None),
    ],
)
def test_dateline_date(text: str, expected: str | None) -> None:
    assert dateline_date(text) == expected


def test_date_source_of_each_kind(tmp_path: Path) -> None:
    dated = tmp_path / "2022" / "01" / "05"
    dated.mkdir(parents=True)
    body = "Storm cuts power\nThe storm hit on March 3, 2023, and cut power."
    (dated / "path.txt").write_text(body)
    (dated / "dateline.txt").write_text("Storm cuts power\nDUNMORE, March 4, 2023 (AP) - The storm hit.")
    (dated / "front.md").write_text("---\ndate: 2023-03-05\n---\n" + body)
    (tmp_path / "none.txt").write_text(body)
    assert (load_file(dated / "path.txt").date, load_file(dated / "path.txt").date_source) == (
        "2022-01-05", "path")
    assert load_file(dated / "dateline.txt").date_source == "dateline"
    assert (load_file(dated / "front.md").date, load_file(dated / "front.md").date_source) == (
        "2023-03-05", "metadata")
    given = load_file(dated / "front.md", date="2023-03-06")
    assert (given.date, given.date_source) == ("2023-03-06", "given")
    none = load_file(tmp_path / "none.txt")
    assert (none.date, none.date_source) == (None, None)


def test_sidecar_gives_date_title_and_url_date(tmp_path: Path) -> None:
    story = tmp_path / "story.txt"
    story.write_text("Storm cuts power\nDUNMORE, March 4, 2023 (AP) - The storm hit.")
    sidecar = tmp_path / "story.txt.meta.json"
    sidecar.write_text(json.dumps({"date": "2023-03-09", "title": "The storm", "author": "ignored"}))
    doc = load_file(story, date="2023-01-01")  # the sidecar is for this file: it beats --date
    assert (doc.title, doc.date, doc.date_source) == ("The storm", "2023-03-09", "given")
    story.write_text("Storm cuts power\nThe storm hit on March 3, 2023.")
    sidecar.write_text(json.dumps({"url": "https://news.example/2023/03/05/storm.html"}))
    doc = load_file(story)
    assert (doc.title, doc.date, doc.date_source) == ("Storm cuts power", "2023-03-05", "path")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not a readable JSON file"),
        ('["2024-03-04"]', "must be a JSON object"),
        ('{"date": "2024-13-01"}', "field 'date' must be a date YYYY-MM-DD, got '2024-13-01'"),
        ('{"date": "March 4, 2024"}', "field 'date' must be a date YYYY-MM-DD"),
        ('{"date": 20240304}', "field 'date' must be a non-empty string"),
        ('{"title": ""}', "field 'title' must be a non-empty string"),
    ],
)
def test_bad_sidecar_names_the_sidecar_and_field(tmp_path: Path, content: str, reason: str) -> None:
    story = tmp_path / "story.txt"
    story.write_text("Storm cuts power.")
    (tmp_path / "story.txt.meta.json").write_text(content)
    with pytest.raises(DocumentError) as error:
        load_file(story)
    assert error.value.path == str(story)
    assert error.value.reason.startswith("sidecar story.txt.meta.json: ") and reason in error.value.reason


def test_discover_never_takes_a_sidecar_for_a_report(tmp_path: Path) -> None:
    (tmp_path / "story.txt").write_text("x")
    sidecar = tmp_path / "story.txt.meta.json"
    sidecar.write_text("{}")
    assert discover([tmp_path]) == ([tmp_path / "story.txt"], [])
    # named one by one, as a shell glob does
    assert discover([tmp_path / "story.txt", sidecar]) == ([tmp_path / "story.txt"], [])
