"""Case state transitions: pure functions from (household state, input, now) to new state and case events."""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.case import Case, CaseCommand, CaseEvent, CaseEventType, Factor, Priority, Report, Signal, Stage, Urgency
from schemas.messages import Text
from schemas.timing import TIER_ORDER, Colour, earliest_unmet
from streams.rules.deadlines import colour_of, deadlines_for, higher_tier, required_tier, tighten
from streams.rules.household import HouseholdState, remember, with_help
from streams.rules.policy import Policy
from streams.rules.scoring import household_urgency, own_factors

TRIAGE = "system:triage"
DEADLINES = "system:deadlines"
PRIORITY_RANK = {Priority.P1: 3, Priority.P2: 2, Priority.P3: 1}
# Every case event carries the whole case, so a household called about all day keeps its first report and the latest.
REPORTS_KEPT = 20
CLOSED_CASES_KEPT = 5


@dataclass(frozen=True)
class Outcome:
    """The household state after an input, the case events it produced (in order), and what it passes on: signals and
    commands for other households (a take_over, or what a household that moved forwards)."""

    state: HouseholdState
    events: list[CaseEvent] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    commands: list[CaseCommand] = field(default_factory=list)


def case_id_for(household_id: str, event_id: str) -> str:
    """A case id derived from what opened it, so reprocessing the same input yields the same id."""
    return "C" + hashlib.sha256(f"{household_id}/{event_id}".encode()).hexdigest()[:12].upper()


def step(
    case: Case, kind: CaseEventType, now: datetime, actor: str, event_id: str | None, data: dict[str, Any], **changes: Any
) -> tuple[Case, CaseEvent]:
    """Apply changes to the case as one new version and describe it as an event."""
    case = case.model_copy(update={**changes, "version": case.version + 1})
    event = CaseEvent(
        type=kind,
        household_id=case.household_id,
        case_id=case.case_id,
        version=case.version,
        at=now,
        actor=actor,
        event_id=event_id,
        data=data,
        case=case,
    )
    return case, event


def household_event(state: HouseholdState, kind: CaseEventType, now: datetime, actor: str, event_id: str | None, data: dict) -> CaseEvent:
    """An event about the household that concerns no case (version 0), in the place of its latest signal."""
    area = state.areas[-1] if state.areas else None
    return CaseEvent(
        type=kind, household_id=state.household_id, case_id=None, version=0, at=now, actor=actor, event_id=event_id, data=data, area=area
    )


def _signal_summary(signal: Signal, urgency: Urgency) -> dict[str, Any]:
    """What a case event says about the signal that caused it."""
    summary = {
        "source": signal.source,
        "kind": signal.kind,
        "score": urgency.score,
        "occurred_at": signal.occurred_at,
        "reported_at": signal.reported_at,
        "received_at": signal.received_at,
    }
    if signal.reporter:
        summary["reporter"] = signal.reporter
    if signal.details.get("description"):
        summary["text"] = signal.details["description"]
    return summary


def report_of(signal: Signal) -> Report:
    """What the signal said, for the officer to read on the case."""
    details = dict(signal.details)
    return Report(
        event_id=signal.event_id,
        source=signal.source,
        kind=signal.kind,
        occurred_at=signal.occurred_at,
        reported_at=signal.reported_at,
        received_at=signal.received_at,
        reporter=signal.reporter,
        text=details.pop("description", ""),
        phone=signal.caller_phone,
        details=details,
    )


def with_report(reports: list[Report], report: Report) -> list[Report]:
    """The case's reports with a new one, keeping the first and the latest REPORTS_KEPT - 1."""
    reports = [*reports, report]
    return reports if len(reports) <= REPORTS_KEPT else [reports[0], *reports[-(REPORTS_KEPT - 1) :]]


def _open(signal: Signal, urgency: Urgency, now: datetime, policy: Policy) -> Case:
    """A new case for a signal whose urgency reaches a case-opening level."""
    track = policy.tracks[urgency.priority]
    return Case(
        case_id=case_id_for(signal.household_id, signal.event_id),
        household_id=signal.household_id,
        version=1,
        track=track.track,
        priority=urgency.priority,
        urgency=urgency.score,
        factors=urgency.factors,
        policy_version=urgency.policy_version,
        status=Colour.GREEN,
        tier=track.open_tier,
        area=signal.area,
        subject=signal.subject,
        category=signal.kind,
        opened_at=now,
        deadlines=deadlines_for(urgency.priority, now, policy),
        signal_ids=[signal.event_id],
        reports=[report_of(signal)],
        reports_total=1,
        subject_age=signal.subject_age,
    )


def reason_fields(reason: Text) -> dict:
    """How a reason is kept on the timeline: in Chinese for the audit trail, and as key and parameters for other readers."""
    return {"reason": reason.render(), "reason_key": reason.key, "reason_params": reason.params}


def reevaluate(case: Case, now: datetime, policy: Policy, actor: str, event_id: str | None = None) -> tuple[Case, list[CaseEvent]]:
    """Recompute colour and tier at now; emit status_changed and escalated events for what changed."""
    events = []
    colour = colour_of(case.deadlines, now, policy)
    active = earliest_unmet(case.deadlines)
    deadline_name = active[0] if active else None
    if colour != case.status:
        red_since = active[1].due_at if colour is Colour.RED else None
        change = {"from": case.status, "to": colour, "deadline": deadline_name}
        case, event = step(case, CaseEventType.STATUS_CHANGED, now, actor, event_id, change, status=colour, red_since=red_since)
        events.append(event)
    required = required_tier(case, colour, case.red_since, now, policy)
    # One rung at a time, each its own event and notice, even when several fall due together.
    for rung in TIER_ORDER[TIER_ORDER.index(case.tier) + 1 : TIER_ORDER.index(required) + 1]:
        why = Text(f"notification.reason.{Colour(colour).value}", {"deadline": deadline_name})
        change = {"from": case.tier, "to": rung, **reason_fields(why)}
        case, event = step(case, CaseEventType.ESCALATED, now, actor, event_id, change, tier=rung)
        events.append(event)
    return case, events


def _absorb(
    state: HouseholdState, case: Case, signal: Signal, own: list[Factor], urgency: Urgency, now: datetime, policy: Policy
) -> Outcome:
    """Attach a signal to the open case, raising its priority and tightening deadlines when it scores higher.

    A signal that would lower the score (an asset purchase, say) is shown on the case as an unapplied factor.
    """
    lowering = []
    if sum(f.points for f in own) < 0:
        lowering = [f.model_copy(update={"applied": False}) for f in own if f.points < 0]
    case, attached = step(
        case,
        CaseEventType.SIGNAL_ATTACHED,
        now,
        TRIAGE,
        signal.event_id,
        _signal_summary(signal, urgency),
        signal_ids=[*case.signal_ids, signal.event_id],
        reports=with_report(case.reports, report_of(signal)),
        reports_total=case.reports_total + 1,
        factors=case.factors + lowering,
    )
    events = [attached]
    if urgency.score > case.urgency:
        priority = case.priority
        if urgency.priority and PRIORITY_RANK[urgency.priority] > PRIORITY_RANK[priority]:
            priority = urgency.priority
        track = policy.tracks[priority]
        case, rescored = step(
            case,
            CaseEventType.RESCORED,
            now,
            TRIAGE,
            signal.event_id,
            {"score_from": case.urgency, "score_to": urgency.score, "priority_from": case.priority, "priority_to": priority},
            urgency=urgency.score,
            factors=urgency.factors,
            policy_version=urgency.policy_version,
            priority=priority,
            track=track.track,
            deadlines=tighten(case.deadlines, deadlines_for(priority, now, policy)),
            tier=higher_tier(case.tier, track.open_tier),
        )
        events.append(rescored)
    case, changes = reevaluate(case, now, policy, TRIAGE, signal.event_id)
    return Outcome(state.model_copy(update={"open_case": case}), events + changes)


def apply_signal(state: HouseholdState, signal: Signal, now: datetime, policy: Policy) -> Outcome:
    """Score a signal against its household: open a case, attach to the open one, or record it only."""
    if signal.event_id in state.seen_event_ids:
        return Outcome(state)
    own = own_factors(signal, policy)
    state = remember(state, signal, own, now, policy.compounding.window_s, policy.compounding.repeat_call_window_s)
    urgency = household_urgency(state, now, policy)
    if state.open_case is not None:
        return _absorb(state, state.open_case, signal, own, urgency, now, policy)
    # Only an event that itself signals need opens a case; context (enrolment, registry, assets) never does.
    if urgency.priority is None or sum(f.points for f in own) <= 0:
        data = {**_signal_summary(signal, urgency), "factors": [f.model_dump() for f in urgency.factors]}
        recorded = household_event(state, CaseEventType.SIGNAL_RECORDED, now, TRIAGE, signal.event_id, data)
        return Outcome(state, [recorded])
    case = _open(signal, urgency, now, policy)
    opened = CaseEvent(
        type=CaseEventType.OPENED,
        household_id=case.household_id,
        case_id=case.case_id,
        version=case.version,
        at=now,
        actor=TRIAGE,
        event_id=signal.event_id,
        data=_signal_summary(signal, urgency),
        case=case,
    )
    return Outcome(state.model_copy(update={"open_case": case}), [opened])


def apply_tick(state: HouseholdState, now: datetime, policy: Policy) -> Outcome:
    """Let time act on the household's open case: colour changes and escalations that are due."""
    if state.open_case is None or state.open_case.status == "closed":
        return Outcome(state)
    case, events = reevaluate(state.open_case, now, policy, DEADLINES)
    if not events:
        return Outcome(state)
    return Outcome(state.model_copy(update={"open_case": case}), events)


def find_case(state: HouseholdState, case_id: str | None) -> Case | None:
    """The open or recently closed case of the household with this id."""
    for case in [state.open_case, *state.closed_cases]:
        if case is not None and case.case_id == case_id:
            return case
    return None


def store_case(state: HouseholdState, case: Case) -> HouseholdState:
    """The household with the case kept as open or closed."""
    closed = [c for c in state.closed_cases if c.case_id != case.case_id]
    if case.stage is Stage.CLOSED:
        handled = set(case.signal_ids)
        recent = [r.model_copy(update={"handled": True}) if r.event_id in handled else r for r in state.recent]
        open_case = None if state.open_case and state.open_case.case_id == case.case_id else state.open_case
        return with_help(state, case).model_copy(
            update={"open_case": open_case, "closed_cases": [*closed, case][-CLOSED_CASES_KEPT:], "recent": recent}
        )
    return state.model_copy(update={"open_case": case, "closed_cases": closed})
