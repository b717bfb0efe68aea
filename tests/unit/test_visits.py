from datetime import UTC, datetime, timedelta

from schemas.aftercare import Visit
from schemas.case import CaseEventType
from schemas.timing import Deadline, Tier
from streams.policies import load_policy
from streams.rules.household import HouseholdState
from streams.rules.visits import tick_household, wake_at, with_visits

FAST = load_policy("fast")
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def watched(due_in_s: float = 6) -> HouseholdState:
    visit = Visit(visit_id="W1", kind="watch", deadline=Deadline(started_at=START, due_at=START + timedelta(seconds=due_in_s)))
    return with_visits(HouseholdState(household_id="H1"), [visit])


def test_a_visit_not_made_turns_yellow_then_red_and_climbs_one_rung_at_a_time():
    state, seen = watched(), []
    for tenth in range(0, 120):
        outcome = tick_household(state, START + timedelta(seconds=tenth / 10), FAST)
        state = outcome.state
        seen += [(e.type, e.data["to"]) for e in outcome.events]
    assert seen == [
        (CaseEventType.VISIT_STATUS_CHANGED, "yellow"),
        (CaseEventType.VISIT_ESCALATED, Tier.TOWN),
        (CaseEventType.VISIT_STATUS_CHANGED, "red"),
        (CaseEventType.VISIT_ESCALATED, Tier.CITY),
        (CaseEventType.VISIT_ESCALATED, Tier.LEADERSHIP),
    ]
    assert state.visits[0].status == "red" and state.visits[0].tier is Tier.LEADERSHIP


def test_every_visit_event_is_the_households_and_names_the_visit():
    outcome = tick_household(watched(), START + timedelta(seconds=7), FAST)
    assert {(e.case_id, e.version, e.data["visit_id"], e.data["kind"]) for e in outcome.events} == {(None, 0, "W1", "watch")}
    assert outcome.state.version == watched().version + 1


def test_the_household_wakes_when_a_visit_can_next_change():
    state = watched(due_in_s=6)
    assert wake_at(state, FAST) == START + timedelta(seconds=3)  # yellow at half the window
    later = tick_household(state, START + timedelta(seconds=3), FAST).state
    assert wake_at(later, FAST) == START + timedelta(seconds=6)


def test_a_visit_done_wakes_nothing_and_time_leaves_it_alone():
    visit = watched().visits[0].model_copy(update={"status": "done", "done_at": START})
    state = with_visits(HouseholdState(household_id="H1"), [visit])
    assert wake_at(state, FAST) is None
    assert tick_household(state, START + timedelta(days=1), FAST).events == []
