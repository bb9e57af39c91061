"""Calendar dates of a multicentre trial: the server's clock is UTC, the sites' dates are not.

A clinical date sent by a site is "in the future" only if it is later than the date anywhere on
Earth right now (UTC+14): comparing with the server's UTC date would refuse a sample drawn this
morning in Seoul. Dates the platform itself assigns (the randomization date, today's visit status)
are taken in the trial's time zone (setting TRIAL_TIMEZONE).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_EARLIEST_OFFSET = timedelta(hours=14)  # UTC+14 (Line Islands): the first place a day begins


def latest_calendar_date(now: datetime | None = None) -> date:
    """The latest date it is anywhere right now; later clinical dates are in the future."""
    return ((now or datetime.now(UTC)).astimezone(UTC) + _EARLIEST_OFFSET).date()


def date_in(moment: datetime, timezone: str) -> date:
    """The calendar date of an aware instant in `timezone` (an IANA name, e.g. Asia/Seoul)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no calendar date in a time zone")
    return moment.astimezone(ZoneInfo(timezone)).date()


def today_in(timezone: str) -> date:
    return date_in(datetime.now(UTC), timezone)
