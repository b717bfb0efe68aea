"""Watched households (分级分类探访, seed 004): who is on the list and why, and when their next visit is due.

A household is watched for what the records say of it — an elderly person living alone, a member with a severe
disability, 特困 enrolment — and for what an officer says (a child without a de-facto carer, or any category the records
do not show yet). It leaves the list when the last of its categories ends: a death, a move, a department record.
"""

from datetime import datetime

from schemas.aftercare import Visit, VisitKind, Watch, WatchCategory
from schemas.case import CaseCommand, CaseEventType
from schemas.messages import Text
from schemas.timing import Deadline
from streams.rules.cases import Outcome, household_event, reason_fields
from streams.rules.deadlines import span_end
from streams.rules.household import ELDERLY_FROM, HouseholdState
from streams.rules.policy import Policy
from streams.rules.visits import is_due, visit_event, with_visits

WATCH_COMMANDS = frozenset({"watch", "unwatch"})
WATCH = "system:watch"


def known_categories(state: HouseholdState) -> set[WatchCategory]:
    """The categories the household's records put it in."""
    living = [member for member in state.members.values() if not member.deceased]
    if state.moved_to or (state.members and not living):
        return set()
    categories = set()
    registered = [member for member in living if member.registered]
    alone_on_record = len(living) == 1 and registered and registered[0].age >= ELDERLY_FROM
    # A caller's word that an old person lives alone stands until the registry shows more living members.
    reported_alone = state.reported.elderly_alone and len(registered) <= 1 and all(m.age >= ELDERLY_FROM for m in living)
    if alone_on_record or reported_alone:
        categories.add(WatchCategory.ELDERLY_ALONE)
    if any(member.severe_disability for member in living):
        categories.add(WatchCategory.SEVERE_DISABILITY)
    if state.programme == "extreme_poverty":
        categories.add(WatchCategory.EXTREME_POVERTY)
    return categories


def living_here(state: HouseholdState) -> bool:
    """Whether anyone may still live in the household: it has not moved, and not every member known has died."""
    return not state.moved_to and (not state.members or any(not member.deceased for member in state.members.values()))


def categories_of(state: HouseholdState) -> list[WatchCategory]:
    """Every category the household is watched for now: on record, and asked for by an officer while anyone lives there."""
    if not living_here(state):
        return []
    return sorted(known_categories(state) | set(state.watch_requested))


def next_visit_due(categories: list[WatchCategory], after: datetime, policy: Policy) -> datetime:
    """When the next visit falls due: the most frequent cadence of the categories, counted from after."""
    return min(span_end(after, policy.watch.cadence[category], policy) for category in categories)


def _scheduled(state: HouseholdState, after: datetime, now: datetime, policy: Policy, actor: str, event_id: str | None):
    """The household with its next watch visit due, counted from after, and the visits_scheduled event."""
    number = state.watch_visits + 1
    deadline = Deadline(started_at=after, due_at=next_visit_due(state.watch.categories, after, policy))
    visit = Visit(visit_id=f"W{number}-{state.household_id}", kind=VisitKind.WATCH, deadline=deadline)
    state = with_visits(state.model_copy(update={"watch_visits": number}), [*state.visits, visit])
    return state, visit_event(state, CaseEventType.VISITS_SCHEDULED, now, actor, event_id, visit)


def refresh_watch(state: HouseholdState, now: datetime, policy: Policy, actor: str, event_id: str | None) -> tuple[HouseholdState, list]:
    """Put the household on the watch list, change why, or take it off, as its categories now say; the events of it."""
    categories = categories_of(state)
    watch = state.watch
    if (watch.categories if watch else []) == categories:
        return state, []
    if not categories:
        left = [visit for visit in state.visits if visit.kind is not VisitKind.WATCH or not is_due(visit)]
        ended = household_event(state, CaseEventType.WATCH_ENDED, now, actor, event_id, {"categories": watch.categories})
        return with_visits(state.model_copy(update={"watch": None}), left), [ended]
    if watch is None:
        state = state.model_copy(update={"watch": Watch(categories=categories, since=now)})
        started = household_event(state, CaseEventType.WATCH_STARTED, now, actor, event_id, {"categories": categories})
        state, scheduled = _scheduled(state, now, now, policy, actor, event_id)
        return state, [started, scheduled]
    # Why changed, not whether: the visit already due keeps its time; the new cadence counts from the next visit.
    state = state.model_copy(update={"watch": watch.model_copy(update={"categories": categories})})
    changed = household_event(state, CaseEventType.WATCH_CHANGED, now, actor, event_id, {"categories": categories, "since": watch.since})
    return with_visits(state, state.visits), [changed]


def with_watch(outcome: Outcome, now: datetime, policy: Policy, actor: str, event_id: str | None) -> Outcome:
    """The outcome of a signal or a move with the household's watch brought up to date."""
    state, events = refresh_watch(outcome.state, now, policy, actor, event_id)
    return Outcome(state, outcome.events + events, outcome.signals, outcome.commands) if events else outcome


def after_watch_visit(state: HouseholdState, visit: Visit, now: datetime, policy: Policy) -> tuple[HouseholdState, list]:
    """After a watch visit was made, the next one, counted from the visit, if the household is still watched."""
    if state.watch is None:
        return state, []
    state, scheduled = _scheduled(state, visit.done_at or now, now, policy, visit.done_by or WATCH, None)
    return state, [scheduled]


def watch_refusal(state: HouseholdState, command: CaseCommand) -> Text | None:
    """Why an officer's watch or unwatch cannot apply, or None."""
    if not command.categories:
        return Text("refusal.watch_needs_categories")
    asked = set(command.categories)
    if command.type == "unwatch" and (on_record := sorted(asked & known_categories(state))):
        return Text("refusal.watch_on_record", {"categories": on_record})
    if command.type == "watch" and not living_here(state):
        return Text("refusal.watch_nobody_lives_here")
    requested = set(state.watch_requested)
    if (command.type == "watch" and asked <= requested | known_categories(state)) or (command.type == "unwatch" and not asked & requested):
        return Text("refusal.watch_unchanged", {"categories": sorted(asked)})
    return None


def apply_watch_command(state: HouseholdState, command: CaseCommand, now: datetime, policy: Policy) -> Outcome:
    """An officer puts the household on the watch list for categories, or ends the categories an officer asked for."""
    if reason := watch_refusal(state, command):
        data = {"command": command.type, "categories": command.categories, **reason_fields(reason)}
        events = [household_event(state, CaseEventType.COMMAND_REJECTED, now, command.actor, command.command_id, data)]
    else:
        asked, requested = set(command.categories), set(state.watch_requested)
        requested = requested | asked if command.type == "watch" else requested - asked
        state, events = refresh_watch(
            state.model_copy(update={"watch_requested": sorted(requested)}), now, policy, command.actor, command.command_id
        )
    return Outcome(state, [event.model_copy(update={"actor_name": command.actor_name}) for event in events])
