"""Triage writes a change's case events even when the household view cannot be built for them, and writes nothing of a
message it fails on but its dead letter."""

from datetime import UTC, datetime

from faust.types.tuples import Message

from schemas import topics
from streams.agents import triage
from streams.plumbing.app import households, new_effects
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


def test_a_message_that_fails_after_its_rules_leaves_nothing_of_it_but_its_dead_letter(monkeypatch):
    def broken(*_):
        raise KeyError("a bug in counting what happened")

    monkeypatch.setattr(triage, "observe", broken)
    raw = signal(START, household_id="H-dead").model_dump_json().encode()
    effects = new_effects()
    assert triage.triage_one(Message(topics.SIGNALS, 0, 7, START.timestamp(), 0, [], b"H-dead", raw, None), effects) is None
    [letter] = effects.outputs
    assert letter.topic == topics.DEADLETTER and b"a bug in counting what happened" in letter.value
    assert households.data.get_in(0, b"H-dead") is None and not effects.changed  # no state whose case events never went out
