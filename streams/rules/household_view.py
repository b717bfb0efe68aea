"""The household as officers read it (seed 004's talking verification report), built from the case agent's state."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from schemas.case import CaseEvent, CaseEventType
from schemas.household import HouseholdView, MemberView
from streams.rules.household import HouseholdState, dependency_of
from streams.rules.policy import Policy
from streams.rules.programmes import evaluate_programmes

# The events that change a household: the one each signal yields, a move's arrival (a take_over's first event), and its visits.
HOUSEHOLD_EVENTS = frozenset(
    {
        CaseEventType.OPENED,
        CaseEventType.SIGNAL_ATTACHED,
        CaseEventType.SIGNAL_RECORDED,
        CaseEventType.TAKEN_OVER,
        CaseEventType.MERGED,
        CaseEventType.VISITS_SCHEDULED,
        CaseEventType.VISITS_HANDED_OVER,
        CaseEventType.VISIT_RECORDED,
        CaseEventType.VISIT_STATUS_CHANGED,
        CaseEventType.VISIT_ESCALATED,
        CaseEventType.VISIT_WITHDRAWN,
        CaseEventType.SATISFACTION_RECORDED,
        CaseEventType.WATCH_STARTED,
        CaseEventType.WATCH_CHANGED,
        CaseEventType.WATCH_ENDED,
    }
)


def household_view(state: HouseholdState, now: datetime, policy: Policy) -> HouseholdView:
    """The household's members (IDs masked), enrolment, sensitive factors, history and programme advice, at the state's version."""
    dependency = dependency_of(state)
    dependants, working = (dependency.dependants, dependency.working) if dependency else (0, 0)
    return HouseholdView(
        household_id=state.household_id,
        version=state.version,
        area=state.areas[-1] if state.areas else None,
        areas=state.areas,
        members=[MemberView(person_key=key, **member.model_dump()) for key, member in state.members.items()],
        programme=state.programme,
        assets=state.assets,
        reported=state.reported,
        dependants=dependants,
        working=working,
        dependency_ratio=round(dependants / working, 2) if dependants and working else None,
        signals_total=sum(state.signals_by_source.values()),
        signals_by_source=state.signals_by_source,
        last_signal_at=state.last_signal_at,
        caller_keys=state.caller_keys,
        programmes=evaluate_programmes(state, now, policy),
        visits=state.visits,
        watch=state.watch,
    )


class Change(NamedTuple):
    """What one signal or command did to a household: its case events, the state it left, and when."""

    events: list[CaseEvent]
    state: HouseholdState
    now: datetime


def with_household(events: list[CaseEvent], state: HouseholdState, now: datetime, policy: Policy) -> list[CaseEvent]:
    """The events with the household view on the first that changed the household (a signal's own, or a move's arrival)."""
    first = next((n for n, event in enumerate(events) if event.type in HOUSEHOLD_EVENTS), None)
    if first is None:
        return events
    view = household_view(state, now, policy)
    return [*events[:first], events[first].model_copy(update={"household": view}), *events[first + 1 :]]


def viewed_changes(changes: list[Change]) -> set[int]:
    """Which of a batch's changes carry the household view: each household's last one that changed the household.

    A view is the whole household and a later one supersedes it (the read model keeps the highest version), so a
    household with several signals in one batch, such as a registry's record of each member, is viewed and written once.
    """
    last = {}
    for n, change in enumerate(changes):
        if any(event.type in HOUSEHOLD_EVENTS for event in change.events):
            last[change.state.household_id] = n
    return set(last.values())


def aid_history(cases: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """How often, and with what, the household was helped before: delivered aid by type and the cash total, from its cases."""
    by_type: dict[str, int] = {}
    cash = 0.0
    for case in cases:
        outcome = case.get("outcome")
        if not outcome:
            continue
        by_type[outcome["aid_type"]] = by_type.get(outcome["aid_type"], 0) + 1
        cash += outcome.get("amount_yuan") or 0
    return {"times": sum(by_type.values()), "by_type": by_type, "cash_yuan": round(cash, 2)}
