"""The accounting of disclosures as files: the document the practice hands the client (a .docx
from templates/disclosures.docx, and its PDF through LibreOffice) and the CSV. Every file is
private: it holds the client's health information."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterator
from importlib.resources import as_file
from pathlib import Path
from typing import Any

from refdesk import characters, resources
from refdesk.config import Config
from refdesk.errors import RefdeskError
from refdesk.fileio import write_file
from refdesk.merge import clinical
from refdesk.merge.data import letter_date, practice_context
from refdesk.output import write_csv

TEMPLATE = "disclosures.docx"
HOW = {"mail": "by mail", "fax": "by fax", "email": "by email"}


def _clean(text: str) -> str:
    """A cell's text as a document can hold it: a character no document holds shows as
    U+FFFD (the accounting is the client's own record; it is printed, not refused)."""
    return characters.FORBIDDEN.sub("\ufffd", text)


def count_text(count: int) -> str:
    if count == 0:
        return "No disclosure of your health information is recorded in this period."
    return (f"{count} disclosure{'s' if count != 1 else ''} "
            f"{'are' if count != 1 else 'is'} listed.")


def context(accounting: Any, config: Config) -> dict[str, Any]:
    """What the template receives (see `shape`)."""
    rows = []
    for d in accounting.disclosures:
        how = HOW.get(d.delivery, "") if d.status != "told" else "told by the practice"
        rows.append({k: _clean(v) for k, v in {
            "date": letter_date(d.date) if d.date else "date not recorded", "how": how,
            "recipient": d.recipient,
            "where": ", ".join(x for x in (d.practice, d.address) if x),
            "document": d.document, "information": d.information, "purpose": d.purpose,
        }.items()})
    return {
        "practice": practice_context(config.practice),
        "today": letter_date(accounting.made_on),
        "signed": clinical.signed(config.practice, accounting.made_on),
        "client": {"id": accounting.client_id, "name": _clean(accounting.name),
                   "dob": letter_date(accounting.dob) if accounting.dob else "not on file"},
        "period": {"start": letter_date(accounting.start), "end": letter_date(accounting.end)},
        "disclosures": rows,
        "count": len(rows),
        "count_text": count_text(len(rows)),
        "notes": [_clean(n) for n in accounting.notes],
    }


def shape(config: Config) -> dict[str, Any]:
    """The data the template receives, every key present and each list with one item: what
    `refdesk templates` checks the template's fields against."""
    row = dict.fromkeys(("date", "how", "recipient", "where", "document", "information",
                         "purpose"), "")
    return {"practice": practice_context(config.practice), "today": "",
            "signed": {"image": "", "name": "", "date": "", "line": ""},
            "client": {"id": "", "name": "", "dob": ""}, "period": {"start": "", "end": ""},
            "disclosures": [row], "count": 0, "count_text": "", "notes": [""]}


@contextlib.contextmanager
def template_path(config: Config) -> Iterator[Path]:
    """The practice's own templates/disclosures.docx, else the one refdesk ships (a practice
    folder made before it existed has none)."""
    own = config.templates / TEMPLATE
    if own.is_file():
        yield own
        return
    shipped = resources.templates() / TEMPLATE
    if not shipped.is_file():
        raise RefdeskError(f"{own}: no such template, and this installation has none to fall "
                           "back on; reinstall refdesk, or copy templates/disclosures.docx "
                           "from it.")
    with as_file(shipped) as path:
        yield path


def render_docx(accounting: Any, config: Config) -> bytes:
    from refdesk.merge.engine import CompiledTemplate

    with template_path(config) as path:
        template = CompiledTemplate(path)
    return template.render(context(accounting, config))


def write_docx(accounting: Any, config: Config, path: Path) -> Path:
    return write_file(path, render_docx(accounting, config), private=True)


def write_pdf(accounting: Any, config: Config, path: Path) -> Path:
    """The document as PDF at `path`, converted by LibreOffice in a private temporary folder
    and then written in one step (a failure leaves nothing half-written)."""
    from refdesk.office import convert, require_soffice

    require_soffice()  # before anything is made: a clear message naming the package
    data = render_docx(accounting, config)
    with tempfile.TemporaryDirectory(prefix="refdesk-disclosures-") as folder:
        docx = Path(folder) / "accounting.docx"
        docx.write_bytes(data)
        pdf = convert([docx], "pdf", Path(folder))[0]
        return write_file(path, pdf.read_bytes(), private=True)


def csv_text(accounting: Any) -> str:
    """The disclosures as CSV, the header row even when there are none."""
    from refdesk.disclosures import CSV_FIELDS

    out = io.StringIO()
    write_csv(out, CSV_FIELDS, ([d.record()[k] for k in CSV_FIELDS]
                                for d in accounting.disclosures))
    return out.getvalue()


def write_csv_file(accounting: Any, path: Path) -> Path:
    return write_file(path, csv_text(accounting).encode("utf-8"), private=True)


#: Where each top-level name of the template's data comes from, for `refdesk templates`.
ORIGINS = {
    "client": "the Clients sheet (the client named)",
    "period": "--from and --to (six years up to today by default)",
    "disclosures": "the Letters and Sent sheets (refdesk disclosures)",
    "count": "the disclosures listed", "count_text": "the disclosures listed",
    "notes": "what the accounting leaves out, and why",
}


def template_report(report: Any, template: Any, config: Config) -> Any:
    """What `refdesk templates` says about templates/disclosures.docx: `refdesk disclosures`
    fills it, not a merge job; its fields are checked against `shape`."""
    from refdesk.merge.data import has_path
    from refdesk.templates_cmd import Field, origin

    available = shape(config)
    report.kind, report.jobs = "tags", ["refdesk disclosures"]
    for name in sorted(template.fields()):
        top = name.split(".")[0]
        known = has_path(available, name)
        where = (ORIGINS.get(top) or origin(name)) if known else ""
        report.fields.append(Field(name, name if known else "", where,
                                   ["refdesk disclosures"] if known else []))
        if not known:
            report.problems.append(f"{report.file.name}: {name} is data refdesk disclosures "
                                   "does not provide.")
    return report
