"""Referrals to partners (转办转介, seed 004): an officer refers a case, or part of the help it needs, to a department, a
charity or a social organisation, which must accept or decline before one deadline and report the help before another.

Both are ordinary case deadlines (`referral:<id>:accept`, `referral:<id>:deliver`): they colour the case, climb the
ladder and wake the deadline queue like every other, so an unanswered referral cannot wait forever.
"""

from datetime import datetime

from schemas.aftercare import ACTIVE_REFERRAL, Referral, ReferralStatus
from schemas.case import Case, CaseCommand, CaseEventType, Stage
from schemas.messages import Text
from schemas.timing import Deadline
from streams.rules.cases import Outcome, find_case, household_event, reason_fields, reevaluate, step, store_case
from streams.rules.deadlines import deadline_of
from streams.rules.household import HouseholdState
from streams.rules.policy import Policy, ReferralDeadlines

OFFICER_COMMANDS = frozenset({"refer", "revoke_referral"})
PARTNER_COMMANDS = frozenset({"accept_referral", "decline_referral", "report_referral"})
REFERRAL_COMMANDS = OFFICER_COMMANDS | PARTNER_COMMANDS
PARTNER_ROLE = "partner:"


def referral_id_for(case: Case, number: int) -> str:
    """The id of a case's number-th referral: R{n}-{case_id}, so the id alone says which case (and household) it is on."""
    return f"R{number}-{case.case_id}"


def case_id_of(referral_id: str) -> str | None:
    """The case a referral id names, or None when it is not a referral id."""
    number, dash, case_id = referral_id.partition("-")
    return case_id if dash and number[:1] == "R" and number[1:].isdigit() and case_id else None


def find_referral(case: Case, referral_id: str | None) -> Referral | None:
    """The case's referral with this id."""
    return next((r for r in case.referrals if r.referral_id == referral_id), None)


def active_referral(case: Case, partner: str) -> Referral | None:
    """The partner's referral of the case still pending or accepted, if any."""
    return next((r for r in case.referrals if r.partner == partner and r.status in ACTIVE_REFERRAL), None)


def spans_of(case: Case, policy: Policy) -> ReferralDeadlines:
    """The accept and deliver spans of the case's track: an emergency referral is answered at any hour."""
    return getattr(policy.referrals, policy.tracks[case.priority].track)


def _partner_refusal(referral: Referral, command: CaseCommand) -> Text | None:
    """Why the partner's answer cannot apply to the referral, or None."""
    ids = {"referral_id": referral.referral_id}
    if command.actor != f"{PARTNER_ROLE}{referral.partner}":
        return Text("refusal.referral.not_yours", {**ids, "partner": referral.partner})
    if command.type in ("accept_referral", "decline_referral") and referral.status is not ReferralStatus.PENDING:
        return Text("refusal.referral.not_pending", ids)
    if command.type == "decline_referral" and not command.text:
        return Text("refusal.referral.decline_needs_reason")
    if command.type == "report_referral" and referral.status is not ReferralStatus.ACCEPTED:
        return Text("refusal.referral.not_accepted", ids)
    if command.type == "report_referral" and not command.text:
        return Text("refusal.referral.report_needs_text")
    return None


def referral_refusal(case: Case | None, command: CaseCommand) -> Text | None:
    """Why a referral command cannot apply to the case now, in words the officer or the partner can act on; None when it can."""
    if case is None:
        return Text("refusal.case_unknown", {"case_id": command.case_id})
    if case.merged_into:
        return Text("refusal.case_merged", {"case_id": case.case_id, "into": case.merged_into})
    if case.stage is Stage.CLOSED:
        return Text("refusal.referral.case_closed", {"case_id": case.case_id})
    if command.type in OFFICER_COMMANDS and command.actor.startswith(PARTNER_ROLE):
        return Text("refusal.referral.officers_only")
    if command.type == "refer":
        if not command.partner:
            return Text("refusal.referral.needs_partner")
        if not command.request:
            return Text("refusal.referral.needs_request")
        if held := active_referral(case, command.partner):
            return Text("refusal.referral.repeat", {"partner": command.partner, "referral_id": held.referral_id})
        return None
    referral = find_referral(case, command.referral_id)
    if referral is None:
        return Text("refusal.referral.unknown", {"referral_id": command.referral_id, "case_id": case.case_id})
    if command.type == "revoke_referral":
        if referral.status not in ACTIVE_REFERRAL:
            return Text("refusal.referral.ended", {"referral_id": referral.referral_id})
        return None if command.text else Text("refusal.referral.revoke_needs_reason")
    return _partner_refusal(referral, command)


def _met(deadlines: dict[str, Deadline], name: str, now: datetime) -> dict[str, Deadline]:
    """The deadlines with the named one met now."""
    return {**deadlines, name: deadlines[name].model_copy(update={"met_at": now})}


def _on_time(deadlines: dict[str, Deadline], name: str, now: datetime) -> bool:
    """Whether now is no later than the named deadline's due time."""
    return now <= deadlines[name].due_at


def _referred(case: Case, command: CaseCommand, now: datetime, policy: Policy) -> tuple[Referral, dict, dict]:
    """A new pending referral, its event data, and the case's changes: the referral and its accept deadline."""
    referral = Referral(
        referral_id=referral_id_for(case, len(case.referrals) + 1),
        partner=command.partner,
        request=command.request,
        referred_at=now,
        referred_by=command.actor_name,
    )
    deadlines = {**case.deadlines, referral.accept_deadline: deadline_of(now, spans_of(case, policy).accept, policy)}
    data = {"referral_id": referral.referral_id, "partner": referral.partner, "request": referral.request}
    return referral, data, {"deadlines": deadlines}


def _answered(case: Case, referral: Referral, command: CaseCommand, now: datetime, policy: Policy) -> tuple[Referral, dict, dict]:
    """The referral after the partner's answer or report, or the officer's revocation; its event data and the case's deadlines."""
    ids = {"referral_id": referral.referral_id, "partner": referral.partner}
    deadlines = case.deadlines
    match command.type:
        case "accept_referral":
            on_time = _on_time(deadlines, referral.accept_deadline, now)
            deliver = deadline_of(now, spans_of(case, policy).deliver, policy)
            deadlines = {**_met(deadlines, referral.accept_deadline, now), referral.deliver_deadline: deliver}
            changed = {"status": ReferralStatus.ACCEPTED, "answered_at": now}
            data = {**ids, "on_time": on_time}
        case "decline_referral":
            on_time = _on_time(deadlines, referral.accept_deadline, now)
            deadlines = _met(deadlines, referral.accept_deadline, now)
            changed = {"status": ReferralStatus.DECLINED, "answered_at": now, "reason": command.text}
            data = {**ids, "reason": command.text, "on_time": on_time}
        case "report_referral":
            on_time = _on_time(deadlines, referral.deliver_deadline, now)
            deadlines = _met(deadlines, referral.deliver_deadline, now)
            changed = {"status": ReferralStatus.DELIVERED, "report": command.text, "delivered_at": now}
            data = {**ids, "report": command.text, "on_time": on_time}
        case _:  # revoke_referral: its clocks stop counting against the case; met ones stay as the record of what was done
            own = (referral.accept_deadline, referral.deliver_deadline)
            deadlines = {name: d for name, d in deadlines.items() if name not in own or d.met_at is not None}
            changed = {"status": ReferralStatus.REVOKED, "reason": command.text}
            data = {**ids, "reason": command.text}
    return referral.model_copy(update=changed), data, {"deadlines": deadlines}


EVENT_OF_COMMAND = {
    "refer": CaseEventType.REFERRED,
    "accept_referral": CaseEventType.REFERRAL_ACCEPTED,
    "decline_referral": CaseEventType.REFERRAL_DECLINED,
    "report_referral": CaseEventType.REFERRAL_DELIVERED,
    "revoke_referral": CaseEventType.REFERRAL_REVOKED,
}


def _apply(state: HouseholdState, command: CaseCommand, now: datetime, policy: Policy) -> Outcome:
    case_id = command.case_id or case_id_of(command.referral_id or "")
    case = find_case(state, case_id)
    reason = referral_refusal(case, command.model_copy(update={"case_id": case_id}))
    if reason:
        data = {"command": command.type, "case_id": case_id, "referral_id": command.referral_id, **reason_fields(reason)}
        if case is None:
            return Outcome(state, [household_event(state, CaseEventType.COMMAND_REJECTED, now, command.actor, command.command_id, data)])
        case, rejected = step(case, CaseEventType.COMMAND_REJECTED, now, command.actor, command.command_id, data)
        return Outcome(store_case(state, case), [rejected])
    if command.type == "refer":
        referral, data, changes = _referred(case, command, now, policy)
        referrals = [*case.referrals, referral]
    else:
        referral, data, changes = _answered(case, find_referral(case, command.referral_id), command, now, policy)
        referrals = [referral if r.referral_id == referral.referral_id else r for r in case.referrals]
    case, event = step(case, EVENT_OF_COMMAND[command.type], now, command.actor, command.command_id, data, referrals=referrals, **changes)
    case, changes = reevaluate(case, now, policy, command.actor, command.command_id)
    return Outcome(store_case(state, case), [event, *changes])


def apply_referral_command(state: HouseholdState, command: CaseCommand, now: datetime, policy: Policy) -> Outcome:
    """Refer, accept, decline, report or revoke, or record on the case why not; every event names the person behind the token."""
    outcome = _apply(state, command, now, policy)
    return Outcome(outcome.state, [event.model_copy(update={"actor_name": command.actor_name}) for event in outcome.events])
