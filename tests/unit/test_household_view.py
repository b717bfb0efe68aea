from datetime import UTC, datetime, timedelta

from schemas.case import CaseCommand, CaseEventType, SubjectView
from schemas.intake import Area
from streams.policies import load_policy
from streams.rules.cases import apply_signal
from streams.rules.household import AREAS_KEPT, HouseholdState
from streams.rules.household_view import Change, aid_history, household_view, viewed_changes, with_household
from streams.rules.workflow import apply_command
from tests.factories import department_signal, signal

POLICY = load_policy("default")
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def feed(*signals, state=None):
    state = state or HouseholdState(household_id="H1")
    events = []
    for s in signals:
        outcome = apply_signal(state, s, s.received_at, POLICY)
        state = outcome.state
        events += with_household(outcome.events, state, s.received_at, POLICY)
    return state, events


def test_every_signal_makes_a_new_household_version_and_a_repeat_does_not():
    call = signal(START, kind="other", event_id="e1")
    state, _ = feed(call, department_signal(START + timedelta(minutes=1), "employment.lost", "e2", person_key="person-2", age=45))
    assert state.version == 2
    again, events = feed(call, state=state)
    assert again.version == 2 and events == []


def test_the_view_names_members_masked_and_counts_sources():
    child = signal(START, kind="other", event_id="e1", person_key="child", age=7).model_copy(
        update={"subject": SubjectView(id_masked="3707**********0021", name="王小明")}
    )
    lost = department_signal(START + timedelta(hours=1), "employment.lost", "e2", person_key="father", age=40, breadwinner=True)
    state, _ = feed(child, lost)
    view = household_view(state, START, POLICY)
    members = {m.person_key: m for m in view.members}
    assert members["child"].name == "王小明" and members["child"].id_masked == "3707**********0021"
    assert members["child"].sex == "female"  # the 17th digit, 2, is even
    assert members["father"].employed is False and members["father"].breadwinner
    assert (view.dependants, view.working, view.dependency_ratio) == (1, 1, 1.0)
    assert view.signals_by_source == {"hotline": 1, "department": 1} and view.signals_total == 2
    assert view.last_signal_at == START + timedelta(hours=1)
    assert view.caller_keys == ["caller-1"]
    assert view.area == Area(town="370784101", village="370784101201")


def test_a_household_of_dependants_only_has_no_ratio_but_says_who_depends():
    state, _ = feed(signal(START, kind="other", event_id="e1", age=80))
    view = household_view(state, START, POLICY)
    assert (view.dependants, view.working, view.dependency_ratio) == (1, 0, None)


def test_the_view_rides_on_the_signals_own_event_only():
    later = signal(START + timedelta(minutes=5), event_id="e2", kind="child_unattended", caller_key="caller-2")
    state, events = feed(signal(START, event_id="e1", children=2), later)
    by_type = {e.type: e for e in events}
    assert by_type[CaseEventType.OPENED].household.version == 1
    assert by_type[CaseEventType.SIGNAL_ATTACHED].household.version == 2
    assert by_type[CaseEventType.RESCORED].household is None
    ack = apply_command(state, _ack(state), START + timedelta(minutes=6), POLICY)
    assert with_household(ack.events, ack.state, START, POLICY) == ack.events


def test_a_batch_views_each_household_once_on_its_last_change_of_the_household():
    state, changes = HouseholdState(household_id="H1"), []
    for n, s in enumerate([signal(START, event_id="e1", children=2), department_signal(START, "employment.lost", "e2", age=40)]):
        outcome = apply_signal(state, s, START + timedelta(minutes=n), POLICY)
        state = outcome.state
        changes.append(Change(outcome.events, state, START + timedelta(minutes=n)))
    other = apply_signal(HouseholdState(household_id="H2"), signal(START, event_id="e3", household_id="H2"), START, POLICY)
    changes.append(Change(other.events, other.state, START))
    ack = apply_command(state, _ack(state), START + timedelta(minutes=6), POLICY)
    changes.append(Change(ack.events, ack.state, START + timedelta(minutes=6)))  # an acknowledgement leaves the household as it was
    assert viewed_changes(changes) == {1, 2}
    assert viewed_changes(changes[:1]) == {0}


def test_an_event_of_no_case_names_the_place_of_the_households_latest_signal():
    there = Area(town="370784102", village="370784102201")
    _, events = feed(department_signal(START, "lowincome.enrolled", "e1", programme="lowincome").model_copy(update={"area": there}))
    (recorded,) = events
    assert recorded.type == CaseEventType.SIGNAL_RECORDED and recorded.case_id is None and recorded.area == there


def test_places_are_kept_latest_last_and_capped():
    signals = [
        signal(START + timedelta(minutes=n), kind="other", event_id=f"e{n}").model_copy(
            update={"area": Area(town="370784101", village=f"370784101{n:03d}")}
        )
        for n in range(AREAS_KEPT + 2)
    ]
    state, _ = feed(*signals, signals[0].model_copy(update={"event_id": "again", "received_at": START + timedelta(hours=1)}))
    villages = [a.village for a in state.areas]
    assert len(villages) == AREAS_KEPT and villages[-1] == "370784101000" and villages.count("370784101000") == 1


def test_aid_history_counts_delivered_aid_by_type_and_sums_cash():
    cases = [
        {"outcome": {"aid_type": "cash", "amount_yuan": 2000}},
        {"outcome": {"aid_type": "cash", "amount_yuan": 500.5}},
        {"outcome": {"aid_type": "in_kind", "amount_yuan": None}},
        {"outcome": None},
    ]
    assert aid_history(cases) == {"times": 3, "by_type": {"cash": 2, "in_kind": 1}, "cash_yuan": 2500.5}


def _ack(state):
    return CaseCommand(
        type="acknowledge", household_id="H1", case_id=state.open_case.case_id, issued_at=START, actor="officer:city:*", command_id="c1"
    )
