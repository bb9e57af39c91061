"""Calendar dates across time zones: what a site may call today; the trial's date of an instant."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from rescue_shared.clock import date_in, latest_calendar_date
from rescue_shared.settings import ServiceSettings


def test_a_sample_drawn_this_morning_in_seoul_is_not_in_the_future() -> None:
    # 08:30 in Seoul on 3 March is 23:30 UTC on 2 March: the server's date is still the 2nd.
    server_now = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert latest_calendar_date(server_now) == date(2026, 3, 3)
    assert latest_calendar_date(datetime(2026, 3, 2, 9, 59, tzinfo=UTC)) == date(2026, 3, 2)
    assert latest_calendar_date(datetime(2026, 3, 2, 10, 0, tzinfo=UTC)) == date(2026, 3, 3)


def test_the_trial_date_of_an_instant_is_taken_in_the_trial_time_zone() -> None:
    allocated = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert date_in(allocated, "Asia/Seoul") == date(2026, 3, 3)
    assert date_in(allocated, "UTC") == date(2026, 3, 2)
    assert date_in(allocated, "America/New_York") == date(2026, 3, 2)
    with pytest.raises(ValueError, match="naive"):
        date_in(datetime(2026, 3, 2, 23, 30), "Asia/Seoul")


def test_an_unknown_trial_time_zone_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        ServiceSettings(service_name="x", trial_timezone="Asia/Atlantis")
    assert ServiceSettings(service_name="x").trial_timezone == "Asia/Seoul"
