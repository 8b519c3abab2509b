"""`refdesk templates`: every template in the templates folder, its fields, where each
field's data comes from, and what would stop a merge: fields no job provides, Jinja tags Word
split across runs (docxtpl cannot see them), Word merge fields that match no data, fields
refdesk cannot merge. `refdesk templates check FILE` looks at one file.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from refdesk.config import SECTIONS, Config
from refdesk.errors import RefdeskError
from refdesk.merge.data import SOURCES, has_path, shape
from refdesk.merge.engine import CompiledTemplate
from refdesk.merge.jobs import EACH, Job, load_jobs
from refdesk.schema import SHEETS_BY_NAME

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
#: The sheet behind each object of a template's data, and the column its `id` is.
SHEET_OF = {"provider": ("Providers", "provider_id"), "referring": ("Providers", "provider_id"),
            "providers": ("Providers", "provider_id"), "client": ("Clients", "client_id"),
            "referral": ("Referrals", "referral_id"), "sent": ("Sent", "sent_id")}
#: The cover page of a fax (refdesk merge --deliver): any job's data that reaches a provider,
#: and the subject line.
FAX_COVER = "fax-cover.docx"
FAX_EXTRA = {"subject": "", "pages": ""}
_PART = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml")


@dataclass
class Field:
    name: str  # as the template writes it: provider.name, or a MERGEFIELD's name
    path: str  # the data it prints ("" when no job provides it)
    origin: str  # where that data comes from
    jobs: list[str] = field(default_factory=list)  # the jobs that provide it


@dataclass
class Report:
    file: Path
    kind: str  # "tags", "Word merge fields" or "plain text"
    jobs: list[str] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    mergefields: list[str] = field(default_factory=list)
    split_tags: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def origin(path: str) -> str:
    """Where a data path comes from: a sheet's column, config.toml, or what refdesk works
    out."""
    top, _, rest = path.partition(".")
    leaf = rest.rsplit(".", 1)[-1]
    if top == "practice":
        return f"config.toml [practice] {leaf}" if leaf in SECTIONS["practice"] else \
            "worked out from config.toml [practice]"
    if top in SHEET_OF and rest:
        sheet, key = SHEET_OF[top]
        column = key if leaf == "id" else leaf
        if column in SHEETS_BY_NAME[sheet].column_names:
            return f"{sheet}.{column}"
        return f"worked out from the {sheet} sheet"
    if top == "subject":
        return "the job's email_subject (fax covers)"
    if top == "pages":
        return "the pages faxed, the cover included (fax covers)"
    return SOURCES.get(top, "the job's data")


def _kind_jobs(config: Config) -> list[Job]:
    """One job of each kind, for a template no job uses yet."""
    job = next(iter(load_jobs(config).values()), None)
    if job is None:
        return []
    from dataclasses import replace

    return [replace(job, name=each, each=each) for each in EACH]


def check(config: Config | None, path: Path) -> Report:
    """What `refdesk templates` says about one template."""
    report = Report(path, "plain text")
    try:
        template = CompiledTemplate(path)
    except RefdeskError as exc:
        report.problems.append(exc.message)
        return report
    report.split_tags = split_tags(path)
    for tag in report.split_tags:
        report.problems.append(f"{path.name}, {tag}: Word split this tag across runs, so it "
                               "prints as typed; select it, delete it and type it again in "
                               "one go.")
    if path.name == "disclosures.docx" and config is not None:  # not a merge job's
        from refdesk.disclosures_doc import template_report

        return template_report(report, template, config)
    every = load_jobs(config).values() if config is not None else []
    if path.name == FAX_COVER:
        jobs = [j for j in every if j.each in ("providers", "referrals", "sent")]
    else:
        jobs = [j for j in every if path.name in j.templates]
    report.jobs = [j.name for j in jobs]
    merge = template.word_merge
    if merge is not None:
        report.kind = "Word merge fields"
        report.mergefields = merge.names()
    elif template.fields():
        report.kind = "tags"
    trial = jobs or (_kind_jobs(config) if config is not None else [])
    found: dict[str, Field] = {}
    for job in trial:
        available = shape(job, config.practice) if config is not None else {}
        if path.name == FAX_COVER:
            available.update(FAX_EXTRA)
        if merge is not None:
            problems = template.bind(job.field_map, available, job.name)
            if jobs:
                report.problems += problems
            for f in merge.fields:
                entry = found.setdefault(f.name, Field(f.name, "", ""))
                if f.path and job.name not in entry.jobs:
                    entry.path, entry.origin = f.path, origin(f.path)
                    entry.jobs.append(job.name)
        else:
            for name in sorted(template.fields()):
                entry = found.setdefault(name, Field(name, "", ""))
                if has_path(available, name) and job.name not in entry.jobs:
                    entry.path, entry.origin = name, origin(name)
                    entry.jobs.append(job.name)
    if not trial:
        names = report.mergefields if merge is not None else sorted(template.fields())
        found = {n: Field(n, "", "") for n in names}
    report.fields = list(found.values())
    if not jobs:  # the kinds of job that would provide each field
        for entry in report.fields:
            entry.jobs = [f"any job for {', '.join(entry.jobs)}"] if entry.jobs else []
    for entry in report.fields:
        if entry.path:
            continue
        if jobs and merge is None:
            report.problems.append(f"{path.name}: {entry.name} is data no job using it "
                                   f"provides ({', '.join(report.jobs)}).")
        elif not jobs and trial:
            report.problems.append(f"{path.name}: {entry.name} is data no kind of job "
                                   "provides.")
    return report


def check_all(config: Config) -> list[Report]:
    """Every .docx in the templates folder (Word's lock files left out), by name."""
    folder = config.templates
    if not folder.is_dir():
        raise RefdeskError(f"{folder}: no templates folder; set [merge] templates in "
                           "config.toml.")
    files = sorted(p for p in folder.glob("*.docx") if not p.name.startswith("~$"))
    reports = [check(config, p) for p in files]
    named = {p.name for p in files}
    for job in load_jobs(config).values():
        for name in job.templates:
            if name not in named:
                reports.append(Report(folder / name, "missing", [job.name], problems=[
                    f"{name}: job {job.name} uses it, and it is not in {folder}."]))
    return reports


def split_tags(path: Path) -> list[str]:
    """Paragraphs where a Jinja tag's `{{`, `{%`, `}}` or `%}` is split across runs: the text
    reads as a tag, but no single run holds its braces, so docxtpl leaves it as text."""
    found: list[str] = []
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if _PART.fullmatch(n)]
            parts = [(n, zf.read(n)) for n in sorted(names, key=lambda n: "document" not in n)]
    except (OSError, zipfile.BadZipFile):
        return found
    for name, xml in parts:
        try:
            root = etree.fromstring(xml)
        except etree.XMLSyntaxError:
            continue
        label = "the body" if "document" in name else name.removeprefix("word/").removesuffix(
            ".xml")
        for number, p in enumerate(root.iter(f"{{{W}}}p"), start=1):
            texts = [t.text or "" for t in p.iter(f"{{{W}}}t")]
            whole = "".join(texts)
            for mark in ("{{", "{%", "}}", "%}"):
                if whole.count(mark) > sum(t.count(mark) for t in texts):
                    shown = whole.strip()
                    shown = shown[:60] + ("..." if len(shown) > 60 else "")
                    found.append(f"{label}, paragraph {number} ({shown!r})")
                    break
    return found
