"""refdesk: run a health practice's referral program from a spreadsheet."""

from refdesk.errors import RefdeskError

__version__ = "0.1.0"
__all__ = ["RefdeskError", "__version__"]
