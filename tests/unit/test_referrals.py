from datetime import UTC, datetime, timedelta

from schemas.aftercare import ReferralStatus
from schemas.case import CaseCommand, CaseEventType, Outcome, Priority
from schemas.messages import render
from schemas.timing import Tier
from streams.policies import load_policy
from streams.rules.cases import apply_signal
from streams.rules.deadlines import span_end, yellow_from
from streams.rules.household import HouseholdState
from streams.rules.merge import merge_cases
from streams.rules.notifications import notifications_for
from streams.rules.referrals import apply_referral_command, case_id_of, referral_refusal, spans_of
from streams.rules.visits import tick_household, wake_at
from streams.rules.workflow import apply_command
from tests.factories import signal

DEFAULT = load_policy("default")
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in China
OFFICER = "officer:town:370784101"


def command(state: HouseholdState, kind: str, actor: str = OFFICER, **fields) -> CaseCommand:
    case = state.open_case or state.closed_cases[-1]
    return CaseCommand(
        type=kind,
        household_id="H1",
        issued_at=START,
        actor=actor,
        actor_name="李娜" if actor.startswith("officer") else "王芳",
        command_id=f"cmd-{kind}",
        case_id=case.case_id,
        **fields,
    )


def acknowledged() -> HouseholdState:
    """An emergency case whose acknowledgement is met, so its aid clock (2 h) is the one racing."""
    state = apply_signal(HouseholdState(household_id="H1"), signal(START, children=3), START, DEFAULT).state
    ack = CaseCommand(type="acknowledge", household_id="H1", issued_at=START, actor=OFFICER, case_id=state.open_case.case_id)
    return apply_command(state, ack, START + timedelta(minutes=1), DEFAULT).state


def referred(partner="county-charity", at=START + timedelta(minutes=2)):
    state = acknowledged()
    return apply_referral_command(state, command(state, "refer", partner=partner, request="送米面油和过冬棉被"), at, DEFAULT)


def answer(state, kind, partner="county-charity", at=START + timedelta(minutes=10), referral_id=None, **fields):
    referral_id = referral_id or state.open_case.referrals[-1].referral_id
    return apply_referral_command(
        state,
        command(state, kind, actor=f"partner:{partner}", referral_id=referral_id, **fields).model_copy(update={"case_id": None}),
        at,
        DEFAULT,
    )


def test_a_referral_is_pending_with_an_accept_deadline_from_the_track():
    outcome = referred()
    case = outcome.state.open_case
    [referral] = case.referrals
    assert referral.referral_id == f"R1-{case.case_id}" and case_id_of(referral.referral_id) == case.case_id
    assert referral.status is ReferralStatus.PENDING and referral.referred_by == "李娜"
    accept = case.deadlines[referral.accept_deadline]
    assert accept.due_at == START + timedelta(minutes=32)  # emergency: 30 minutes, day or night
    [event] = outcome.events
    assert event.type is CaseEventType.REFERRED and event.actor_name == "李娜"
    assert event.data == {"referral_id": referral.referral_id, "partner": "county-charity", "request": "送米面油和过冬棉被"}
    assert case.due_deadline == referral.accept_deadline


def test_a_standard_referral_counts_working_hours():
    case = referred().state.open_case.model_copy(update={"priority": Priority.P3})
    spans = spans_of(case, DEFAULT)
    friday_evening = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 17:00 in China
    assert span_end(friday_evening, spans.accept, DEFAULT) > friday_evening + timedelta(days=2)  # Monday


def test_an_unanswered_referral_turns_the_case_yellow_then_red_and_climbs():
    state = referred().state
    accept = state.open_case.deadlines[state.open_case.referrals[0].accept_deadline]
    # The deadline queue wakes the household for the referral's own clock.
    assert datetime.fromtimestamp(0, UTC) < wake_at(state, DEFAULT) == yellow_from(accept, DEFAULT)
    events = []
    for minutes in (18, 33, 33 + DEFAULT.leadership_after_s / 60):
        outcome = tick_household(state, START + timedelta(minutes=minutes), DEFAULT)
        state, events = outcome.state, events + outcome.events
    assert state.open_case.priority is Priority.P1  # opened at the town: yellow brings in nobody new
    assert [(e.type.value, e.data.get("to")) for e in events] == [
        ("status_changed", "yellow"),
        ("status_changed", "red"),
        ("escalated", "city"),
        ("escalated", "leadership"),
    ]
    assert all(e.data.get("deadline", e.data.get("reason_params", {}).get("deadline")) == accept_name(state) for e in events)
    assert "转介接收时限已超时" in events[-1].data["reason"]
    notices = [n for e in events for n in notifications_for(e, DEFAULT)]
    assert notices[-1].tier is Tier.LEADERSHIP and "转介接收时限" in notices[-1].message


def accept_name(state):
    return state.open_case.referrals[0].accept_deadline


def test_decline_meets_the_accept_deadline_and_goes_back_to_the_officer_with_the_reason():
    state = referred().state
    outcome = answer(state, "decline_referral", text="本会冬衣已发放完毕")
    case = outcome.state.open_case
    [referral] = case.referrals
    assert referral.status is ReferralStatus.DECLINED and referral.reason == "本会冬衣已发放完毕"
    assert case.deadlines[referral.accept_deadline].met_at == START + timedelta(minutes=10)
    [event] = outcome.events
    assert event.data == {"referral_id": referral.referral_id, "partner": "county-charity", "reason": "本会冬衣已发放完毕", "on_time": True}
    assert event.actor == "partner:county-charity" and event.actor_name == "王芳"
    [notice] = notifications_for(event, DEFAULT, partner_name={"county-charity": "县慈善总会"}.__getitem__)
    assert notice.kind == "referral_declined" and notice.tier is case.tier
    assert "县慈善总会退回转介：本会冬衣已发放完毕" in notice.message


def test_re_refer_accept_and_report_on_time_then_late():
    state = answer(referred().state, "decline_referral", text="无力承接").state
    state = apply_referral_command(
        state, command(state, "refer", partner="red-cross", request="送医"), START + timedelta(minutes=11), DEFAULT
    ).state
    second = state.open_case.referrals[-1]
    assert second.referral_id.startswith("R2-")
    accepted = answer(state, "accept_referral", partner="red-cross", at=START + timedelta(minutes=20))
    case = accepted.state.open_case
    assert accepted.events[0].data == {"referral_id": second.referral_id, "partner": "red-cross", "on_time": True}
    deliver = case.deadlines[second.deliver_deadline]
    assert deliver.started_at == START + timedelta(minutes=20) and deliver.due_at == START + timedelta(minutes=140)
    late = START + timedelta(minutes=150)
    reported = answer(accepted.state, "report_referral", partner="red-cross", at=late, text="已送县医院")
    referral = reported.state.open_case.referrals[-1]
    assert referral.status is ReferralStatus.DELIVERED and referral.report == "已送县医院" and referral.delivered_at == late
    assert reported.events[0].data == {"referral_id": second.referral_id, "partner": "red-cross", "report": "已送县医院", "on_time": False}
    assert reported.state.open_case.deadlines[second.deliver_deadline].met_at == late


def test_revoke_removes_the_referrals_unmet_deadlines():
    state = referred().state
    referral_id = state.open_case.referrals[0].referral_id
    revoked = apply_referral_command(
        state, command(state, "revoke_referral", referral_id=referral_id, text="家属已自行解决"), START + timedelta(minutes=5), DEFAULT
    )
    case = revoked.state.open_case
    assert case.referrals[0].status is ReferralStatus.REVOKED and case.referrals[0].reason == "家属已自行解决"
    assert f"referral:{referral_id}:accept" not in case.deadlines and case.due_deadline == "aid"
    assert revoked.events[0].data == {"referral_id": referral_id, "partner": "county-charity", "reason": "家属已自行解决"}


def test_refusals_are_rejected_events_with_a_catalogue_reason():
    state = referred().state
    case = state.open_case
    referral_id = case.referrals[0].referral_id
    cases = [
        (command(state, "refer", partner="county-charity", request="再转一次"), "refusal.referral.repeat"),
        (command(state, "refer", partner="red-cross"), "refusal.referral.needs_request"),
        (command(state, "refer", request="送米"), "refusal.referral.needs_partner"),
        (command(state, "refer", actor="partner:red-cross", partner="red-cross", request="送米"), "refusal.referral.officers_only"),
        (command(state, "accept_referral", actor="partner:red-cross", referral_id=referral_id), "refusal.referral.not_yours"),
        (command(state, "accept_referral", referral_id=referral_id), "refusal.referral.not_yours"),
        (
            command(state, "decline_referral", actor="partner:county-charity", referral_id=referral_id),
            "refusal.referral.decline_needs_reason",
        ),
        (
            command(state, "report_referral", actor="partner:county-charity", referral_id=referral_id, text="x"),
            "refusal.referral.not_accepted",
        ),
        (command(state, "revoke_referral", referral_id=referral_id), "refusal.referral.revoke_needs_reason"),
        (command(state, "revoke_referral", referral_id=f"R9-{case.case_id}", text="x"), "refusal.referral.unknown"),
    ]
    for refused, key in cases:
        assert referral_refusal(case, refused).key == key
        [event] = apply_referral_command(state, refused, START + timedelta(minutes=3), DEFAULT).events
        assert event.type is CaseEventType.COMMAND_REJECTED and event.data["reason_key"] == key, key
        assert event.data["reason"] and not event.data["reason"].startswith("refusal.")
    accepted = answer(state, "accept_referral").state
    again = answer(accepted, "decline_referral", text="x")
    assert again.events[0].data["reason_key"] == "refusal.referral.not_pending"


def close_by_referral(state: HouseholdState) -> CaseCommand:
    return CaseCommand(
        type="close",
        household_id="H1",
        issued_at=START,
        actor=OFFICER,
        case_id=state.open_case.case_id,
        outcome=Outcome(aid_type="referral", referral="县慈善总会"),
    )


def test_a_case_is_not_closed_while_a_referral_waits_for_its_partner():
    pending = referred().state
    accepted = answer(pending, "accept_referral").state
    for state in (pending, accepted):
        [rejected] = apply_command(state, close_by_referral(state), START + timedelta(minutes=20), DEFAULT).events
        assert rejected.type is CaseEventType.COMMAND_REJECTED
        assert rejected.data["reason_key"] == "refusal.referral.close_while_active"
        assert (
            rejected.data["reason"]
            == f"转介 {state.open_case.referrals[0].referral_id} 尚未办结：请等接收单位反馈救助情况，或先撤回转介，再办结案件"
        )


def test_closing_after_the_partner_reported_meets_every_deadline_and_a_closed_case_takes_no_more():
    state = answer(answer(referred().state, "accept_referral").state, "report_referral", text="已送米面油").state
    after = apply_command(state, close_by_referral(state), START + timedelta(minutes=30), DEFAULT).state
    closed = after.closed_cases[-1]
    assert all(d.met_at is not None for d in closed.deadlines.values())
    [event] = answer(after, "decline_referral", referral_id=closed.referrals[0].referral_id, text="晚了").events
    assert event.data["reason_key"] == "refusal.referral.case_closed"


def test_a_revoked_referral_does_not_hold_the_case_open():
    state = referred().state
    revoke = command(state, "revoke_referral", referral_id=state.open_case.referrals[0].referral_id, text="家属已自行解决")
    state = apply_referral_command(state, revoke, START + timedelta(minutes=5), DEFAULT).state
    assert state.open_case.referrals[0].status is ReferralStatus.REVOKED
    assert apply_command(state, close_by_referral(state), START + timedelta(minutes=20), DEFAULT).state.open_case is None


def test_deadline_names_of_referrals_are_labelled():
    assert render("notification.due", deadline="referral:R1-C0123456789AB:accept", at="10:00") == "转介接收时限 10:00（北京时间）"
    assert render("notification.due", "en", deadline="referral:R2-C0123456789AB:deliver", at="10:00").startswith("referral delivery")
    assert render("notification.due", deadline="paperwork", at="10:00").startswith("补办手续")


def test_a_merge_carries_the_absorbed_cases_referrals_with_their_clocks_and_their_partner_answers_on_the_survivor():
    absorbed = referred().state.open_case
    other = apply_signal(HouseholdState(household_id="H2"), signal(START, children=1), START, DEFAULT).state.open_case
    survivor, _, _ = merge_cases(other, absorbed, "H2", START + timedelta(minutes=3), "system:triage", "x")
    [referral] = survivor.referrals
    assert referral.referral_id == f"R1-{absorbed.case_id}" and referral.accept_deadline in survivor.deadlines
    state = HouseholdState(household_id="H2", open_case=survivor)
    accept = CaseCommand(
        type="accept_referral",
        household_id="H2",
        issued_at=START,
        actor="partner:county-charity",
        case_id=survivor.case_id,
        referral_id=referral.referral_id,
    )
    outcome = apply_referral_command(state, accept, START + timedelta(minutes=4), DEFAULT)
    assert outcome.events[0].type is CaseEventType.REFERRAL_ACCEPTED
    assert outcome.state.open_case.deadlines[referral.accept_deadline].met_at == START + timedelta(minutes=4)


def test_the_card_offers_no_closing_while_a_referral_waits():
    delivered = CaseCommand(
        type="deliver", household_id="H1", issued_at=START, actor=OFFICER, case_id="x", outcome=Outcome(aid_type="in_kind")
    )
    state = referred().state
    state = apply_command(state, delivered.model_copy(update={"case_id": state.open_case.case_id}), START, DEFAULT).state
    assert "close" not in state.open_case.allowed_actions
    state = answer(answer(state, "accept_referral").state, "report_referral", text="已送米面油").state
    assert "close" in state.open_case.allowed_actions
