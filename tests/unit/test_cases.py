from datetime import UTC, datetime, timedelta

from schemas.case import CaseEventType, Priority, Tier
from streams.cases import apply_signal, apply_tick, case_id_for
from streams.clock import FakeClock
from streams.household import HouseholdState
from streams.policy import load_policy
from tests.factories import signal

DEFAULT = load_policy("default")
FAST = load_policy("fast")
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def types(outcome) -> list[str]:
    return [e.type.value for e in outcome.events]


def test_critical_call_opens_an_emergency_case_at_town_tier():
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START, children=3), START, DEFAULT)
    assert types(outcome) == ["opened"]
    case = outcome.state.open_case
    assert case.priority is Priority.P1 and case.track == "emergency" and case.tier is Tier.TOWN
    assert case.status == "green" and case.version == 1
    assert case.urgency == 80 and [f.code for f in case.factors] == ["hotline:medical_emergency", "household:children"]
    assert case.policy_version == DEFAULT.version
    assert case.case_id == case_id_for("H1", "e1")
    assert case.due_at == START + timedelta(minutes=15)
    assert outcome.events[0].case == case


def test_low_urgency_goes_to_household_timeline_only():
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START, kind="other"), START, DEFAULT)
    assert types(outcome) == ["signal_recorded"]
    assert outcome.state.open_case is None
    assert outcome.events[0].data["score"] == 25
    assert outcome.events[0].data["factors"][0]["code"] == "hotline:other"


def test_p3_opens_a_standard_track_case():
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START, kind="loss_of_income"), START, DEFAULT)
    case = outcome.state.open_case
    assert case.priority is Priority.P3 and case.track == "standard"
    assert set(case.deadlines) == {"acknowledge", "complete"}


def test_same_event_twice_changes_nothing():
    first = apply_signal(HouseholdState(household_id="H1"), signal(START), START, DEFAULT)
    again = apply_signal(first.state, signal(START), START + timedelta(seconds=1), DEFAULT)
    assert again.events == [] and again.state is first.state


def test_second_signal_attaches_to_the_open_case_and_rescoring_only_raises():
    first = apply_signal(HouseholdState(household_id="H1"), signal(START, kind="loss_of_income"), START, DEFAULT)
    later = START + timedelta(minutes=10)
    second = apply_signal(first.state, signal(later, event_id="e2", kind="medical_emergency", caller_key="other"), later, DEFAULT)
    assert types(second)[:2] == ["signal_attached", "rescored"]
    case = second.state.open_case
    assert case.case_id == first.state.open_case.case_id
    assert case.priority is Priority.P2 and case.track == "emergency"
    assert case.urgency == 77 and "compounding:recent_signals" in {f.code for f in case.factors}
    assert case.signal_ids == ["e1", "e2"]
    assert case.deadlines["acknowledge"].due_at == later + timedelta(minutes=30)
    third = apply_signal(second.state, signal(later, event_id="e3", kind="other", caller_key="x"), later, DEFAULT)
    assert types(third) == ["signal_attached"]
    assert third.state.open_case.priority is Priority.P2


def test_versions_increase_by_one_per_event():
    first = apply_signal(HouseholdState(household_id="H1"), signal(START, kind="loss_of_income"), START, DEFAULT)
    second = apply_signal(first.state, signal(START, event_id="e2", caller_key="x"), START, DEFAULT)
    versions = [e.version for e in first.events + second.events]
    assert versions == list(range(1, len(versions) + 1))


def test_a_two_hour_case_runs_its_course_on_the_fast_policy():
    clock = FakeClock(START)
    state = apply_signal(HouseholdState(household_id="H1"), signal(START, children=3), clock.now(), FAST).state
    seen = []
    for _ in range(100):  # 10 s in 0.1 s steps
        outcome = apply_tick(state, clock.advance(0.1), FAST)
        state = outcome.state
        seen += [(e.type.value, e.data.get("to")) for e in outcome.events]
    assert seen == [
        ("status_changed", "yellow"),  # 1 s: half of the 2 s acknowledgement window
        ("status_changed", "red"),  # 2 s
        ("escalated", "city"),
        ("escalated", "leadership"),  # 3 s after red
    ]
    assert state.open_case.red_since == START + timedelta(seconds=2)
    assert state.open_case.tier is Tier.LEADERSHIP


def test_p2_yellow_escalates_from_village_to_town():
    state = apply_signal(HouseholdState(household_id="H1"), signal(START), START, FAST).state
    outcome = apply_tick(state, START + timedelta(seconds=1.6), FAST)
    assert [(e.type, e.data["to"]) for e in outcome.events] == [(CaseEventType.STATUS_CHANGED, "yellow"), (CaseEventType.ESCALATED, "town")]


def test_tick_without_change_emits_nothing():
    state = apply_signal(HouseholdState(household_id="H1"), signal(START), START, DEFAULT).state
    outcome = apply_tick(state, START + timedelta(minutes=1), DEFAULT)
    assert outcome.events == [] and outcome.state is state


def test_tick_without_a_case_does_nothing():
    state = HouseholdState(household_id="H1")
    assert apply_tick(state, START, DEFAULT).state is state
