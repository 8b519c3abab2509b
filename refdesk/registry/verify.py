"""`check --registry`: each Providers row with an NPI, held against the national registry.

Warnings, at the cells: an NPI the registry does not list (F), one it lists as deactivated
(F), a name that does not agree with the registry's (B), a specialty that does not fit the
registry's primary taxonomy (D). One call per distinct NPI, answered from the cache when
asked within the month; without a network, one warning says so and the rest of `check`
goes on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator

import pandas as pd
from rapidfuzz import fuzz

from refdesk.book import Book, Table
from refdesk.check.problem import Problem, Severity, problem
from refdesk.npi import is_valid_npi
from refdesk.registry.client import RegistryClient, RegistryError, RegistryUnreachable
from refdesk.registry.record import Match
from refdesk.registry.taxonomy import agrees
from refdesk.schema import CREDENTIALS

RULE = "registry"
#: Words of a name cell that are no part of the name: titles and credentials.
_NOT_NAME = frozenset({"dr", "mr", "mrs", "ms", "mx", "prof", "jr", "sr", "ii", "iii", "iv",
                       *(c.lower() for c in CREDENTIALS), "msw", "lac", "dacm",
                       "facp", "faafp", "cnm", "crna", "lmt", "atc", "cscs", "ocs", "mba",
                       "mph", "facog", "dnp", "fnp", "aprn", "pac", "lpcc", "lmhc"})
#: An organization's name that differs by a typo or a word (LLC, PC) still agrees (rapidfuzz's
#: 0-100 token-set ratio).
FUZZY_AGREES = 88


def _words(text: str) -> list[str]:
    """Lower-case words without accents or punctuation; titles and credentials left out."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).lower()
    words = re.findall(r"[a-z0-9]+", plain.replace("'", ""))
    return [w for w in words if w not in _NOT_NAME]


def _first_agrees(row_first: str, registry_first: str) -> bool:
    """Dan for Daniel, or an initial: a shortened first name still agrees."""
    if not row_first or not registry_first or row_first == registry_first:
        return True
    shorter, longer = sorted((row_first, registry_first), key=len)
    return longer.startswith(shorter) and (len(shorter) >= 3 or len(shorter) == 1)


def names_agree(cell: str, match: Match) -> bool:
    """Whether a Providers name cell names the registry's provider: case, accents, middle
    names, titles and credentials aside. An organization's name may differ a little
    (rapidfuzz); a person's last name must be there (one part of a double name is enough),
    and the first name or its short form."""
    words = _words(cell)
    if not words:
        return True  # an empty name is the required-cell rule's business
    if not match.individual:
        wanted = " ".join(_words(match.organization))
        return fuzz.token_set_ratio(" ".join(words), wanted) >= FUZZY_AGREES
    last = _words(match.last_name)
    first = _words(match.first_name)
    if last and not any(w in words for w in last):
        return False
    rest = [w for w in words if w not in last]  # "Marquez, Elena" reads as well
    return _first_agrees(rest[0] if rest else "", first[0] if first else "")


def _text(value: object) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)) \
        else str(value).strip()


def unreachable_problem(table: Table, reason: str) -> Problem:
    """The one warning when the registry cannot be reached: at the NPI column's header."""
    return Problem(Severity.WARNING, table.name, 1, table.cell(1, "npi"), "npi", "", RULE,
                   f"The NPI registry was not reached ({reason}); the NPIs were not verified. "
                   "Run `refdesk check --registry` again when online.")


def rules(book: Book, client: RegistryClient,
          progress: Callable[[str], None] = lambda _m: None) -> Iterator[Problem]:
    """Registry warnings for the Providers sheet (see the module's docstring)."""
    table = book.tables.get("Providers")
    if table is None or "npi" not in table.letters:
        return
    rows = [(int(row), _text(record.get("npi")), record)
            for row, record in table.df.iterrows()]
    rows = [(row, npi, record) for row, npi, record in rows if is_valid_npi(npi)]
    if not rows:
        return
    progress(f"Asking the NPI registry about {len({npi for _r, npi, _x in rows})} NPI(s) ...")
    answers: dict[str, Match | None | str] = {}
    for row, npi, record in rows:
        if npi not in answers:
            try:
                answers[npi] = client.by_number(npi)
            except RegistryUnreachable as exc:
                yield unreachable_problem(table, _reason(exc.message))
                return
            except RegistryError as exc:
                answers[npi] = exc.message
        yield from _row_problems(table, row, npi, record, answers[npi])


def _reason(message: str) -> str:
    found = re.search(r"\(([^)]*)\)", message)
    return found.group(1) if found else "no answer"


def _row_problems(table: Table, row: int, npi: str, record: pd.Series,
                  match: Match | None | str) -> Iterator[Problem]:
    warn = Severity.WARNING
    if isinstance(match, str):
        yield problem(table, row, "npi", RULE, f"NPI {npi}: {match}", severity=warn, value=npi)
        return
    if match is None:
        yield problem(table, row, "npi", RULE,
                      f"NPI {npi} is not in the NPI registry: never issued, or deactivated. "
                      "Check the number with the provider's office.", severity=warn, value=npi)
        return
    if not match.active:
        yield problem(table, row, "npi", RULE,
                      f"NPI {npi} ({match.name}) is deactivated in the NPI registry (status "
                      f"{match.status}); ask the provider's office for their current NPI.",
                      severity=warn, value=npi)
    name = _text(record.get("name"))
    # A group's NPI (NPI-2) on a person's row agrees when the row's practice is that group.
    practice = _text(record.get("practice")) if not match.individual else ""
    if name and not names_agree(name, match) and not (practice and
                                                      names_agree(practice, match)):
        what = "" if match.individual else " (an organization)"
        yield problem(table, row, "name", RULE,
                      f"The NPI registry lists NPI {npi} as {match.name}{what}, not {name}: "
                      "correct the name or the NPI.", severity=warn, value=name)
    specialty = _text(record.get("specialty")) if "specialty" in table.letters else ""
    if specialty and match.taxonomy and not agrees(specialty, match.taxonomy):
        yield problem(table, row, "specialty", RULE,
                      f"The NPI registry's primary taxonomy for NPI {npi} is {match.taxonomy} "
                      f"({match.taxonomy_code}), which does not fit {specialty}: correct the "
                      "specialty or the NPI.", severity=warn, value=specialty)


def add_registry_problems(book: Book, found: list[Problem],
                          progress: Callable[[str], None] = lambda _m: None,
                          client: RegistryClient | None = None) -> list[Problem]:
    """`found` with the registry's warnings added, in check's order."""
    from refdesk.check import sort_problems

    extra = list(rules(book, client or RegistryClient(), progress))
    return sort_problems(book, [*found, *extra]) if extra else found
