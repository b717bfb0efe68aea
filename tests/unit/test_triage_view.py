"""Triage writes a change's case events even when the household view cannot be built for them."""

from datetime import UTC, datetime

from streams.agents import triage
from streams.plumbing.metrics import view_failures
from streams.policies import load_policy
from streams.rules.cases import apply_signal
from streams.rules.household import HouseholdState
from streams.rules.household_view import Change
from tests.factories import signal

START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_a_view_that_fails_to_build_leaves_the_events_without_one_and_is_counted(monkeypatch):
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START), START, load_policy("default"))
    change = Change(outcome.events, outcome.state, START)
    assert triage.with_view(change)[0].household is not None

    def broken(*_):
        raise ValueError("a bug in the view rules")

    monkeypatch.setattr(triage, "with_household", broken)
    failures = view_failures._value.get()
    assert triage.with_view(change) == outcome.events
    assert view_failures._value.get() == failures + 1
