"""refdesk.preview: which document is drawn, when it is drawn again, and why there is none."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from docx import Document

from refdesk import office, preview
from refdesk.config import load_config
from refdesk.office import OfficeError
from refdesk.preview import PreviewError, find, preview_png
from refdesk.sources.excel import ExcelSource

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The documents handed to LibreOffice (none is: each "picture" is a stand-in)."""
    seen: list[bytes] = []

    def first_page(document: bytes, folder: Path) -> bytes:
        seen.append(document)
        return b"\x89PNG stand-in"

    monkeypatch.setattr(preview, "_first_page", first_page)
    return seen


def test_drawn_once_until_the_document_changes(practice: Path, tmp_path: Path,
                                               drawn: list[bytes]) -> None:
    config = load_config(practice)
    book = ExcelSource(practice.parent / "workbooks" / "referrals.xlsx").read()
    cache = tmp_path / "cache"
    first = preview_png(config, book, "thank-you", today=TODAY, cache=cache)
    assert (first.job, first.record) == ("thank-you", "R239")
    assert first.path == cache / f"{first.id}.png" and first.png == b"\x89PNG stand-in"
    again = preview_png(config, book, "thank-you", "R239", today=TODAY, cache=cache)
    assert again.id == first.id and len(drawn) == 1  # the cache, not LibreOffice
    other = preview_png(config, book, "thank-you", "R245", today=TODAY, cache=cache)
    later = preview_png(config, book, "thank-you", today=TODAY + dt.timedelta(days=1),
                        cache=cache)  # the letter's date changed
    assert len({first.id, other.id, later.id}) == 3 and len(drawn) == 3
    # A template edited since: drawn again.
    template = practice.parent / "templates" / "thank-you.docx"
    document = Document(str(template))
    document.add_paragraph("P.S. Our new hours start in December.")
    document.save(str(template))
    edited = preview_png(config, book, "thank-you", today=TODAY, cache=cache)
    assert edited.id != first.id and len(drawn) == 4
    assert b"new hours" not in drawn[0]


def test_which_record(practice: Path, tmp_path: Path, drawn: list[bytes]) -> None:
    config = load_config(practice)
    book = ExcelSource(practice.parent / "workbooks" / "referrals.xlsx").read()
    cache = tmp_path / "cache"
    done = preview_png(config, book, "thank-you", "R247", today=TODAY, cache=cache)
    assert done.record == "R247"
    with pytest.raises(PreviewError, match=r"R221 would be skipped \(no release from client "
                                           r"C276 naming provider P010\)"):
        preview_png(config, book, "progress-report", "R221", today=TODAY, cache=cache)
    with pytest.raises(PreviewError, match="no record C001 among the rows"):
        preview_png(config, book, "thank-you", "C001", today=TODAY, cache=cache)
    assert find(done.id, cache) == done.path
    assert find("../x", cache) is None and find("0" * 32, cache) is None


def test_nothing_to_make(practice: Path, tmp_path: Path, drawn: list[bytes],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview, "select", lambda *args, **kwargs: ([], [], 3, 3))
    with pytest.raises(PreviewError, match="job thank-you: nothing to make on 2026-11-23"):
        preview_png(load_config(practice), ExcelSource(practice.parent / "workbooks" /
                                                       "referrals.xlsx"),
                    "thank-you", today=TODAY, cache=tmp_path / "cache")
    assert drawn == []


def test_without_libreoffice_or_pdftoppm_it_says_why(
        practice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(practice)
    book = ExcelSource(practice.parent / "workbooks" / "referrals.xlsx").read()
    monkeypatch.setattr(office, "find_soffice", lambda: None)
    with pytest.raises(PreviewError, match="LibreOffice draws the pages and is not installed; "
                                           "install it"):
        preview_png(config, book, "thank-you", today=TODAY, cache=tmp_path / "cache")
    # LibreOffice without its picture export (Debian's headless packages), no pdftoppm.
    monkeypatch.setattr(office, "find_soffice", lambda: "/usr/bin/soffice")
    monkeypatch.setattr(preview.shutil, "which", lambda name: None)

    def no_export(files: list[Path], to: str, outdir: Path) -> list[Path]:
        assert to == "png:writer_png_Export"
        raise OfficeError("LibreOffice could not convert the files to png.")

    monkeypatch.setattr(office, "convert", no_export)
    with pytest.raises(PreviewError, match=r"pdftoppm \(Poppler\) is not installed: install "
                                           "it .Debian/Ubuntu: sudo apt-get install "
                                           "poppler-utils"):
        preview_png(config, book, "thank-you", today=TODAY, cache=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # no picture, no work left behind
