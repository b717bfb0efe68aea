from datetime import UTC, datetime, timedelta

from schemas.case import CaseCommand, CaseEventType
from schemas.intake import HouseholdFlags
from streams.policies import load_policy
from streams.rules.cases import apply_signal
from streams.rules.household import HouseholdState
from streams.rules.visits import tick_household
from streams.rules.watch import after_watch_visit, apply_watch_command, categories_of, with_watch
from tests.factories import department_signal, signal

DEFAULT = load_policy("default")
FAST = load_policy("fast")
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def after(state: HouseholdState, incoming, at=START, policy=DEFAULT):
    return with_watch(apply_signal(state, incoming, at, policy), at, policy, "system:triage", incoming.event_id)


def registered_elder(at=START) -> HouseholdState:
    return after(HouseholdState(household_id="H1"), department_signal(at, "household.member_added", "reg-1", age=78))


def officer(kind: str, categories: list[str], command_id: str = "cmd-1") -> CaseCommand:
    return CaseCommand(
        type=kind, household_id="H1", issued_at=START, actor="officer:village:370784101201", actor_name="王芳",
        command_id=command_id, categories=categories,
    )  # fmt: skip


def test_an_elder_registered_alone_is_watched_with_a_weekly_visit_due():
    outcome = registered_elder()
    types = [e.type for e in outcome.events]
    assert CaseEventType.WATCH_STARTED in types and CaseEventType.VISITS_SCHEDULED in types
    (visit,) = outcome.state.visits
    assert (visit.kind, visit.deadline.due_at) == ("watch", START + timedelta(days=7))
    assert outcome.state.watch.categories == ["elderly_alone"]


def test_a_caller_saying_an_old_person_lives_alone_puts_the_household_on_the_list():
    call = signal(START, age=81, kind="elderly_or_disabled_unattended").model_copy(update={"flags": HouseholdFlags(elderly_alone=True)})
    assert categories_of(after(HouseholdState(household_id="H1"), call).state) == ["elderly_alone"]


def test_a_death_takes_the_household_off_the_list_and_drops_the_visit_due():
    state = registered_elder().state
    outcome = after(state, department_signal(START + timedelta(days=1), "household.member_died", "died-1", age=78))
    assert CaseEventType.WATCH_ENDED in [e.type for e in outcome.events]
    assert outcome.state.watch is None and outcome.state.visits == []


def test_a_department_record_of_extreme_poverty_watches_monthly_and_its_exit_ends_it():
    enrolled = after(HouseholdState(household_id="H1"), department_signal(START, "lowincome.enrolled", "en-1", programme="extreme_poverty"))
    assert enrolled.state.watch.categories == ["extreme_poverty"]
    assert enrolled.state.visits[0].deadline.due_at == START + timedelta(days=30)
    exited = after(enrolled.state, department_signal(START, "lowincome.exited", "ex-1", programme="extreme_poverty"))
    assert exited.state.watch is None


def test_an_officer_watches_a_child_without_carer_and_ends_it_but_cannot_end_what_is_on_record():
    state = registered_elder().state
    added = apply_watch_command(state, officer("watch", ["child_without_carer"]), START, DEFAULT)
    assert added.state.watch.categories == ["child_without_carer", "elderly_alone"]
    assert [e.actor_name for e in added.events] == ["王芳"]
    refused = apply_watch_command(added.state, officer("unwatch", ["elderly_alone"], "cmd-2"), START, DEFAULT)
    assert refused.events[0].type is CaseEventType.COMMAND_REJECTED and "档案" in refused.events[0].data["reason"]
    ended = apply_watch_command(added.state, officer("unwatch", ["child_without_carer"], "cmd-3"), START, DEFAULT)
    assert ended.state.watch.categories == ["elderly_alone"]


def test_an_officer_can_start_a_watch_on_a_household_with_no_record():
    outcome = apply_watch_command(HouseholdState(household_id="H1"), officer("watch", ["child_without_carer"]), START, DEFAULT)
    assert [e.type for e in outcome.events] == [CaseEventType.WATCH_STARTED, CaseEventType.VISITS_SCHEDULED]
    again = apply_watch_command(outcome.state, officer("watch", ["child_without_carer"], "cmd-2"), START, DEFAULT)
    assert again.events[0].type is CaseEventType.COMMAND_REJECTED


def test_a_missed_weekly_visit_turns_red_and_a_visit_made_schedules_the_next_from_it():
    state = registered_elder(START).state
    state = tick_household(state, START + timedelta(days=7, seconds=1), DEFAULT).state
    assert state.visits[0].status == "red"
    done_at = START + timedelta(days=8)
    visit = state.visits[0].model_copy(update={"status": "done", "done_at": done_at, "done_by": "王芳"})
    state = state.model_copy(update={"visits": [visit]})
    state, events = after_watch_visit(state, visit, done_at, DEFAULT)
    assert [e.type for e in events] == [CaseEventType.VISITS_SCHEDULED]
    assert state.visits[0].visit_id == "W2-H1" and state.visits[0].deadline.due_at == done_at + timedelta(days=7)


def test_a_watched_household_handed_over_takes_its_watch_and_visit_to_the_target_and_leaves_the_lists():
    from streams.rules.merge import hand_over, take_over

    state = registered_elder().state
    command = CaseCommand(
        type="hand_over", household_id="H1", issued_at=START, actor="system:intake", command_id="ho-1", target_household_id="H2"
    )
    given = hand_over(state, command, START)
    assert given.events[-1].type is CaseEventType.VISITS_HANDED_OVER and given.state.version == state.version + 1
    assert given.state.visits == [] and given.state.watch is None
    taken = with_watch(take_over(HouseholdState(household_id="H2"), given.commands[0], START), START, DEFAULT, "system:triage", "to-1")
    assert taken.state.watch.categories == ["elderly_alone"]
    assert [v.visit_id for v in taken.state.visits] == ["W1-H1"]  # one cadence: no second visit scheduled
