"""Follow-up visits after aid, the satisfaction call-back after closing, recording visits and ratings, supervision."""

from datetime import UTC, datetime, timedelta

from schemas.case import CaseCommand, CaseEventType, Outcome, Stage
from schemas.timing import Tier
from streams.policies import load_policy
from streams.rules.cases import apply_signal
from streams.rules.followups import apply_visit_command, satisfaction_refusal
from streams.rules.household import HouseholdState
from streams.rules.household_view import with_household
from streams.rules.notifications import notifications_for
from streams.rules.scoring import own_factors
from streams.rules.visits import is_due, tick_household
from streams.rules.watch import with_watch
from streams.rules.workflow import apply_command
from tests.factories import department_signal, signal

DEFAULT = load_policy("default")
FAST = load_policy("fast")
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in China
CASH = Outcome(aid_type="cash", amount_yuan=2000)


def officer(state: HouseholdState, kind: str, case_id: str | None = None, command_id: str | None = None, **fields) -> CaseCommand:
    return CaseCommand(
        type=kind, household_id=state.household_id, issued_at=START, actor="officer:village:370784101201", actor_name="王芳",
        command_id=command_id or f"cmd-{kind}", case_id=case_id, **fields,
    )  # fmt: skip


def delivered(policy=DEFAULT, at=START) -> HouseholdState:
    state = apply_signal(HouseholdState(household_id="H1"), signal(at, children=3), at, policy).state
    return apply_command(state, officer(state, "deliver", state.open_case.case_id, outcome=CASH), at, policy).state


def closed(policy=DEFAULT, at=START) -> HouseholdState:
    state = delivered(policy, at)
    return apply_command(state, officer(state, "close", state.open_case.case_id, outcome=CASH), at, policy).state


def test_delivering_aid_schedules_the_tracks_follow_ups_counted_from_the_delivery():
    state = apply_signal(HouseholdState(household_id="H1"), signal(START, children=3), START, DEFAULT).state
    case_id = state.open_case.case_id
    outcome = apply_command(state, officer(state, "deliver", case_id, outcome=CASH), START, DEFAULT)
    scheduled = [e for e in outcome.events if e.type is CaseEventType.VISITS_SCHEDULED]
    assert [e.data["visit_id"] for e in scheduled] == [f"F1-{case_id}", f"F2-{case_id}"]  # emergency: 3 and 30 days
    assert [v.deadline.due_at for v in outcome.state.visits] == [START + timedelta(days=3), START + timedelta(days=30)]
    assert all(e.actor_name == "王芳" and e.data["case_id"] == case_id for e in scheduled)


def test_closing_schedules_one_call_back_in_working_days():
    state = closed()
    callback = next(v for v in state.visits if v.kind == "callback")
    assert callback.visit_id == f"B1-{state.closed_cases[-1].case_id}"
    assert callback.deadline.due_at == START + timedelta(days=5)  # 3 working days from a Friday: Wednesday


def test_reopening_withdraws_the_call_back_due_and_closing_again_makes_the_next_one():
    state = closed()
    case_id = state.closed_cases[-1].case_id
    outcome = apply_command(state, officer(state, "reopen", case_id, text="又来电"), START, DEFAULT)
    assert [(e.type, e.data.get("visit_id")) for e in outcome.events if e.case is None] == [
        (CaseEventType.VISIT_WITHDRAWN, f"B1-{case_id}")
    ]
    # The event carries the household view that no longer lists it as due, as the worker sends it to the read model.
    assert with_household(outcome.events, outcome.state, START, DEFAULT)[-1].household is not None
    state = outcome.state
    (withdrawn,) = [v for v in state.visits if v.kind == "callback"]
    assert (withdrawn.visit_id, withdrawn.status, withdrawn.done_by) == (f"B1-{case_id}", "withdrawn", "王芳")
    assert not is_due(withdrawn)
    later = START + timedelta(days=1)
    for kind in ("deliver", "close"):
        state = apply_command(state, officer(state, kind, case_id, outcome=CASH), later, DEFAULT).state
    due = [v for v in state.visits if v.kind == "callback" and is_due(v)]
    assert [(v.visit_id, v.deadline.started_at) for v in due] == [(f"B2-{case_id}", later)]


def test_a_withdrawn_call_back_never_changes_colour_nor_climbs():
    state = closed()
    case_id = state.closed_cases[-1].case_id
    state = apply_command(state, officer(state, "reopen", case_id, text="又来电"), START, DEFAULT).state
    ticked = tick_household(state, START + timedelta(days=30), DEFAULT)
    assert not [e for e in ticked.events if e.data.get("visit_id") == f"B1-{case_id}"]


def test_recording_a_follow_up_visit_marks_it_done_on_time_with_what_was_found():
    state = delivered()
    case_id = state.open_case.case_id
    at = START + timedelta(days=2)
    outcome = apply_visit_command(state, officer(state, "record_visit", case_id, text="老人身体好转", more_help=False), at, DEFAULT)
    (recorded,) = outcome.events
    assert recorded.type is CaseEventType.VISIT_RECORDED and recorded.actor_name == "王芳"
    assert {k: recorded.data[k] for k in ("visit_id", "on_time", "found", "more_help")} == {
        "visit_id": f"F1-{case_id}", "on_time": True, "found": "老人身体好转", "more_help": False,
    }  # fmt: skip
    done = next(v for v in outcome.state.visits if v.visit_id == f"F1-{case_id}")
    assert (done.status, done.done_at, done.done_by) == ("done", at, "王芳")
    assert outcome.signals == []


def test_a_visit_made_late_is_not_on_time_and_a_visit_recorded_twice_is_refused():
    state = delivered()
    case_id = state.open_case.case_id
    first = {"visit_id": f"F1-{case_id}", "text": "ok"}
    late = apply_visit_command(state, officer(state, "record_visit", case_id, **first), START + timedelta(days=4), DEFAULT)
    assert late.events[0].data["on_time"] is False
    again = apply_visit_command(late.state, officer(late.state, "record_visit", case_id, **first), START, DEFAULT)
    assert again.events[0].type is CaseEventType.COMMAND_REJECTED and again.events[0].data["reason_key"] == "followups.refusal.visit_done"


def test_more_help_needed_becomes_a_signal_that_opens_a_new_case_after_the_first_closed():
    state = closed()
    case_id = state.closed_cases[-1].case_id
    outcome = apply_visit_command(state, officer(state, "record_visit", case_id, text="又断粮了", more_help=True), START, DEFAULT)
    (more,) = outcome.signals
    assert (more.source, more.kind, more.person_key, more.household_id) == ("visit", "visit.more_help", "person-1", "H1")
    assert more.details["description"] == "又断粮了" and more.reporter == "王芳"
    assert [f.code for f in own_factors(more, DEFAULT)] == ["visit:visit.more_help"]
    reopened = apply_signal(outcome.state, more, START + timedelta(seconds=1), DEFAULT)
    assert reopened.events[0].type is CaseEventType.OPENED and reopened.state.open_case.case_id != case_id
    assert reopened.state.open_case.reports[0].text == "又断粮了"


def test_a_watch_visit_recorded_by_the_household_schedules_the_next_from_the_visit():
    state = HouseholdState(household_id="H1")
    elder = department_signal(START, "household.member_added", "reg-1", age=80)
    state = with_watch(apply_signal(state, elder, START, DEFAULT), START, DEFAULT, "system:triage", "reg-1").state
    at = START + timedelta(days=2)
    outcome = apply_visit_command(state, officer(state, "record_visit", text="一切正常"), at, DEFAULT)
    assert [e.type for e in outcome.events] == [CaseEventType.VISIT_RECORDED, CaseEventType.VISITS_SCHEDULED]
    due = [v for v in outcome.state.visits if v.status != "done"]
    assert [(v.visit_id, v.deadline.due_at) for v in due] == [("W2-H1", at + timedelta(days=7))]


def test_no_visit_due_is_refused_with_a_reason():
    state = HouseholdState(household_id="H1")
    outcome = apply_visit_command(state, officer(state, "record_visit", text="x"), START, DEFAULT)
    assert outcome.events[0].data["reason_key"] == "followups.refusal.no_visit_due"


def test_a_satisfied_rating_is_recorded_on_the_closed_case_and_it_stays_closed():
    state = closed()
    case_id = state.closed_cases[-1].case_id
    outcome = apply_visit_command(state, officer(state, "record_satisfaction", case_id, rating="satisfied", text="很满意"), START, DEFAULT)
    (recorded,) = outcome.events
    assert recorded.type is CaseEventType.SATISFACTION_RECORDED and recorded.case.rating == "satisfied"
    assert recorded.data == {"visit_id": f"B1-{case_id}", "rating": "satisfied", "text": "很满意", "on_time": True}
    assert outcome.state.open_case is None and outcome.state.closed_cases[-1].rating == "satisfied"
    assert all(v.status == "done" for v in outcome.state.visits if v.kind == "callback")


def test_a_dissatisfied_rating_reopens_the_case_for_the_town_with_the_supervision_deadline_and_the_words():
    state = closed()
    case_id = state.closed_cases[-1].case_id
    command = officer(state, "record_satisfaction", case_id, rating="dissatisfied", text="钱到得太晚")
    outcome = apply_visit_command(state, command, START, DEFAULT)
    assert [e.type for e in outcome.events][:2] == [CaseEventType.SATISFACTION_RECORDED, CaseEventType.REOPENED]
    assert outcome.events[1].data == {"reason": "dissatisfied", "text": "钱到得太晚", "supervised": True}
    case = outcome.state.open_case
    assert case.case_id == case_id and case.stage is Stage.OPENED and case.supervised and case.tier is Tier.TOWN
    assert list(case.deadlines) == ["supervision"] and case.deadlines["supervision"].due_at == START + timedelta(days=7)
    (notice,) = notifications_for(outcome.events[1], DEFAULT)
    assert (notice.kind, notice.tier, notice.area_code) == ("supervision", Tier.TOWN, case.area.town) and "钱到得太晚" in notice.message


def test_a_dissatisfied_rating_with_another_case_open_supervises_that_case_instead():
    state = closed()
    first = state.closed_cases[-1].case_id
    state = apply_signal(state, signal(START, event_id="e2", kind="no_food_or_shelter", children=3), START, DEFAULT).state
    other = state.open_case.case_id
    outcome = apply_visit_command(state, officer(state, "record_satisfaction", first, rating="dissatisfied", text="没人管"), START, DEFAULT)
    supervised = outcome.events[1]
    assert supervised.type is CaseEventType.SUPERVISED and supervised.case_id == other
    assert supervised.data["dissatisfied_case_id"] == first
    case = outcome.state.open_case
    assert case.case_id == other and case.supervised and "supervision" in case.deadlines
    assert outcome.state.closed_cases[-1].case_id == first and outcome.state.closed_cases[-1].stage is Stage.CLOSED


def test_a_rating_before_closing_or_twice_is_refused():
    state = delivered()
    case_id = state.open_case.case_id
    early = officer(state, "record_satisfaction", case_id, rating="satisfied")
    assert satisfaction_refusal(state.open_case, early).key == "followups.refusal.callback_before_close"
    state = closed()
    case_id = state.closed_cases[-1].case_id
    once = apply_visit_command(state, officer(state, "record_satisfaction", case_id, rating="satisfied"), START, DEFAULT).state
    twice = apply_visit_command(once, officer(once, "record_satisfaction", case_id, rating="satisfied"), START, DEFAULT)
    assert twice.events[0].data["reason_key"] == "followups.refusal.no_callback_due"


def test_a_follow_up_missed_climbs_the_ladder_and_each_rung_is_told_where_the_household_lives():
    state = delivered(FAST)
    events = []
    for second in range(1, 20):
        outcome = tick_household(state, START + timedelta(seconds=second), FAST)
        state, events = outcome.state, events + outcome.events
    escalations = [e for e in events if e.type is CaseEventType.VISIT_ESCALATED and e.data["visit_id"].startswith("F1-")]
    assert [e.data["to"] for e in escalations] == ["town", "city", "leadership"]
    notices = [n for e in escalations for n in notifications_for(e, FAST)]
    assert [(n.kind, n.tier, n.area_code) for n in notices] == [
        ("visit_escalated", Tier.TOWN, "370784101"), ("visit_escalated", Tier.CITY, "370784"),
        ("visit_escalated", Tier.LEADERSHIP, "370784"),
    ]  # fmt: skip
