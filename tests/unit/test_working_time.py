from datetime import UTC, date, datetime, timedelta

import pytest

from streams.policies import load_policy
from streams.rules.deadlines import add_working_days, add_working_hours, span_end
from streams.rules.policy import Span

DEFAULT = load_policy("default")
WORKING = DEFAULT.working_time
FRIDAY_10 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in China


def test_working_days_skip_the_weekend():
    assert add_working_days(FRIDAY_10, 1, WORKING) == FRIDAY_10 + timedelta(days=3)  # Friday → Monday
    assert add_working_days(FRIDAY_10, 5, WORKING) == FRIDAY_10 + timedelta(days=7)


def test_working_days_skip_holidays_and_count_make_up_days():
    working = WORKING.model_copy(update={"holidays": [date(2026, 11, 23)], "workdays": [date(2026, 11, 21)]})
    assert add_working_days(FRIDAY_10, 1, working) == FRIDAY_10 + timedelta(days=1)  # Saturday worked
    assert add_working_days(FRIDAY_10, 2, working) == FRIDAY_10 + timedelta(days=4)  # Monday off → Tuesday


def test_working_hours_run_to_the_evening_and_resume_on_the_next_working_morning():
    assert add_working_hours(FRIDAY_10, 4, WORKING) == FRIDAY_10 + timedelta(hours=4)  # 14:00 the same day
    # 10:00 + 7.5 h of Friday's office hours is 17:30; the last half hour is Monday 08:30–09:00.
    assert add_working_hours(FRIDAY_10, 8, WORKING) == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("china_time", ["06:00", "20:00"])
def test_working_hours_asked_outside_office_hours_start_at_the_next_opening(china_time):
    hour, minute = map(int, china_time.split(":"))
    start = datetime(2026, 11, 18, hour, minute, tzinfo=UTC) - timedelta(hours=8)  # Wednesday in China
    opening = datetime(2026, 11, 18 if hour < 8 else 19, 0, 30, tzinfo=UTC)
    assert add_working_hours(start, 1, WORKING) == opening + timedelta(hours=1)


def test_elapsed_spans_ignore_working_time():
    assert span_end(FRIDAY_10, Span.model_validate("3 days"), DEFAULT) == FRIDAY_10 + timedelta(days=3)
    assert span_end(FRIDAY_10, Span.model_validate("30 minutes"), DEFAULT) == FRIDAY_10 + timedelta(minutes=30)


def test_a_span_in_unknown_words_is_refused():
    with pytest.raises(ValueError, match="a span is a number and a unit"):
        Span.model_validate("soon")
    with pytest.raises(ValueError):
        Span.model_validate("3 fortnights")
