"""A Google Sheet as a source of records (see refdesk.sources for the layer)."""

from refdesk.sources.google.source import GoogleSource, GoogleUnavailable, Retry, SheetWrite

__all__ = ["GoogleSource", "GoogleUnavailable", "Retry", "SheetWrite"]
