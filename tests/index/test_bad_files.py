"""Bad files never stop an ingest: each gets one error naming the file and the reason, every
other file is still indexed, and the CLI exits 2 (some failed), 0 (all fine) or 1 (fatal)."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from index.common.errors import DocumentError
from index.loaders import decode_text, discover, load_file
from tests.conftest import ROOT

ASSISTANT = Path(sys.executable).parent / "assistant"
GOOD = "Harbor report. The harbor master of Port Vale is Ada Okafor, appointed in May."
FRENCH = "Le président a parlé à Bagdad, où les troupes françaises sont déployées – «calme»."


def _junk(n: int = 4096, seed: int = 7, low: int = 0) -> bytes:
    rnd = random.Random(seed)
    return bytes(rnd.randrange(low, 256) for _ in range(n))


def _good_pdf(path: Path) -> bytes:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    pdf.drawString(72, 800, "A perfectly fine PDF about the harbor.")
    pdf.showPage()
    pdf.save()
    return path.read_bytes()


def _good_docx(path: Path) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("A perfectly fine DOCX about the harbor.")
    document.save(str(path))
    return path.read_bytes()


def _zip_without_document() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("hello.txt", "not a word document")
    return buffer.getvalue()


def bad_files(folder: Path) -> dict[str, str]:
    """Write one file of each bad kind into `folder`; returns name -> words its error must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    pdf, docx_bytes = _good_pdf(scratch / "x.pdf"), _good_docx(scratch / "x.docx")
    files: dict[str, tuple[bytes, str]] = {
        "empty.txt": (b"", "empty"),
        "blank.md": (b"  \n\t \n", "empty"),
        "junk.txt": (_junk(), "binary"),
        "junk-high-bytes.txt": (_junk(low=128), "binary"),
        "junk.html": (_junk(seed=8), "binary"),
        "junk.md": (_junk(seed=9), "binary"),
        "junk.pdf": (_junk(seed=10), "could not read PDF"),
        "junk.docx": (_junk(seed=11), "could not read DOCX"),
        "truncated.pdf": (pdf[: len(pdf) // 2], "could not read PDF"),
        "not-a-pdf.pdf": (b"%PDF-1.4 then nothing useful", "could not read PDF"),
        "truncated.docx": (docx_bytes[: len(docx_bytes) // 3], "could not read DOCX"),
        "zip-without-document.docx": (_zip_without_document(), "could not read DOCX"),
        "elf.html": (b"\x7fELF\x02\x01\x01" + b"\x00" * 64 + _junk(512), "binary"),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: words for name, (_, words) in files.items()}


def good_files(folder: Path) -> dict[str, str]:
    """Files that must be indexed, including text in encodings other than UTF-8."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "good.txt": GOOD.encode(),
        "cp1252.txt": FRENCH.encode("cp1252"),
        "latin1.md": ("# Rapport\n" + FRENCH.replace("–", "-").replace("«", '"').replace("»", '"')
                      ).encode("latin-1"),
        "utf16-bom.txt": FRENCH.encode("utf-16"),
        "utf16le-no-bom.txt": FRENCH.encode("utf-16-le"),
        "utf8-bom.html": ("<p>" + FRENCH + "</p>").encode("utf-8-sig"),
        "utf8-with-stray-cp1252.txt": "Le président ".encode() + "a parlé à Bagdad.".encode("cp1252"),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: data.decode("utf-8", errors="ignore") for name, data in files.items()}


# --- the loader, file by file -----------------------------------------------------------------


def test_every_bad_file_is_a_document_error_naming_file_and_reason(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    for name, words in bad_files(folder).items():
        with pytest.raises(DocumentError) as error:
            load_file(folder / name)
        assert error.value.path == str(folder / name)
        assert name in str(error.value) and words in error.value.reason, (name, error.value.reason)
        assert "RetryError" not in error.value.reason and "Future" not in error.value.reason


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be",
                                      "utf-8-sig", "utf-32"])
def test_text_in_other_encodings_is_decoded(encoding: str) -> None:
    text = FRENCH if encoding != "latin-1" else FRENCH.replace("–", "-")
    assert decode_text(text.encode(encoding)) == text


def test_non_latin_code_pages_are_still_detected() -> None:
    russian = "Привет, это тестовый отчёт о событиях в Багдаде, где войска развёрнуты."
    assert decode_text(russian.encode("cp1251")) == russian


def test_utf8_with_stray_windows_bytes_keeps_both() -> None:
    data = "Le président ".encode() + "à Bagdad €5".encode("cp1252")
    assert decode_text(data) == "Le président à Bagdad €5"


def test_huge_file_names_the_limit_and_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_bytes(b"The same sentence again. " * 50_000)  # 1.25 MB
    with pytest.raises(DocumentError) as error:
        load_file(path, max_bytes=1_000_000)
    assert "huge.txt" in str(error.value)
    assert "over the limit of 1.0 MB" in error.value.reason
    assert "ASSISTANT_MAX_FILE_MB" in error.value.reason


def _unreadable(path: Path) -> str:
    """A path that cannot be read by this user: chmod 000, or for root (whom chmod does not stop)
    a named pipe, which would block a naive reader forever. Returns the words of its error."""
    path.write_text(GOOD)
    path.chmod(0)
    try:
        with path.open("rb"):
            pass
    except PermissionError:
        return "permission denied"
    path.chmod(0o644)  # root: permissions are not enforced
    path.unlink()
    os.mkfifo(path)
    return "named pipe"


def test_unreadable_fifo_and_dangling_link_fail_fast(tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    unreadable_words = _unreadable(folder / "unreadable.txt")
    (folder / "dangling.md").symlink_to(tmp_path / "gone.md")
    (folder / "folder.txt").mkdir()  # a folder with a report's name is scanned, not read
    (folder / "folder.txt" / "inside.txt").write_text(GOOD)

    files, problems = discover([folder])
    assert [f.name for f in files] == ["inside.txt"] + (
        ["unreadable.txt"] if unreadable_words == "permission denied" else [])
    reasons = {Path(p).name: why for p, why in problems}
    assert "broken symbolic link" in reasons["dangling.md"]
    if unreadable_words == "named pipe":
        assert "named pipe" in reasons["unreadable.txt"]
    # Named directly, the loader refuses them at once instead of blocking on the pipe.
    for name, words in (("unreadable.txt", unreadable_words), ("dangling.md", "broken symbolic link")):
        with pytest.raises(DocumentError) as error:
            load_file(folder / name)
        assert name in str(error.value) and words in error.value.reason


# --- the ingestor: one error per bad file, every good file indexed ----------------------------


def test_ingest_reports_each_bad_file_and_indexes_the_rest(assistant, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    bad = bad_files(folder)
    good = good_files(folder)
    unreadable_words = _unreadable(folder / "unreadable.txt")
    (folder / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    bad.update({"unreadable.txt": unreadable_words, "dangling.txt": "broken symbolic link"})

    report = assistant.ingest([folder], progress=False)
    failed = {Path(f["path"]).name: f["error"] for f in report.failed}
    assert set(failed) == set(bad), failed
    for name, words in bad.items():
        assert words in failed[name], (name, failed[name])
    assert sorted(Path(p).name for p in report.added) == sorted(good)
    assert report.documents == len(good)
    texts = {Path(d.source).name: assistant.document_text(d.doc_id) for d in assistant.documents()}
    assert "président" in texts["cp1252.txt"] and "président" in texts["utf16-bom.txt"]
    assert not texts["utf16-bom.txt"].startswith("\ufeff")
    assert texts["utf8-with-stray-cp1252.txt"] == "Le président a parlé à Bagdad."


def test_file_vanishing_between_discovery_and_loading(assistant, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import index.ingest

    folder = tmp_path / "vanishing"
    folder.mkdir()
    for i in range(3):
        (folder / f"report-{i}.txt").write_text(f"Report {i}. The harbor of town {i} reopened.")
    real_discover = index.ingest.discover

    def discover_then_delete(paths):
        files, problems = real_discover(paths)
        (folder / "report-1.txt").unlink()  # gone after the folder was listed
        return files, problems

    monkeypatch.setattr(index.ingest, "discover", discover_then_delete)
    report = assistant.ingest([folder], progress=False)
    assert [(Path(f["path"]).name, f["error"]) for f in report.failed] == [
        ("report-1.txt", "file disappeared before it could be read")]
    assert sorted(Path(p).name for p in report.added) == ["report-0.txt", "report-2.txt"]


def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    # A loader that stats then reads, or opens without O_NONBLOCK, would wait here forever.
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    with pytest.raises(DocumentError, match="named pipe"):
        load_file(path)


# --- the command line: exit codes -------------------------------------------------------------


def _cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "ASSISTANT_HOME": str(home), "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([str(ASSISTANT), *args], capture_output=True, text=True, env=environ,
                          cwd=ROOT, timeout=600)


def test_cli_exit_codes_for_bad_files_size_limit_and_fatal_errors(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    bad = bad_files(folder)
    good_files(folder)
    (folder / "big.txt").write_bytes(b"The same sentence again. " * 50_000)  # 1.25 MB
    done = _cli(tmp_path / "home", "ingest", str(folder), "--json",
                env={"ASSISTANT_MAX_FILE_MB": "1"})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    failed = {Path(f["path"]).name: f["error"] for f in result["failed"]}
    assert set(failed) == set(bad) | {"big.txt"}
    assert "over the limit of 1.0 MB" in failed["big.txt"]
    assert "ASSISTANT_MAX_FILE_MB" in failed["big.txt"]
    assert result["documents"] == len(result["added"]) == 7

    # Without --json, each failure is one line on stderr naming the file and the reason.
    again = _cli(tmp_path / "home", "ingest", str(folder))
    assert again.returncode == 2
    lines = [line for line in again.stderr.splitlines() if line.startswith("failed")]
    assert len(lines) == len(bad)  # big.txt is under the default limit, so it is indexed now
    assert any("junk.pdf: could not read PDF" in line for line in lines)

    # A fatal error (a bad setting) is exit 1 with a message, never a stack trace.
    fatal = _cli(tmp_path / "home", "ingest", str(folder), env={"ASSISTANT_MAX_FILE_MB": "lots"})
    assert fatal.returncode == 1
    assert "ASSISTANT_MAX_FILE_MB" in fatal.stderr and "Traceback" not in fatal.stderr


# --- a YAML alias bomb in Markdown front matter -----------------------------------------------


def _alias_bomb(levels: int) -> str:
    """Front matter whose title, written out, is 9**levels strings ("billion laughs")."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    return "---\n" + "\n".join(lines) + f"\ntitle: *l{levels}\n---\n# Bomb\nA short report.\n"


def test_a_yaml_alias_bomb_is_a_file_error_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "bomb.md"
    path.write_text(_alias_bomb(6))
    assert path.stat().st_size < 600
    tracemalloc.start()
    try:
        with pytest.raises(DocumentError) as caught:
            load_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"{peak / 1e6:.0f} MB"  # was 750 MB
    assert "bomb.md" in str(caught.value) and "YAML aliases" in str(caught.value)


def test_oversized_front_matter_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "long.md"
    path.write_text("---\n" + "".join(f"k{i}: v\n" for i in range(5_000)) + "---\nText.\n")
    with pytest.raises(DocumentError, match="front matter over"):
        load_file(path)


def test_front_matter_values_that_are_not_plain_are_no_title(tmp_path: Path) -> None:
    path = tmp_path / "odd.md"
    path.write_text("---\ntitle: [a, b]\ndate: 2022-01-05\n---\n# Heading title\nText.\n")
    doc = load_file(path)
    assert doc.title == "Heading title" and doc.date == "2022-01-05"


def test_ingest_beside_an_alias_bomb_indexes_the_rest_in_bounded_memory(tmp_path: Path) -> None:
    # Each ingest runs in its own process, which reports its peak resident memory.
    script = ("import resource, sys; from assistant.cli import main; code = main(sys.argv[1:]); "
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
              "sys.exit(code)")

    def ingest(name: str, files: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
        folder = tmp_path / name
        folder.mkdir()
        for file_name, text in files.items():
            (folder / file_name).write_text(text)
        environ = {**os.environ, "ASSISTANT_HOME": str(tmp_path / f"home-{name}"), "HF_HUB_OFFLINE": "1"}
        done = subprocess.run([sys.executable, "-c", script, "ingest", str(folder), "--json"],
                              capture_output=True, text=True, env=environ, cwd=ROOT, timeout=600)
        return done, int(done.stderr.strip().splitlines()[-1]) / 1024

    # The same ingest without the bomb first: it also builds the model caches a fresh checkout
    # lacks (quantizing the model once costs more memory than anything measured here).
    control, control_mb = ingest("control", {"harbor.txt": GOOD})
    assert control.returncode == 0, control.stderr
    done, peak_mb = ingest("in", {"bomb.md": _alias_bomb(6), "harbor.txt": GOOD})
    assert done.returncode == 2, done.stderr
    result = json.loads(done.stdout)
    assert [Path(f["path"]).name for f in result["failed"]] == ["bomb.md"]
    assert "YAML aliases" in result["failed"][0]["error"]
    assert [Path(p).name for p in result["added"]] == ["harbor.txt"]
    # Model, store and all: about 520 MB either way; the bomb alone used to add 750 MB.
    assert peak_mb < control_mb + 200, f"peak {peak_mb:.0f} MB, {control_mb:.0f} MB without the bomb"
