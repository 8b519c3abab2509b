"""A picture of a job's document: the first page, as PNG, of what `refdesk merge` would make.

The document is rendered by the merge's own code (the job's templates, the records it would
choose, the same data), in memory; LibreOffice turns it into a PDF and pdftoppm draws the first
page (where pdftoppm is missing, LibreOffice's own picture export does, in the installs that
have it). Nothing is written into the workbook or the job's folder: the pictures live in a
private cache folder on this machine (0700, the files 0600), named by a digest of the rendered
document, so a picture is made again exactly when the template, the workbook's rows or the day
change it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from refdesk.book import Book
from refdesk.config import Config
from refdesk.errors import RefdeskError
from refdesk.fileio import private_folder, write_file
from refdesk.merge.data import Data, context
from refdesk.merge.route import combine
from refdesk.merge.run import compile_job, find_job, select
from refdesk.places import APP_NAME
from refdesk.sources import Source

#: Width of the picture in pixels: a letter page is legible at this size on a laptop.
WIDTH_PX = 900
#: Pictures kept in the cache; older ones are removed as new ones are made.
KEEP = 60
PDFTOPPM_TIMEOUT_S = 60
#: Why there is no picture when neither pdftoppm nor LibreOffice's picture export is there
#: (Debian's headless LibreOffice packages leave the export out).
NO_PDFTOPPM = ("this LibreOffice cannot draw a page as a picture, and pdftoppm (Poppler) is "
               "not installed: install it (Debian/Ubuntu: sudo apt-get install poppler-utils; "
               "macOS: brew install poppler), or a LibreOffice with its drawing filters, then "
               "try again. The letters themselves can be made without it.")


class PreviewError(RefdeskError):
    """No picture can be made: no such job or record, nothing to make, or no LibreOffice."""


@dataclass(frozen=True)
class Preview:
    """A picture of one document. `id` is a digest, safe to put in an address: it names no
    client."""

    id: str
    path: Path
    job: str
    record: str

    @property
    def png(self) -> bytes:
        return self.path.read_bytes()


def cache_folder() -> Path:
    """The user's private folder for pictures of documents (platformdirs' cache folder)."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "previews"


def find(preview_id: str, cache: Path | None = None) -> Path | None:
    """The picture with this id, if it is in the cache (an id is hex digits only)."""
    if not preview_id or not all(c in "0123456789abcdef" for c in preview_id):
        return None
    path = (cache or cache_folder()) / f"{preview_id}.png"
    return path if path.is_file() else None


def preview_png(config: Config, source_or_book: Source | Book, job: str,
                record: str | None = None, *, today: dt.date,
                cache: Path | None = None) -> Preview:
    """The first page of the document `job` would make first (or for `record`, by its id:
    R012, P004, C056 ...), as a PNG in the private cache. Raises PreviewError saying why
    there is no picture."""
    the_job = find_job(config, job)
    templates = compile_job(config, the_job)
    book = source_or_book if isinstance(source_or_book, Book) else source_or_book.read()
    data = Data.of(book, today)
    chosen, skipped, _already, _considered = select(data, the_job, force=False)
    if record is None:
        if not chosen:
            raise PreviewError(f"job {job}: nothing to make on {today.isoformat()}, so there is "
                               "no document to show.")
        target = chosen[0]
    else:
        found = [r for r in chosen if r.key == record]
        if not found:  # a record already done still has a document to show
            why = {s.record.key: s.reason for s in skipped}.get(record)
            if why:
                raise PreviewError(f"job {job}: {record} would be skipped ({why}), so there is "
                                   "no document to show.")
            redo, _skipped, _a, _c = select(data, the_job, force=True)
            found = [r for r in redo if r.key == record]
        if not found:
            raise PreviewError(f"job {job}: no record {record} among the rows this job makes "
                               "documents for.")
        target = found[0]
    parts = [t.render(context(data, the_job, target, config.practice)) for t in templates]
    digest = hashlib.sha256(b"\0".join([job.encode(), target.key.encode(), *parts]))
    preview_id = digest.hexdigest()[:32]
    folder = private_folder(cache or cache_folder())
    png = folder / f"{preview_id}.png"
    if not png.is_file():
        document = parts[0] if len(parts) == 1 else combine(parts)
        write_file(png, _first_page(document, folder))
        _trim(folder)
    return Preview(preview_id, png, job, target.key)


def _first_page(document: bytes, folder: Path) -> bytes:
    """The first page of a .docx as PNG bytes, made in a private working folder."""
    from refdesk.office import OfficeError, convert, find_soffice, install_hint

    if find_soffice() is None:
        raise PreviewError(f"no picture: LibreOffice draws the pages and is not installed; "
                           f"{install_hint()}.")
    with tempfile.TemporaryDirectory(prefix="work-", dir=folder) as work:
        docx = write_file(Path(work) / "document.docx", document)
        pdftoppm = shutil.which("pdftoppm")
        if pdftoppm is None:  # LibreOffice's own export draws the first page, where it can
            try:
                return convert([docx], "png:writer_png_Export", Path(work))[0].read_bytes()
            except OfficeError:
                raise PreviewError(f"no picture: {NO_PDFTOPPM}") from None
        try:
            pdf = convert([docx], "pdf", Path(work))[0]
        except OfficeError as exc:
            raise PreviewError(f"no picture: {exc.message}") from None
        out = Path(work) / "page"
        try:
            done = subprocess.run(
                [pdftoppm, "-png", "-f", "1", "-l", "1", "-singlefile", "-scale-to-x",
                 str(WIDTH_PX), "-scale-to-y", "-1", str(pdf), str(out)],
                capture_output=True, text=True, errors="replace", timeout=PDFTOPPM_TIMEOUT_S,
                check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PreviewError(f"no picture: pdftoppm could not draw the page ({exc}).") \
                from None
        picture = out.with_suffix(".png")
        if done.returncode != 0 or not picture.is_file():
            detail = (done.stderr or "").strip().splitlines()
            raise PreviewError("no picture: pdftoppm could not draw the page"
                               + (f" ({detail[-1]})" if detail else "") + ".")
        return picture.read_bytes()


def _trim(folder: Path) -> None:
    """Keep the newest KEEP pictures: the cache holds letters about clients."""
    pictures = sorted(folder.glob("*.png"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in pictures[KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink()
