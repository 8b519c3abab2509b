"""Change cells and add rows in any .xlsx/.xlsm workbook, and nothing else.

    from refdesk.xlsxpatch import AppendRows, SetCell, SetField, patch_workbook

    patch_workbook("referrals.xlsx", [
        SetField("Referrals", "referral_id", "R-0042", "thank_you_sent", date.today()),
        SetCell("Notes", "B2", "called back"),
        AppendRows("Letters", [{"letter_id": "L-0101", "job": "thank-you"}]),
    ])

The workbook never goes through a load-and-save: the worksheet parts that change are edited
as bytes (only the changed rows, the sheet's dimension and its table's range move), and every
other part of the zip is copied with the same content. Charts, pivot tables, pictures,
comments, macros, sparklines and sheets refdesk knows nothing about come out as they went in.

Safety: a backup in `.refdesk-backups/` first, the new file written beside the old one and
renamed over it in one step, a refusal (exit 1, nothing written) when Excel or LibreOffice has
the file open or it changed since it was read (pass `expect=` the Fingerprint taken then).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import posixpath
import re
import shutil
import stat
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from refdesk.errors import WriteError
from refdesk.lock import WAIT as LOCK_WAIT
from refdesk.xlsxpatch import journal, safety, zipcopy
from refdesk.xlsxpatch.cells import Encoded, encode_value
from refdesk.xlsxpatch.journal import CellChange
from refdesk.xlsxpatch.package import (
    MAIN_NS,
    REL_PIVOT_TABLE,
    REL_STYLES,
    REL_TABLE,
    Package,
    SheetEntry,
    check_workbook_file,
    main_prefixes,
    prefix_of,
    rels_part,
)
from refdesk.xlsxpatch.safety import Fingerprint, fingerprint
from refdesk.xlsxpatch.sheet import NUMBER_START, SharedStrings, SheetXml, id_key
from refdesk.xlsxpatch.styles import Styles
from refdesk.xlsxpatch.table import Table
from refdesk.xlsxpatch.xmltext import (
    MAX_ROW,
    attr_pattern,
    cell_ref,
    get_attr,
    set_attr,
    split_range,
    split_ref,
)

__all__ = ["AppendRows", "Change", "Fingerprint", "PatchResult", "SetCell", "SetField",
           "fingerprint", "patch_workbook", "plan_patch"]

WRITABLE_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class SetCell:
    """Set one cell by its address, e.g. SetCell("Notes", "B2", "called back")."""

    sheet: str
    cell: str
    value: object


@dataclass(frozen=True)
class SetField:
    """Set one column of the row whose id column holds `id`, wherever that row is now."""

    sheet: str
    id_column: str
    id: str
    column: str
    value: object


@dataclass(frozen=True)
class AppendRows:
    """Add rows after the last row with data, inside the sheet's Excel table if it has one.

    A row is a mapping of column header to value, or a sequence of values from the table's
    (or the sheet's) first column on. `table` names the table when a sheet has several.
    """

    sheet: str
    rows: Sequence[Mapping[str, object] | Sequence[object]]
    table: str | None = None


Change = SetCell | SetField | AppendRows


@dataclass
class PatchResult:
    path: Path
    backup: Path | None = None
    cells: int = 0
    appended: dict[str, tuple[int, int]] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    #: The cells set outside the appended rows, with their text before and after.
    changes: list[CellChange] = field(default_factory=list)
    #: The record of this write beside its backup (for `refdesk undo`), when one was kept.
    record: Path | None = None
    #: The workbook as written, so that the next write can check nobody saved it since.
    fingerprint: Fingerprint | None = None

    @property
    def written(self) -> bool:
        return bool(self.parts)

    def note_cells(self, sheet: str, xml: SheetXml) -> None:
        """Remember the cells `xml`'s pending changes set, with the text they held."""
        first, last = self.appended.get(sheet, (0, -1))
        for row in sorted(xml.pending):
            if first <= row <= last:
                continue
            for col, value in sorted(xml.pending[row].items()):
                cell = xml.cell(row, col)
                old = xml.text(cell) if cell is not None else None
                self.changes.append(CellChange(f"{sheet}!{cell_ref(row, col)}", old,
                                               _as_text(value)))


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def normalize_header(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


class _Sheet:
    def __init__(self, entry: SheetEntry, xml: SheetXml, tables: list[Table]) -> None:
        self.entry = entry
        self.xml = xml
        self.tables = tables
        self.keys: dict[int, dict[str, list[int]]] = {}
        self.template: dict[int, int] = {}
        self.next_row: dict[str, int] = {}  # where the next appended row goes, by table
        self.table_end: dict[str, int] = {}
        self.pivots: list[tuple[str, tuple[int, int, int, int]]] = []
        self.headers: dict[str, tuple[int, dict[str, list[int]]]] = {}

    def refuse_protected_cells(self) -> None:
        """Table headers must match the table's column names, and pivot tables are Excel's to
        fill: a change to either would make Excel repair the file."""
        name = self.entry.name
        for row, cols in self.xml.pending.items():
            for col in cols:
                where = f"{name}!{cell_ref(row, col)}"
                for table in self.tables:
                    if (table.header_rows and row == table.r1
                            and table.c1 <= col <= table.c2):
                        raise WriteError(f"{where} is a header of the table {table.name}; "
                                         "rename the column in Excel instead. Nothing was "
                                         "written.")
                for pivot, (r1, c1, r2, c2) in self.pivots:
                    if r1 <= row <= r2 and c1 <= col <= c2:
                        raise WriteError(f"{where} is inside the pivot table {pivot}, which "
                                         "Excel fills itself. Nothing was written.")


class _Planner:
    def __init__(self, pkg: Package) -> None:
        self.pkg = pkg
        self.book = pkg.workbook()
        self.styles = Styles(pkg.read(self.book.styles) if self.book.styles else None)
        self.shared = SharedStrings(pkg.read(self.book.shared_strings)
                                    if self.book.shared_strings else None)
        self.sheets: dict[str, _Sheet] = {}
        self.result = PatchResult(pkg.path)

    # -- finding things ----------------------------------------------------------------------
    def sheet(self, name: str) -> _Sheet:
        entries = self.book.sheets
        entry = next((e for e in entries if e.name == name), None)
        if entry is None:
            entry = next((e for e in entries if e.name.strip().lower() == name.strip().lower()),
                         None)
        if entry is None:
            names = ", ".join(e.name for e in entries) or "none"
            raise WriteError(f"{self.pkg.path.name}: there is no sheet named {name!r} (sheets: "
                             f"{names}). Nothing was written.")
        if entry.name in self.sheets:
            return self.sheets[entry.name]
        if entry.kind != "worksheet" or entry.part is None or not self.pkg.has(entry.part):
            raise WriteError(f"{self.pkg.path.name}: {entry.name} is a {entry.kind}, not a "
                             "worksheet with cells. Nothing was written.")
        xml = SheetXml(entry.name, self.pkg.read(entry.part), self.shared)
        if xml.protected:
            raise WriteError(f"{entry.name} is protected. Unprotect it in Excel (Review > "
                             "Unprotect Sheet), then run refdesk again. Nothing was written.")
        tables = []
        pivots = []
        for rel in self.pkg.relationships(entry.part).values():
            if rel.external or not self.pkg.has(rel.target):
                continue
            if rel.type == REL_TABLE:
                table = Table.parse(rel.target, self.pkg.read(rel.target))
                if table is not None:
                    tables.append(table)
            elif rel.type == REL_PIVOT_TABLE:
                pivot = _pivot_location(self.pkg.read(rel.target))
                if pivot is not None:
                    pivots.append(pivot)
        state = _Sheet(entry, xml, sorted(tables, key=lambda t: (t.r1, t.c1)))
        state.pivots = pivots
        self.sheets[entry.name] = state
        return state

    def table(self, state: _Sheet, name: str | None) -> Table | None:
        if name is not None:
            for table in state.tables:
                if table.name.lower() == name.lower():
                    return table
            names = ", ".join(t.name for t in state.tables) or "none"
            raise WriteError(f"{state.entry.name} has no table named {name!r} (tables: {names}). "
                             "Nothing was written.")
        return state.tables[0] if len(state.tables) == 1 else None

    def headers(self, state: _Sheet, table: Table | None) -> tuple[int, dict[str, list[int]]]:
        """The header row and column numbers by normalized header."""
        key = table.name if table else ""
        if key not in state.headers:
            found: dict[str, list[int]] = {}
            if table is not None and table.columns:
                for i, name in enumerate(table.columns):
                    found.setdefault(normalize_header(name), []).append(table.c1 + i)
                state.headers[key] = (table.r1, found)
            else:
                for col, text in state.xml.row_texts(1).items():
                    found.setdefault(normalize_header(text), []).append(col)
                state.headers[key] = (1, found)
        return state.headers[key]

    def column(self, state: _Sheet, table: Table | None, header: str) -> int:
        _, headers = self.headers(state, table)
        cols = headers.get(normalize_header(header), [])
        where = f"{state.entry.name}" + (f" (table {table.name})" if table else "")
        if not cols:
            known = ", ".join(sorted(headers)) or "no headers in row 1"
            raise WriteError(f"{where} has no column {header!r} (it has: {known}). Add the "
                             "column, or check its header. Nothing was written.")
        if len(cols) > 1:
            letters = ", ".join(cell_ref(1, c)[:-1] for c in cols)
            raise WriteError(f"{where} has the column {header!r} more than once (columns "
                             f"{letters}); rename one. Nothing was written.")
        return cols[0]

    # -- changes -----------------------------------------------------------------------------
    def set_cell(self, change: SetCell) -> None:
        state = self.sheet(change.sheet)
        try:
            row, col = split_ref(change.cell)
        except ValueError:
            raise WriteError(f"{state.entry.name}!{change.cell} is not a cell address like B7. "
                             "Nothing was written.") from None
        state.xml.set(row, col, change.value)

    def set_field(self, change: SetField) -> None:
        state = self.sheet(change.sheet)
        table = self.table(state, None)
        header_row, _ = self.headers(state, table)
        id_col = self.column(state, table, change.id_column)
        col = self.column(state, table, change.column)
        if id_col not in state.keys:
            index: dict[str, list[int]] = {}
            for row, text in state.xml.column_texts(id_col).items():
                key = text.strip()
                if key[:1] in NUMBER_START:  # `1.0` typed as text is the id 1
                    key = id_key(key)
                if row > header_row and key:
                    index.setdefault(key, []).append(row)
            state.keys[id_col] = index
        rows = state.keys[id_col].get(id_key(str(change.id)), [])
        name = state.entry.name
        if not rows:
            raise WriteError(f"{name}: no row has {change.id_column} {change.id!r} any more "
                             "(deleted or renamed since refdesk read it?). Check the sheet and "
                             "run the command again. Nothing was written.")
        if len(rows) > 1:
            listed = ", ".join(str(r) for r in rows[:5])
            raise WriteError(f"{name}: {change.id_column} {change.id!r} is in rows {listed}; "
                             "ids must be unique (`refdesk check` lists these). Nothing was "
                             "written.")
        state.xml.set(rows[0], col, change.value)

    def append_rows(self, change: AppendRows) -> None:
        state = self.sheet(change.sheet)
        rows = list(change.rows)
        if not rows:
            return
        table = self.table(state, change.table)
        name = state.entry.name
        if table is None and len(state.tables) > 1:
            names = ", ".join(t.name for t in state.tables)
            raise WriteError(f"{name} has {len(state.tables)} tables ({names}); say which one "
                             "gets the rows. Nothing was written.")
        key = table.name if table else ""
        header_row, _ = self.headers(state, table)
        if table is not None:
            if table.totals_rows:
                raise WriteError(f"{name}: the table {table.name} has a totals row, so rows "
                                 "cannot be added below its data. Turn the totals row off "
                                 "(Table Design > Total Row), then run refdesk again. Nothing "
                                 "was written.")
            c1, c2 = table.c1, table.c2
            last = state.xml.last_row_with_values(table.first_data_row, table.last_data_row,
                                                  c1, c2)
            start = (last or table.first_data_row - 1) + 1
        else:
            c1, c2 = 1, 16_384
            last = state.xml.last_row_with_values(header_row + 1, MAX_ROW)
            start = (last or header_row) + 1
        start = max(start, state.next_row.get(key, 0))
        taken = [row for row, cols in state.xml.pending.items() if any(c1 <= c <= c2 for c in cols)]
        if taken and max(taken) >= start:  # cells set earlier in this same patch
            start = max(taken) + 1
        end = start + len(rows) - 1
        if end > MAX_ROW:
            raise WriteError(f"{name} is full: {len(rows)} more rows would pass Excel's last "
                             f"row ({MAX_ROW:,}). Nothing was written.")
        limit = table.last_data_row if table else 0
        if end > limit:
            blocker = state.xml.last_row_with_values(max(start, limit + 1), end, c1, c2)
            if blocker is not None:
                raise WriteError(f"{name}: row {blocker} already holds data where the new rows "
                                 f"would go (rows {start}-{end}" + (f", below the table "
                                 f"{table.name}" if table else "") + "). Move it, then run "
                                 "refdesk again. Nothing was written.")
        first_col = table.c1 if table else 1
        template = start - 1 if start - 1 > header_row else None
        for offset, row in enumerate(rows):
            number = start + offset
            if isinstance(row, Mapping):
                cells = {self.column(state, table, str(k)): v for k, v in row.items()}
            elif isinstance(row, Sequence) and not isinstance(row, str | bytes):
                cells = {first_col + i: v for i, v in enumerate(row)}
                if table is not None and cells and max(cells) > table.c2:
                    raise WriteError(f"{name}: a row of {len(row)} values is wider than the "
                                     f"table {table.name}. Nothing was written.")
            else:
                raise WriteError(f"{name}: a new row must be a mapping of column to value or a "
                                 "list of values. Nothing was written.")
            for col, value in cells.items():
                if value is not None:
                    state.xml.set(number, col, value)
            if template is not None:
                state.template[number] = template
        state.next_row[key] = end + 1
        if table is not None:
            state.table_end[key] = max(state.table_end.get(key, table.r2), end)
        first, _ = self.result.appended.get(name, (start, end))
        self.result.appended[name] = (min(first, start), end)

    # -- output ------------------------------------------------------------------------------
    def encode(self, value: object, where: str) -> Encoded:
        return encode_value(value, where, self.book.date1904)

    def style_for(self, encoded: Encoded, base: int | None, where: str,
                  borrowed: bool = False) -> int | None:
        """The cell format for a value. A format borrowed from the row above keeps its number
        format only for a value of the same kind (a number below a date stays a number); so
        does the workbook's default format, which a cell without one shows."""
        if (borrowed or base is None) and encoded.kind in ("number", "text"):
            return self.styles.for_value(base, encoded.kind)
        if encoded.kind not in ("date", "datetime"):
            return base
        style = self.styles.date_style(base, encoded.kind == "datetime")
        if style is None:
            raise WriteError(f"{where}: the workbook has no cell formats refdesk can extend to "
                             "show a date; open and re-save it in Excel. Nothing was written.")
        return style

    def parts(self) -> dict[str, bytes]:
        new: dict[str, bytes] = {}
        for state in self.sheets.values():
            if not state.xml.pending:
                continue
            assert state.entry.part is not None
            state.refuse_protected_cells()
            data = state.xml.build(self.encode, self.style_for, state.template)
            new[self.pkg.name(state.entry.part) or state.entry.part] = data
            self.result.cells += sum(len(cells) for cells in state.xml.pending.values())
            self.result.note_cells(state.entry.name, state.xml)
            for table in state.tables:
                end = state.table_end.get(table.name)
                if end is not None and end > table.r2:
                    new[self.pkg.name(table.part) or table.part] = table.extended(end)
        styles = self.styles.patched()
        if styles is not None and self.book.styles:
            new[self.pkg.name(self.book.styles) or self.book.styles] = styles
        elif styles is not None:
            new.update(self._add_styles_part(styles))
        if new:
            # Asked already (as xlsxwriter's workbooks do): no sheet need be searched.
            workbook = _recalculate_on_load(self.pkg.read(self.book.part))
            if workbook is not None and self._has_formulas():
                new[self.pkg.name(self.book.part) or self.book.part] = workbook
        return new

    def _add_styles_part(self, styles: bytes) -> dict[str, bytes]:
        """A workbook written without a styles part gets one, with its relationship and its
        content type, so that a date can be shown as a date."""
        folder = posixpath.dirname(self.book.part)
        name = posixpath.join(folder, "styles.xml")
        if "\\" in (self.pkg.name(self.book.part) or ""):  # a zip written with backslashes
            name = name.replace("/", "\\")
        if self.pkg.has(name):
            raise WriteError(f"{self.pkg.path.name}: the workbook's parts are inconsistent "
                             f"({name} is not its styles part); open and re-save it in Excel. "
                             "Nothing was written.")
        rels_name = rels_part(self.book.part)
        rels = self.pkg.read(rels_name)
        ids = {int(m.group(2)[3:]) for m in attr_pattern(b"Id").finditer(rels)
               if re.fullmatch(rb"rId\d+", m.group(2))}
        rel = (f'<Relationship Id="rId{max(ids, default=0) + 1}" Type="{REL_STYLES}" '
               'Target="styles.xml"/>').encode()
        types = self.pkg.read("[Content_Types].xml")
        override = (f'<Override PartName="/{name}" ContentType="application/vnd.openxmlformats-'
                    'officedocument.spreadsheetml.styles+xml"/>').encode()
        if b"</Relationships>" not in rels or b"</Types>" not in types:
            raise WriteError(f"{self.pkg.path.name}: the workbook's package lists are damaged; "
                             "open and re-save it in Excel. Nothing was written.")
        return {
            name: styles,
            self.pkg.name(rels_name) or rels_name: rels.replace(b"</Relationships>",
                                                                rel + b"</Relationships>"),
            self.pkg.name("[Content_Types].xml") or "[Content_Types].xml":
                types.replace(b"</Types>", override + b"</Types>"),
        }

    def _has_formulas(self) -> bool:
        if self.book.calc_chain:
            return True
        for entry in self.book.sheets:
            if entry.kind == "worksheet" and entry.part and self.pkg.has(entry.part):
                parsed = self.sheets.get(entry.name)  # its prefixes are known already
                if parsed is not None:
                    if not parsed.xml.formula_free and re.search(
                            rb"<" + parsed.xml.pp + rb"f[\s>/]", parsed.xml.data):
                        return True
                # Streamed: the part is checked on the way, so its copy needs no second look.
                elif zipcopy.has_formula(self.pkg.chunks(entry.part), MAIN_NS):
                    return True
        return False


def _pivot_location(data: bytes) -> tuple[str, tuple[int, int, int, int]] | None:
    p = main_prefixes(data, b"pivotTableDefinition")
    root = re.search(rb"<" + p + rb"pivotTableDefinition\s[^>]*>", data)
    loc = re.search(rb"<" + p + rb"location\s[^>]*>", data)
    ref = get_attr(loc.group(), b"ref") if loc else None
    if ref is None:
        return None
    name = get_attr(root.group(), b"name") if root else None
    try:
        area = split_range(ref.decode())
    except ValueError:
        return None
    return (name.decode("utf-8", "replace") if name is not None else "?"), area


def _recalculate_on_load(data: bytes) -> bytes | None:
    """workbook.xml asking Excel to recalculate formulas when it opens the file, so that none
    shows a result computed from the old values; None when it already asks."""
    p = prefix_of(data, b"workbook")
    ep = main_prefixes(data, b"workbook")
    calc = re.search(rb"<" + ep + rb"calcPr\b[^>]*?/?>", data)
    if calc:
        if (get_attr(calc.group(), b"fullCalcOnLoad") or b"").strip() in (b"1", b"true"):
            return None
        return data[:calc.start()] + set_attr(calc.group(), b"fullCalcOnLoad", b"1") \
            + data[calc.end():]
    # calcPr comes after these, in this order (ECMA-376 CT_Workbook)
    for before in (b"definedNames", b"externalReferences", b"functionGroups", b"sheets"):
        m = re.search(rb"</" + ep + before + rb">|<" + ep + before + rb"\s*/>", data)
        if m:
            tag = b"<" + p + b'calcPr fullCalcOnLoad="1"/>'
            return data[:m.end()] + tag + data[m.end():]
    return None


def plan_patch(pkg: Package, changes: Iterable[Change]) -> tuple[dict[str, bytes], PatchResult]:
    """The new bytes of every part that changes; raises WriteError, writes nothing."""
    planner = _Planner(pkg)
    for change in changes:
        if isinstance(change, SetCell):
            planner.set_cell(change)
        elif isinstance(change, SetField):
            planner.set_field(change)
        elif isinstance(change, AppendRows):
            planner.append_rows(change)
        else:
            raise TypeError(f"not a change: {change!r}")
    new = planner.parts()
    planner.result.parts = sorted(new)
    return new, planner.result


def _write_package(pkg: Package, new: Mapping[str, bytes], temp: Path, mode: int
                   ) -> Fingerprint:
    """Write the new workbook at `temp` and flush it to disk; its fingerprint. Raises OSError."""
    fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | safety.BINARY, mode)
    with os.fdopen(fd, "w+b") as fh:
        with zipfile.ZipFile(fh, "w", allowZip64=True) as out:
            for info in pkg.infos:
                copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                copy.compress_type = (zipfile.ZIP_STORED if info.compress_type == zipfile.ZIP_STORED
                                      else zipfile.ZIP_DEFLATED)
                copy.external_attr = info.external_attr
                copy.create_system = info.create_system
                copy.comment = info.comment
                if info.filename in new:
                    zipcopy.write_part(out, copy, new[info.filename])
                elif info.compress_type in zipcopy.RAW_METHODS:
                    zipcopy.copy_raw(out, pkg.zip, info, copy,
                                     checked=info.filename in pkg.checked)
                else:
                    big = info.file_size > 2**31
                    with pkg.zip.open(info) as src, out.open(copy, "w", force_zip64=big) as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                safety.checkpoint(f"part:{info.filename}")
            known = {info.filename for info in pkg.infos}
            for name in sorted(set(new) - known):  # parts the workbook did not have
                added = zipfile.ZipInfo(name, date_time=pkg.infos[0].date_time)
                added.compress_type = zipfile.ZIP_DEFLATED
                zipcopy.write_part(out, added, new[name])
                safety.checkpoint(f"part:{name}")
            out.comment = pkg.zip.comment
        fh.flush()
        os.fsync(fh.fileno())
        # Hashed from the page cache just written: zipfile goes back to fill in each copied
        # part's header, so the bytes are final only once the zip is closed.
        fh.seek(0)
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
        st = os.fstat(fh.fileno())
    safety.checkpoint("temp:synced")
    return Fingerprint(st.st_size, st.st_mtime_ns, digest)


def patch_workbook(path: Path | str, changes: Iterable[Change], *,
                   expect: Fingerprint | None = None, backup: bool = True,
                   keep_backups: int = safety.KEEP_BACKUPS,
                   now: dt.datetime | None = None, command: str = "refdesk",
                   wait: float = LOCK_WAIT) -> PatchResult:
    """Apply `changes` to the workbook at `path`, safely; see the module's docstring.

    `command` names the write in its record (`refdesk undo` shows it). The workbook's lock is
    taken for the write unless this process holds it already; another process holding it is
    waited for up to `wait` seconds. Raises WriteError, WorkbookBusyError or SourceError."""
    path = Path(path)
    check_workbook_file(path, writing=True)
    path = path.resolve()
    if path.suffix.lower() not in WRITABLE_SUFFIXES:
        raise WriteError(f"{path.name}: refdesk writes .xlsx and .xlsm workbooks only. Nothing "
                         "was written.")
    changes = list(changes)
    safety.refuse_if_open(path)
    seen = safety.stat_key(path)
    current = safety.refuse_if_changed(path, expect)
    safety.checkpoint("start")

    def package() -> Package:
        try:
            return Package(path)
        except OSError as exc:
            raise safety.read_error(path, exc) from None

    pkg = package()
    try:
        new, result = plan_patch(pkg, changes)
        if not new:
            return result
        safety.checkpoint("planned")
        safety.preflight(path)
        with safety.workbook_lock(path, command, wait):
            safety.checkpoint("lock:held")
            if safety.stat_key(path) != seen:
                # Another process wrote while this one planned (it held the lock): plan again
                # from what is there now, so that its rows are kept and none is added twice.
                current = safety.refuse_if_changed(path, expect)
                pkg.close()
                pkg = package()
                new, result = plan_patch(pkg, changes)
                if not new:
                    return result
            try:
                mode = stat.S_IMODE(path.stat().st_mode)
            except OSError as exc:
                raise safety.read_error(path, exc) from None
            entry = journal.Entry(command, "", path.name, "", {}, {}, list(result.changes),
                                  {sheet: list(span) for sheet, span in result.appended.items()})
            written = safety.write_safely(
                path, lambda temp: _write_package(pkg, new, temp, mode), current,
                backup=backup, keep=keep_backups, now=now, entry=entry)
        result.backup, result.record = written.backup, written.record
        result.fingerprint = written.fingerprint
    except RuntimeError as exc:
        if "encrypted" not in str(exc):
            raise
        raise WriteError(f"{path.name}: a part of the workbook is password-protected inside its "
                         "zip; open and re-save it in Excel. Nothing was written.") from None
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
        raise WriteError(f"{path.name}: a part of the workbook is damaged ({exc}). Open and "
                         "re-save it in Excel. Nothing was written.") from None
    except OSError as exc:  # reading the workbook's parts; the write's own are caught inside
        raise safety.read_error(path, exc) from None
    finally:
        pkg.close()
    return result
