from datetime import UTC, datetime, timedelta

import pytest

from schemas.case import CaseCommand, Outcome, Stage
from schemas.messages import Text
from streams.policies import load_policy
from streams.rules.cases import apply_signal, apply_tick
from streams.rules.household import HouseholdState
from streams.rules.workflow import apply_command, refusal
from tests.factories import signal

DEFAULT = load_policy("default")
FAST = load_policy("fast")
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in China
CASH = Outcome(aid_type="cash", amount_yuan=2000)


def opened(policy=DEFAULT, at=START) -> HouseholdState:
    return apply_signal(HouseholdState(household_id="H1"), signal(at, children=3), at, policy).state


def command(state: HouseholdState, kind: str, **fields) -> CaseCommand:
    case = state.open_case or state.closed_cases[-1]
    return CaseCommand(
        type=kind, household_id="H1", issued_at=START, actor="officer:city:*", command_id=f"cmd-{kind}", case_id=case.case_id, **fields
    )


def run(state, kind, at, policy=DEFAULT, **fields):
    return apply_command(state, command(state, kind, **fields), at, policy)


def test_the_full_loop_acknowledge_assign_deliver_close():
    state = opened()
    ack = run(state, "acknowledge", START + timedelta(minutes=5))
    assert [e.type.value for e in ack.events] == ["acknowledged"]
    case = ack.state.open_case
    assert case.stage is Stage.ACKNOWLEDGED and case.deadlines["acknowledge"].met_at == START + timedelta(minutes=5)
    assert case.due_deadline == "aid" and ack.events[0].event_id == "cmd-acknowledge"
    assigned = run(ack.state, "assign", START + timedelta(minutes=10), assignee="张村委")
    assert assigned.state.open_case.assignee == "张村委" and assigned.state.open_case.stage is Stage.ASSIGNED
    delivered = run(assigned.state, "deliver", START + timedelta(minutes=90), outcome=CASH)
    case = delivered.state.open_case
    assert case.stage is Stage.AID_DELIVERED and case.deadlines["aid"].met_at is not None
    assert case.deadlines["paperwork"].due_at == START + timedelta(minutes=90, days=7)
    assert case.due_deadline == "paperwork"
    closed = run(delivered.state, "close", START + timedelta(days=2), outcome=CASH, text="visited, money paid")
    assert [e.type.value for e in closed.events] == ["closed", "visits_scheduled"]  # the satisfaction call-back
    assert closed.state.open_case is None
    final = closed.state.closed_cases[-1]
    assert final.status == "closed" and final.stage is Stage.CLOSED and final.outcome == CASH
    assert all(d.met_at is not None for d in final.deadlines.values())
    assert final.allowed_actions == ["reopen", "note"]


def test_acknowledging_stops_the_acknowledgement_clock_but_not_the_aid_clock():
    state = run(opened(FAST), "acknowledge", START + timedelta(seconds=0.5), FAST).state
    changes = []
    for tenth in range(1, 80):
        outcome = apply_tick(state, START + timedelta(seconds=tenth / 10), FAST)
        state = outcome.state
        changes += [(tenth / 10, e.data["to"]) for e in outcome.events if e.type.value == "status_changed"]
    # Without the acknowledgement it would be yellow at 1 s and red at 2 s; the 6 s aid clock runs on.
    assert changes == [(3.0, "yellow"), (6.0, "red")]


def test_invalid_transition_is_rejected_with_a_reason_on_the_timeline():
    state = opened()
    outcome = run(state, "close", START + timedelta(minutes=1), outcome=CASH)
    [rejected] = outcome.events
    assert rejected.type.value == "command_rejected" and rejected.event_id == "cmd-close"
    assert rejected.data["reason"] == "请先登记救助到位再办结，或以转介其他部门办结"
    assert (rejected.data["reason_key"], rejected.data["reason_params"]) == ("refusal.deliver_before_close", {})
    assert Text(rejected.data["reason_key"], rejected.data["reason_params"]).render("en").startswith("record the aid as delivered")
    assert rejected.case.version == state.open_case.version + 1 and rejected.case.stage is Stage.OPENED


@pytest.mark.parametrize(
    ("stage_commands", "kind", "fields", "chinese", "english"),
    [
        (
            [],
            "reopen",
            {},
            "案件待受理，不能重新开启；现在可以：受理、派单、登记救助到位、办结、添加备注",
            "cannot reopen a case that is awaiting acknowledgement; possible now: acknowledge, assign, deliver, close, note",
        ),
        ([], "assign", {}, "派单须指定承办人", "assign needs an assignee"),
        ([], "deliver", {}, "登记救助到位须填写结果", "deliver needs an outcome"),
        ([], "note", {}, "备注不能为空", "a note needs text"),
        (["acknowledge"], "acknowledge", {}, "案件已受理，不能受理", "cannot acknowledge a case that is acknowledged"),
    ],
)
def test_refusals_say_what_is_possible(stage_commands, kind, fields, chinese, english):
    state = opened()
    for earlier in stage_commands:
        state = run(state, earlier, START).state
    refused = refusal(state.open_case, command(state, kind, **fields), state)
    assert refused.render().startswith(chinese)
    assert refused.render("en").startswith(english)


def test_close_with_referral_needs_no_delivery_and_unknown_case_is_rejected():
    state = opened()
    referral = Outcome(aid_type="referral", referral="human-resources")
    assert run(state, "close", START, outcome=referral).state.open_case is None
    stray = CaseCommand(type="acknowledge", household_id="H1", issued_at=START, actor="x", command_id="c9", case_id="CNOPE")
    [rejected] = apply_command(state, stray, START, DEFAULT).events
    assert rejected.case is None and rejected.data["reason"] == "本户没有编号为 CNOPE 的案件"
    assert rejected.data["reason_params"] == {"case_id": "CNOPE"}


def test_reopen_gives_fresh_deadlines_and_a_closed_case_opens_nothing_again():
    state = opened()
    closed = run(state, "close", START, outcome=Outcome(aid_type="referral", referral="education")).state
    later = START + timedelta(hours=1)
    again = apply_signal(closed, signal(later, event_id="e2", kind="other", caller_key="someone-else"), later, DEFAULT)
    scored_on = {f.code for f in again.state.open_case.factors}
    assert "hotline:medical_emergency" not in scored_on and "hotline:other" in scored_on  # the handled call is not counted again
    reopened = run(closed, "reopen", later, text="family called back")
    case = reopened.state.open_case
    assert case.stage is Stage.OPENED and case.status == "green" and case.closed_at is None
    assert case.deadlines["acknowledge"].due_at == later + timedelta(minutes=15)


def test_notes_are_allowed_at_any_stage():
    state = opened()
    noted = run(state, "note", START, text="neighbour has the children")
    assert [e.type.value for e in noted.events] == ["note_added"]
    assert noted.events[0].data["text"] == "neighbour has the children"
    assert noted.state.open_case.stage is Stage.OPENED


def test_every_event_a_command_causes_names_the_officer_and_time_names_no_one():
    state = opened(FAST)
    signed = command(state, "acknowledge").model_copy(update={"actor_name": "张伟"})
    outcome = apply_command(state, signed, START + timedelta(seconds=4), FAST)
    assert [(e.type.value, e.actor, e.actor_name) for e in outcome.events] == [
        ("acknowledged", "officer:city:*", "张伟"),
        ("status_changed", "officer:city:*", "张伟"),
    ]
    refused = apply_command(outcome.state, signed, START + timedelta(seconds=5), FAST)
    assert [(e.type.value, e.actor_name) for e in refused.events] == [("command_rejected", "张伟")]
    later = apply_tick(outcome.state, START + timedelta(seconds=7), FAST)
    assert [(e.type.value, e.actor_name) for e in later.events] == [("status_changed", None), ("escalated", None)]
