"""`refdesk stats`: where referrals come from, who sends them, and how the program is doing."""

from refdesk.stats.compute import BY, compute
from refdesk.stats.model import Column, Stats, StatTable

__all__ = ["BY", "Column", "StatTable", "Stats", "compute"]
