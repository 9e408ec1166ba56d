"""The business calendar every service shares: KPI years and "today" follow Europe/Brussels, not UTC.

A date a person means ("joined on", "held on") is a Brussels date; a moment is stored in UTC and turned
into a Brussels date only where a date is asked for.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")


def business_today() -> date:
    """Today's business date (Europe/Brussels): just after midnight in Brussels it is already
    tomorrow, while UTC still says today."""
    return datetime.now(BRUSSELS).date()


def business_date_of(moment: datetime) -> date:
    """The Brussels date of a moment; a naive moment is taken to be UTC (as the databases store it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BRUSSELS).date()
