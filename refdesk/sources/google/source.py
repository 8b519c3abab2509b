"""The Google Sheets source: a practice's records in a Google Sheet, read and written through
gspread with a fixed, small number of API requests.

`GoogleSource` is what commands see (the Source protocol of refdesk.sources). It holds the
sheet's state between a command's read and its write (the tabs, what each cell held, the
writing lease) and hands each job to a module of this package (the map is in its
__init__): requests to `SheetsClient`, reading to `read`, writing to `write.Writer`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from refdesk.book import Book, Grid, build_book
from refdesk.sources.google.client import Retry, SheetsClient, spreadsheet_key
from refdesk.sources.google.plan import Seen
from refdesk.sources.google.read import Tab, metadata, read_tabs
from refdesk.sources.google.write import SheetWrite, Writer
from refdesk.xlsxpatch import Change


class GoogleSource:
    """A Google Sheet, by its URL or key. `client` is a gspread client to use (tests give one
    talking to their loopback server); otherwise one is made from the credentials."""

    path: Path | None = None

    def __init__(self, ref: str, *, credentials: Path | None = None,
                 auth: str = "service_account", client: Any = None,
                 retry: Retry | None = None, country: str = "US") -> None:
        self.ref = ref
        #: [practice] country: the order of day and month in dates typed as numbers.
        self.country = country
        #: Every request goes through it.
        self.api = SheetsClient(spreadsheet_key(ref), credentials=credentials, auth=auth,
                                connection=client, retry=retry,
                                before_request=self._renew_lease)
        #: The refdesk tabs by schema name, as the last read found them.
        self.tabs: dict[str, Tab] = {}
        #: Every tab by its title, as the last metadata request found them.
        self.all_tabs: dict[str, Tab] = {}
        #: What refdesk last knew each cell held, for the write to compare with.
        self.seen = Seen()

    def __str__(self) -> str:
        return str(self.api)

    def metadata(self) -> dict[str, Tab]:
        self.all_tabs = metadata(self.api)
        return self.all_tabs

    # -- reading -----------------------------------------------------------------------------
    def read(self) -> Book:
        grids = self.read_grids()  # first: it learns the sheet's title
        return build_book(str(self), grids, self.country)

    def read_grids(self) -> dict[str, Grid]:
        """Every refdesk tab the sheet has, as text cells: two requests in all."""
        self.tabs, grids = read_tabs(self.api, self.metadata())
        self.seen = Seen(grids)
        return grids

    def check_writable(self) -> None:
        """Nothing to check ahead: the write itself finds every row again by its id."""

    # -- the writing lease -------------------------------------------------------------------
    #: The writing lease this command holds now (refdesk.sources.google.lease), and how
    #: leases are held (None: the defaults; tests give a clock and a sleep of their own).
    lease: Any = None
    lease_settings: Any = None

    def locked(self, command: str = "refdesk", wait: float = 10.0
               ) -> contextlib.AbstractContextManager[None]:
        """Hold the sheet's writing lease (refdesk.sources.google.lease) for the whole
        command: another refdesk writing the sheet, on any machine, is waited for up to `wait`
        seconds."""
        from refdesk.sources.google.lease import hold

        return hold(self, command, wait)

    def keep_alive(self) -> None:
        """Renew the writing lease while a command sends email (no Sheets request renews it
        then). A lease found lost is not raised here, in the middle of a batch of messages:
        the next request of the command raises it, before anything is written."""
        from refdesk.sources.google.lease import LeaseLost

        if self.lease is not None:
            with contextlib.suppress(LeaseLost):
                self.lease.tick()

    def _renew_lease(self) -> None:
        if self.lease is not None:
            self.lease.tick()  # a long command renews its writing lease between requests

    # -- writing -----------------------------------------------------------------------------
    def write(self, changes: Iterable[Change], *, backup: bool = True,
              command: str = "refdesk") -> SheetWrite:
        """Apply the changes in three requests at most, planned from the sheet as it is right
        before: see refdesk.sources.google.write. A Google Sheet keeps its own history, so
        `backup` and `command` have nothing to do here."""
        return Writer(self.api, self.tabs, self.seen, self.metadata).write(changes)
