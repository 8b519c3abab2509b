"""A Google Sheet as a source of records (the layer is drawn in refdesk.sources).

    source.py    GoogleSource: the Source protocol, handing each job to a module below
    client.py    the requests: retries, timeouts, Google's refusals as messages
    auth.py      signing in: the credentials file, the OAuth token
    read.py      the tabs and their cells as text Grids
    write.py     a command's changes, planned from the sheet as it is right before
    plan.py      the pieces of a write's plan: what was seen, sent and kept
    lease.py     the writing lease, in a hidden tab of the spreadsheet
    setup.py     `init --sheet` and `export`
    importer.py  `import` (and `import --resume`)
"""

from refdesk.sources.google.client import GoogleUnavailable, Retry, spreadsheet_key
from refdesk.sources.google.plan import Kept, WriteInDoubt
from refdesk.sources.google.source import GoogleSource
from refdesk.sources.google.write import SheetWrite

__all__ = ["GoogleSource", "GoogleUnavailable", "Kept", "Retry", "SheetWrite", "WriteInDoubt",
           "spreadsheet_key"]
