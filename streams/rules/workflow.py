"""Duty officers' commands on a case: pure validation and transitions (demand → dispatch → handle → feedback)."""

from datetime import datetime

from schemas.case import TRANSITIONS, AidType, Case, CaseCommand, CaseEventType, Stage
from schemas.messages import Text
from schemas.timing import Deadline
from streams.rules.cases import Outcome, find_case, household_event, reason_fields, reevaluate, step, store_case
from streams.rules.deadlines import ACKNOWLEDGE, add_working_days, deadlines_for
from streams.rules.followups import scheduled_after
from streams.rules.household import HouseholdState
from streams.rules.policy import Policy

PAPERWORK = "paperwork"
EVENT_OF_COMMAND = {
    "acknowledge": CaseEventType.ACKNOWLEDGED,
    "assign": CaseEventType.ASSIGNED,
    "deliver": CaseEventType.AID_DELIVERED,
    "close": CaseEventType.CLOSED,
    "reopen": CaseEventType.REOPENED,
    "note": CaseEventType.NOTE_ADDED,
}


def refusal(case: Case | None, command: CaseCommand, household: HouseholdState | None = None) -> Text | None:
    """Why the command cannot be applied to the case now, in words an officer can act on; None when it can."""
    if case is None:
        return Text("refusal.case_unknown", {"case_id": command.case_id})
    if case.merged_into:
        return Text("refusal.case_merged", {"case_id": case.case_id, "into": case.merged_into})
    if command.type == "note":
        return None if command.text else Text("refusal.note_needs_text")
    next_stage = TRANSITIONS[case.stage].get(command.type)
    if next_stage is None:
        allowed = [*TRANSITIONS[case.stage], "note"]
        return Text("refusal.stage_forbids", {"command": command.type, "stage": case.stage.value, "allowed": allowed})
    if command.type == "assign" and not command.assignee:
        return Text("refusal.assign_needs_assignee")
    if command.type in ("deliver", "close") and command.outcome is None:
        return Text("refusal.needs_outcome", {"command": command.type})
    if command.type == "close" and case.stage is not Stage.AID_DELIVERED and command.outcome.aid_type is not AidType.REFERRAL:
        return Text("refusal.deliver_before_close")
    # Closing meets every clock: a referral still waiting for its partner would be left without one, and its partner unheard.
    if command.type == "close" and case.waiting_referral is not None:
        return Text("refusal.referral.close_while_active", {"referral_id": case.waiting_referral.referral_id})
    if command.type == "reopen" and household is not None and household.open_case is not None:
        return Text("refusal.household_has_open_case", {"case_id": household.open_case.case_id})
    return None


def _met(case: Case, names: list[str], now: datetime) -> dict[str, Deadline]:
    """The case's deadlines with the named unmet ones marked met now."""
    return {name: d.model_copy(update={"met_at": now}) if name in names and d.met_at is None else d for name, d in case.deadlines.items()}


def _changes(case: Case, command: CaseCommand, now: datetime, policy: Policy) -> dict:
    """What the command changes on the case."""
    main = policy.tracks[case.priority].main_deadline
    match command.type:
        case "acknowledge":
            return {"stage": Stage.ACKNOWLEDGED, "deadlines": _met(case, [ACKNOWLEDGE], now)}
        case "assign":
            return {"stage": Stage.ASSIGNED, "assignee": command.assignee, "deadlines": _met(case, [ACKNOWLEDGE], now)}
        case "deliver":
            met = _met(case, [ACKNOWLEDGE, main] if main == "aid" else [ACKNOWLEDGE], now)
            paperwork = Deadline(started_at=now, due_at=add_working_days(now, policy.paperwork_working_days, policy.working_time))
            return {"stage": Stage.AID_DELIVERED, "outcome": command.outcome, "deadlines": {**met, PAPERWORK: paperwork}}
        case "close":
            return {
                "stage": Stage.CLOSED,
                "status": "closed",
                "outcome": command.outcome,
                "closed_at": now,
                "red_since": None,
                "deadlines": _met(case, list(case.deadlines), now),
            }
        case "reopen":
            fresh = deadlines_for(case.priority, now, policy)
            return {"stage": Stage.OPENED, "status": "green", "red_since": None, "closed_at": None, "deadlines": fresh}
        case _:
            return {}


def _event_data(command: CaseCommand) -> dict:
    """What the timeline shows of the command."""
    data = {"command_id": command.command_id}
    if command.assignee:
        data["assignee"] = command.assignee
    if command.outcome:
        data["outcome"] = command.outcome.model_dump(mode="json")
    if command.text:
        data["text"] = command.text
    return data


def apply_command(state: HouseholdState, command: CaseCommand, now: datetime, policy: Policy) -> Outcome:
    """Apply an officer's command, or record on the case why it was refused; every event it causes names the officer."""
    outcome = _apply(state, command, now, policy)
    if command.actor_name is None:
        return outcome
    return Outcome(outcome.state, [event.model_copy(update={"actor_name": command.actor_name}) for event in outcome.events])


def _apply(state: HouseholdState, command: CaseCommand, now: datetime, policy: Policy) -> Outcome:
    case = find_case(state, command.case_id)
    reason = refusal(case, command, state)
    if reason and case is None:
        data = {"command": command.type, "case_id": command.case_id, **reason_fields(reason)}
        rejected = household_event(state, CaseEventType.COMMAND_REJECTED, now, command.actor, command.command_id, data)
        return Outcome(state, [rejected])
    if reason:
        data = {**_event_data(command), "command": command.type, **reason_fields(reason)}
        case, rejected = step(case, CaseEventType.COMMAND_REJECTED, now, command.actor, command.command_id, data)
        return Outcome(store_case(state, case), [rejected])
    case, event = step(
        case,
        EVENT_OF_COMMAND[command.type],
        now,
        command.actor,
        command.command_id,
        _event_data(command),
        **_changes(case, command, now, policy),
    )
    events = [event]
    if case.stage is not Stage.CLOSED:
        case, changes = reevaluate(case, now, policy, command.actor, command.command_id)
        events += changes
    state, scheduled = scheduled_after(store_case(state, case), case, command, now, policy)
    return Outcome(state, events + scheduled)
