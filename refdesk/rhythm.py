"""Dormancy by a provider's own rhythm: no referral for several times their usual gap.

Shared by `refdesk stats` (the scorecard and the activity table) and `refdesk todo` (a referrer
going quiet), so both judge a provider the same way.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable

#: The fewest referrals that give a usual gap (two gaps between them).
RHYTHM_MIN_REFERRALS = 3


def usual_gap(days: Iterable[dt.date]) -> float | None:
    """The median of the days between consecutive referrals; None under 3 referrals."""
    ordered = sorted(days)
    if len(ordered) < RHYTHM_MIN_REFERRALS:
        return None
    return float(statistics.median((b - a).days for a, b in zip(ordered, ordered[1:],
                                                                 strict=False)))


def allowed_days(gap: float | None, dormant_by: str, rhythm_times: int,
                 dormant_after_days: int) -> int:
    """How many days without a referral a provider stays active: `rhythm_times` x their usual
    gap (taken as at least one day) under the rhythm rule when they have one,
    `dormant_after_days` otherwise. They are dormant once the days since their latest referral
    exceed it."""
    if dormant_by == "rhythm" and gap is not None:
        return math.floor(rhythm_times * max(gap, 1.0))
    return dormant_after_days
