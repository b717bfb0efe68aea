"""Visits and call-backs due at a household: their clocks, colours and rungs on the ladder, like a case's deadlines.

A visit is the household's, not a case's: a follow-up is still due after its case closed, a watched household has no case.
Its events are the household's (no case version), carrying the household view, so the read model lists the visits due.
"""

from datetime import datetime

from schemas.aftercare import VISIT_ENDED, Visit
from schemas.case import CaseEvent, CaseEventType
from schemas.messages import Text
from schemas.timing import TIER_ORDER, Colour, Tier
from streams.rules.cases import DEADLINES, Outcome, apply_tick, household_event, reason_fields
from streams.rules.deadlines import clock_transition_at, colour_of, ladder_tier, next_transition_at
from streams.rules.household import HouseholdState
from streams.rules.policy import Policy

VISITS_DONE_KEPT = 10
VISIT_OPEN_TIER = Tier.VILLAGE  # the village assistant visits; yellow brings in the town, red the city


def is_due(visit: Visit) -> bool:
    """Whether the visit is still to be made."""
    return visit.status not in VISIT_ENDED


def with_visits(state: HouseholdState, visits: list[Visit]) -> HouseholdState:
    """The household with these visits: those due by due time, then the latest done; one version more for its view."""
    due = sorted((v for v in visits if is_due(v)), key=lambda v: v.deadline.due_at)
    done = sorted((v for v in visits if not is_due(v)), key=lambda v: v.done_at)[-VISITS_DONE_KEPT:]
    return state.model_copy(update={"visits": [*due, *done], "version": state.version + 1})


def visit_event(
    state: HouseholdState, kind: CaseEventType, now: datetime, actor: str, event_id: str | None, visit: Visit, **data
) -> CaseEvent:
    """A household event about one visit: which, of what kind, for which case, and what changed."""
    about = {"visit_id": visit.visit_id, "kind": visit.kind, "case_id": visit.case_id, "due_at": visit.deadline.due_at}
    return household_event(state, kind, now, actor, event_id, {**about, **data})


def reevaluate_visit(state: HouseholdState, visit: Visit, now: datetime, policy: Policy, actor: str) -> tuple[Visit, list[CaseEvent]]:
    """The visit's colour and rung at now, with a visit_status_changed and a visit_escalated (one a rung) for each change."""
    events = []
    colour = colour_of({visit.kind: visit.deadline}, now, policy)
    if colour != visit.status:
        red_since = visit.deadline.due_at if colour is Colour.RED else None
        events.append(
            visit_event(state, CaseEventType.VISIT_STATUS_CHANGED, now, actor, None, visit, **{"from": visit.status, "to": colour})
        )
        visit = visit.model_copy(update={"status": colour, "red_since": red_since})
    required = ladder_tier(VISIT_OPEN_TIER, visit.tier, colour, visit.red_since, now, policy)
    for rung in TIER_ORDER[TIER_ORDER.index(visit.tier) + 1 : TIER_ORDER.index(required) + 1]:
        why = Text(f"notification.reason.{Colour(colour).value}", {"deadline": visit.kind})
        # Where the household lives, so the rung's duty desk of that place is told (streams.rules.notifications).
        where = {"area": state.areas[-1].model_dump()} if state.areas else {}
        change = {"from": visit.tier, "to": rung, "status": colour, **where, **reason_fields(why)}
        events.append(visit_event(state, CaseEventType.VISIT_ESCALATED, now, actor, None, visit, **change))
        visit = visit.model_copy(update={"tier": rung})
    return visit, events


def tick_visits(state: HouseholdState, now: datetime, policy: Policy, actor: str) -> tuple[HouseholdState, list[CaseEvent]]:
    """Let time act on the household's visits due: colour changes and escalations."""
    visits, events = [], []
    for visit in state.visits:
        if is_due(visit):
            visit, changes = reevaluate_visit(state, visit, now, policy, actor)
            events += changes
        visits.append(visit)
    return (with_visits(state, visits), events) if events else (state, [])


def wake_at(state: HouseholdState, policy: Policy) -> datetime | None:
    """When time alone next changes the household: its open case's colour or tier, or a visit's."""
    times = [next_transition_at(state.open_case, policy)] if state.open_case else []
    times += [clock_transition_at(v.deadline, v.status, v.tier, v.red_since, policy) for v in state.visits if is_due(v)]
    times = [t for t in times if t is not None]
    return min(times) if times else None


def tick_household(state: HouseholdState, now: datetime, policy: Policy) -> Outcome:
    """Let time act on the household: its open case's deadlines, then its visits due."""
    outcome = apply_tick(state, now, policy)
    state, events = tick_visits(outcome.state, now, policy, DEADLINES)
    return Outcome(state, outcome.events + events) if events else outcome
