"""Mail-merge jobs as config.toml declares them, checked against the workbook's schema.

    [jobs.thank-you]
    title = "Thank-you letters for new referrals"
    templates = ["thank-you.docx"]
    each = "referrals"
    where = { first_visit = "set", thank_you_sent = "empty" }
    set = { "Referrals.thank_you_sent" = "today" }
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from typing import Any

from refdesk.config import Config
from refdesk.errors import ConfigError
from refdesk.merge.requirements import DEFAULTS, REQUIREMENTS
from refdesk.schema import RELEASE_SCOPE, SHEETS_BY_NAME

#: What a job makes one document for: the sheet, its id column, and the sheets reachable
#: from one of its rows (for `where` and `set`).
EACH: dict[str, tuple[str, str]] = {
    "providers": ("Providers", "provider_id"),
    "referrals": ("Referrals", "referral_id"),
    "clients": ("Clients", "client_id"),
    "sent": ("Sent", "sent_id"),
    "client-months": ("Visits", "client_id"),
}
#: Fields a record has beyond its sheet's columns, usable in `where`.
COMPUTED: dict[str, dict[str, str]] = {
    "clients": {"missing_release": "yes when a provider of the client has no valid release"},
    "client-months": {"month": '"previous" (the calendar month before today) or "YYYY-MM"'},
    "referrals": {"visits_done": "visits recorded for the referral"},
}
RELATED = {"provider": "Providers", "client": "Clients"}


@dataclass(frozen=True)
class Condition:
    field: str  # "stage", or "provider.wants"
    test: str  # "set", "empty", "equals"
    values: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.test in ("set", "empty"):
            return f"{self.field} is {self.test}"
        if self.test == "within":
            return f"{self.field} is within the last {self.values[0]} days"
        return f"{self.field} is " + " or ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class WriteBack:
    sheet: str
    column: str
    value: str  # "today" or a literal


@dataclass(frozen=True)
class Job:
    name: str
    title: str
    templates: tuple[str, ...]
    each: str
    to: str
    where: tuple[Condition, ...]
    scope: tuple[str, ...]
    file: str
    set: tuple[WriteBack, ...]
    contact: str
    again_after_days: int
    email_subject: str = ""
    email_body: str = ""
    email_client_info: bool = False
    #: What a record needs before its document is made (refdesk.merge.requirements).
    require: tuple[str, ...] = ()
    #: Labels and envelopes for documents delivered by mail (false: they carry their own).
    envelopes: bool = True
    #: A Word mail-merge letter's MERGEFIELD names -> the data they print ("client.first_name").
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def field_map(self) -> dict[str, str]:
        return dict(self.fields)

    @property
    def sheet(self) -> str:
        return EACH[self.each][0]

    @property
    def needs_release(self) -> bool:
        """A document about a client that goes to a provider."""
        return self.to == "provider" and self.each != "providers"


def _fail(config: Config, name: str, message: str) -> ConfigError:
    lines = config.job_lines.get(name, {})
    key = message.split(":", 1)[0]
    line = lines.get(key) or lines.get("")
    where = f"{config.path.name if config.path else 'config.toml'}" + (
        f" line {line}" if line else "")
    return ConfigError(f"{where}: [jobs.{name}] {message}")


def _columns(sheet: str) -> list[str]:
    return [c.name for c in SHEETS_BY_NAME[sheet].columns]


def _field(config: Config, name: str, each: str, field: str) -> None:
    sheet = EACH[each][0]
    prefix, _, column = field.partition(".")
    if column:
        if prefix not in RELATED:
            raise _fail(config, name, f"where: {field!r}: only provider.COLUMN and "
                        "client.COLUMN reach another sheet.")
        known = _columns(RELATED[prefix])
        target = column
    else:
        known = _columns(sheet) + list(COMPUTED.get(each, {}))
        target = field
    if target not in known:
        close = difflib.get_close_matches(target, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else f" Known: {', '.join(known)}."
        raise _fail(config, name, f"where: no column {field!r} for {each}.{hint}")


def parse_job(config: Config, name: str, raw: dict[str, Any]) -> Job:
    each = raw["each"]
    conditions = []
    for field, wanted in (raw.get("where") or {}).items():
        _field(config, name, each, field)
        window = re.fullmatch(r"within (\d+) days?", wanted.strip().lower()) \
            if isinstance(wanted, str) else None
        if isinstance(wanted, str) and wanted.lower() in ("set", "empty"):
            conditions.append(Condition(field, wanted.lower()))
        elif window:
            conditions.append(Condition(field, "within", (window.group(1),)))
        elif isinstance(wanted, str):
            conditions.append(Condition(field, "equals", (wanted,)))
        elif isinstance(wanted, list) and wanted and all(isinstance(v, str) for v in wanted):
            conditions.append(Condition(field, "equals", tuple(wanted)))
        else:
            raise _fail(config, name, f"where: {field} must be \"set\", \"empty\", "
                        "\"within N days\", a value in quotes or a list of values.")
    writes = []
    for target, value in (raw.get("set") or {}).items():
        sheet, _, column = str(target).partition(".")
        if sheet not in SHEETS_BY_NAME or column not in _columns(sheet):
            raise _fail(config, name, f"set: {target!r} is not a Sheet.column such as "
                        "\"Referrals.thank_you_sent\".")
        reachable = {"Providers", "Clients"} | (
            {EACH[each][0]} if each != "client-months" else set())
        if sheet not in reachable:
            raise _fail(config, name, f"set: {sheet} cannot be reached from a row of {each}; "
                        f"use one of {', '.join(sorted(reachable))}.")
        if not isinstance(value, str):
            raise _fail(config, name, f"set: {target} must be \"today\" or a value in quotes.")
        writes.append(WriteBack(sheet, column, value))
    unknown = [s for s in raw.get("scope", ()) if s not in RELEASE_SCOPE]
    if unknown:
        raise _fail(config, name, f"scope: {', '.join(unknown)} is not a release scope; use "
                    f"any of: {', '.join(RELEASE_SCOPE)}.")
    templates = tuple(raw["templates"])
    for template in templates:
        if not template.lower().endswith(".docx"):
            raise _fail(config, name, f"templates: {template!r} is not a .docx file.")
    require = raw.get("require")
    require = DEFAULTS.get(each, ()) if require is None else tuple(require)
    for need in require:
        if need not in REQUIREMENTS:
            raise _fail(config, name, f"require: {need!r} is not a requirement; use any of: "
                        f"{', '.join(REQUIREMENTS)}.")
        if each not in REQUIREMENTS[need][0]:
            raise _fail(config, name, f"require: {need!r} applies to jobs for "
                        f"{' or '.join(REQUIREMENTS[need][0])}, not {each}.")
    if raw.get("again_after_days", 0) < 0:
        raise _fail(config, name, "again_after_days must be 0 or more.")
    job = Job(name, raw["title"], templates, each, raw.get("to") or "provider",
              tuple(conditions), tuple(raw.get("scope") or ()),
              raw.get("file") or "{date} {job} {record}.docx", tuple(writes),
              raw.get("contact") or "", int(raw.get("again_after_days") or 0),
              raw.get("email_subject") or "", raw.get("email_body") or "",
              bool(raw.get("email_client_info")), require=require,
              envelopes=raw.get("envelopes") is not False)
    fields = raw.get("fields") or {}
    if fields:
        job = replace(job, fields=_merge_fields(config, job, fields))
    return job


def _merge_fields(config: Config, job: Job, fields: dict[str, Any]
                  ) -> tuple[tuple[str, str], ...]:
    """The job's `fields` table, each target checked against the data the job's documents
    receive: a path to text such as "client.first_name"."""
    from refdesk.merge.data import shape  # data.py reads this module's Job
    from refdesk.merge.mergefield import text_paths

    paths = text_paths(shape(job, config.practice))
    checked = []
    for name, target in fields.items():
        if not isinstance(target, str) or target not in paths:
            close = difflib.get_close_matches(str(target), paths, n=1)
            hint = (f" Did you mean {close[0]!r}?" if close else
                    f" A job for {job.each} offers: {', '.join(paths)}.")
            raise _fail(config, job.name, f"fields: {name} = {target!r} is not text the job's "
                        f"data has.{hint}")
        checked.append((str(name), target))
    return tuple(checked)


def load_jobs(config: Config) -> dict[str, Job]:
    return {name: parse_job(config, name, raw) for name, raw in config.jobs.items()}
