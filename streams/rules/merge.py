"""One household however it is learned: handing a household's cases and facts over to another, taking them over, forwarding
what still arrives for a household that moved, and two open cases becoming one. Pure functions, no I/O.

A hand_over (from intake, keyed by the household that gives up) moves everything to the target through Kafka: the old
household's partition records the move (`moved_to`) and sends a take_over, keyed by the target, carrying its state; the
target's partition merges it. Both are the single writers of their households, so no lock is needed, and whatever still
arrives for the old household afterwards, on either topic, is forwarded under its own id, which the target drops if seen.

Both halves of a move ride on aid.signals, not aid.case-commands: in the household's partition they then come after
every signal intake routed there before, and a replay after a crash reads them in the same order. On two topics a
replay may take the move before a signal it followed the first time (the signal then goes on to the target and opens a
case of another id there, while the read model keeps the first one): the outcome would depend on the crash.

Only the identified case's `handed_over` event names the command that caused it (so GET /v1/events/{identification id}
answers with it); every other event of a move names none and keeps the command id in its data: the events of one move
lie in several cases and partitions, which a rebuild may read in another order than they were written, and an event
result written by several of them would depend on that order.
"""

from datetime import datetime
from typing import Any

from schemas.case import Case, CaseCommand, CaseEventType, OrderedCommand, Signal, Stage, SubjectView
from schemas.messages import Text
from schemas.timing import Colour, Deadline
from streams.rules.cases import CLOSED_CASES_KEPT, PRIORITY_RANK, REPORTS_KEPT, Outcome, find_case, household_event, reason_fields, step
from streams.rules.deadlines import higher_tier
from streams.rules.household import SEEN_EVENT_IDS_KEPT, HouseholdState, Member, merge_households, merge_members
from streams.rules.normalise import is_unidentified

COLOUR_RANK = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}


def signal_or_command(document: Any) -> Signal | OrderedCommand:
    """A record of aid.signals: a signal, or an ordered command (which has a type; a signal has none)."""
    if isinstance(document, dict) and "type" in document:
        return OrderedCommand.model_validate(document)
    return Signal.model_validate(document)


def take_over_id(hand_over_id: str) -> str:
    """The id of the take_over a hand_over sends: derived, so a replayed hand_over sends the same one (dropped as seen)."""
    return f"{hand_over_id}:take-over"


def forwarding(state: HouseholdState, message: Signal | CaseCommand) -> Outcome | None:
    """For a household that moved: the message forwarded to where it went (same id, household rewritten), or dropped;
    None when the message is for this household to apply (it has not moved, or it is a hand_over, which answers itself)."""
    if state.moved_to is None:
        return None
    if isinstance(message, Signal):
        return Outcome(state, signals=[message.model_copy(update={"household_id": state.moved_to})])
    if message.type == "hand_over":
        return None
    if message.type == "deadline_due":  # the target keeps the clocks of what it took over
        return Outcome(state)
    return Outcome(state, commands=[message.model_copy(update={"household_id": state.moved_to})])


def is_empty(state: HouseholdState) -> bool:
    """Whether a household holds nothing worth moving (a person's own household before any signal about them)."""
    return not (
        state.members or state.recent or state.seen_event_ids or state.open_case or state.closed_cases or state.visits or state.watch
    )


def identified(state: HouseholdState, person_key: str, age: int) -> HouseholdState:
    """The household with its unidentified person (known by the call's key) renamed to the identified person, aged from the ID."""
    members: dict[str, Member] = {}
    for key, member in state.members.items():
        if is_unidentified(key):
            member = member.model_copy(update={"age": age})
            key = person_key
        members[key] = merge_members(members[key], member) if key in members else member
    recent = [r.model_copy(update={"person_key": person_key}) if is_unidentified(r.person_key) else r for r in state.recent]
    return state.model_copy(update={"members": members, "recent": recent})


def verified_subject(case: Case, subject: SubjectView) -> SubjectView:
    """The identified subject, keeping the name the case knew when the identification gave none."""
    return subject if subject.name else subject.model_copy(update={"name": case.subject.name})


def hand_over(state: HouseholdState, command: CaseCommand, now: datetime) -> Outcome:
    """Give the household's cases and facts up to the target household: each case steps `handed_over` (taking the
    verified subject when an officer identified the person), the household keeps only where it went, and a take_over
    carries its state to the target. A repeat is dropped; a second, different hand_over is refused on the timeline."""
    if state.moved_to is not None:
        if command.command_id in state.seen_event_ids:
            return Outcome(state)
        return _refused(state, command, now, Text("refusal.household_moved", {"household_id": state.moved_to}))
    if command.subject is not None:
        case = find_case(state, command.case_id)
        if case is None:
            return _refused(state, command, now, Text("refusal.case_unknown", {"case_id": command.case_id}))
        if case.identity_verified:
            return _refused(state, command, now, Text("refusal.already_verified", {"case_id": case.case_id}))
        state = identified(state, command.person_key, command.subject_age)
    target = command.target_household_id
    events = []
    moved_cases = {}
    for case in (c for c in (*state.closed_cases, state.open_case) if c):
        identifies = command.subject and not case.identity_verified
        verified = {"subject": verified_subject(case, command.subject), "subject_age": command.subject_age} if identifies else {}
        data = {"to": target, "identified": command.subject is not None, "command_id": command.command_id}
        answers = command.command_id if command.subject is not None and case.case_id == command.case_id else None
        moved_cases[case.case_id], event = step(case, CaseEventType.HANDED_OVER, now, command.actor, answers, data, **verified)
        events.append(event)
    moved = state.model_copy(
        update={
            "open_case": moved_cases[state.open_case.case_id] if state.open_case else None,
            "closed_cases": [moved_cases[c.case_id] for c in state.closed_cases],
            "wake_at": None,
        }
    )
    gone = HouseholdState(household_id=state.household_id, partition=state.partition, moved_to=target, seen_event_ids=[command.command_id])
    if is_empty(state):
        return Outcome(gone)
    if state.visits or state.watch:  # the target visits now: this household's view must leave the lists of visits due
        gone = gone.model_copy(update={"version": state.version + 1})
        events.append(household_event(gone, CaseEventType.VISITS_HANDED_OVER, now, command.actor, None, {"to": target}))
    take_over = OrderedCommand(
        type="take_over",
        household_id=target,
        issued_at=now,
        actor=command.actor,
        actor_name=command.actor_name,
        command_id=take_over_id(command.command_id),
        moved=moved.model_dump(mode="json"),
    )
    return Outcome(gone, events, commands=[take_over])


def _refused(state: HouseholdState, command: CaseCommand, now: datetime, reason: Text) -> Outcome:
    """A hand_over that cannot be applied, recorded as a household event so its result says why."""
    data = {"command": command.type, "case_id": command.case_id, **reason_fields(reason)}
    return Outcome(state, [household_event(state, CaseEventType.COMMAND_REJECTED, now, command.actor, command.command_id, data)])


def take_over(state: HouseholdState, command: CaseCommand, now: datetime) -> Outcome:
    """Merge a household handed over to this one: its facts joined in, its closed cases kept here, its open case adopted
    (same id, version going on) or, when this household has one too, the older case absorbing the newer. A take_over
    already seen is dropped."""
    if command.command_id in state.seen_event_ids:
        return Outcome(state)
    moved = HouseholdState.model_validate(command.moved)
    merged = merge_households(state, moved)
    merged = merged.model_copy(update={"seen_event_ids": [*merged.seen_event_ids, command.command_id][-SEEN_EVENT_IDS_KEPT:]})
    events = []
    here = state.household_id
    came = {"from": moved.household_id, "command_id": command.command_id}
    closed = list(state.closed_cases)
    for case in moved.closed_cases:
        case, event = step(case, CaseEventType.TAKEN_OVER, now, command.actor, None, came, household_id=here)
        closed.append(case)
        events.append(event)
    open_case = state.open_case
    incoming = moved.open_case
    if incoming is not None and open_case is None:
        open_case, event = step(incoming, CaseEventType.TAKEN_OVER, now, command.actor, None, came, household_id=here)
        events.append(event)
    elif incoming is not None:
        older, newer = sorted((open_case, incoming), key=lambda c: (c.opened_at, c.case_id))
        open_case, absorbed, merge_events = merge_cases(older, newer, here, now, command.actor, command.command_id)
        closed.append(absorbed)
        events += merge_events
    closed = sorted(closed, key=lambda c: (c.closed_at or now, c.case_id))[-CLOSED_CASES_KEPT:]
    return Outcome(merged.model_copy(update={"open_case": open_case, "closed_cases": closed}), events)


def merge_deadlines(kept: dict[str, Deadline], other: dict[str, Deadline]) -> dict[str, Deadline]:
    """Two cases' deadlines as one: every clock of either, one both run at the earlier due time (tightened, never
    loosened); what the surviving case has already met stays met."""
    merged = {**other, **kept}
    for name in kept.keys() & other.keys():
        mine, theirs = kept[name], other[name]
        if mine.met_at is None and theirs.met_at is None and theirs.due_at < mine.due_at:
            merged[name] = theirs
    return merged


def _united(first: list, second: list, key) -> list:
    """Two lists as one, in order, without repeats by key."""
    seen = {key(item) for item in first}
    return [*first, *(item for item in second if key(item) not in seen)]


def merged_case(survivor: Case, absorbed: Case, household_id: str) -> dict:
    """What changes on the surviving case when it absorbs another: priority, urgency, track, tier and colour the more
    urgent of the two, each deadline the earlier, reports, signals and referrals of both without repeats."""
    stronger = max((survivor, absorbed), key=lambda c: (c.urgency, c is survivor))
    priority = max(survivor.priority, absorbed.priority, key=PRIORITY_RANK.__getitem__)
    worse = max((survivor, absorbed), key=lambda c: (COLOUR_RANK[Colour(c.status)], c is survivor))
    reds = [c.red_since for c in (survivor, absorbed) if c.red_since is not None]
    reports = sorted(_united(survivor.reports, absorbed.reports, lambda r: r.event_id), key=lambda r: (r.received_at, r.event_id))
    subject: SubjectView = survivor.subject if survivor.identity_verified or not absorbed.identity_verified else absorbed.subject
    return {
        "household_id": household_id,
        "priority": priority,
        "track": "emergency" if "emergency" in (survivor.track, absorbed.track) else "standard",
        "urgency": stronger.urgency,
        "factors": stronger.factors,
        "policy_version": stronger.policy_version,
        "tier": higher_tier(survivor.tier, absorbed.tier),
        "status": worse.status,
        "red_since": min(reds) if reds else None,
        "deadlines": merge_deadlines(survivor.deadlines, absorbed.deadlines),
        "signal_ids": _united(survivor.signal_ids, absorbed.signal_ids, str),
        # Their clocks came along in the deadlines: the referrals go with them, so their partners can still answer them.
        "referrals": _united(survivor.referrals, absorbed.referrals, lambda r: r.referral_id),
        "reports": reports if len(reports) <= REPORTS_KEPT else [reports[0], *reports[-(REPORTS_KEPT - 1) :]],
        "reports_total": survivor.reports_total + absorbed.reports_total,
        "subject": subject,
    }


def merge_cases(
    survivor: Case, absorbed: Case, household_id: str, now: datetime, actor: str, command_id: str | None
) -> tuple[Case, Case, list]:
    """One case remains: the absorbed one closes with merged_into, then the survivor steps `merged` naming it. Colours
    are the worse of the two, never re-evaluated backwards: the next deadline tick looks again at its own time."""
    into = {"into": survivor.case_id, "command_id": command_id}
    absorbed_from = absorbed.household_id
    joined = merged_case(survivor, absorbed, household_id)
    absorbed, closing = step(
        absorbed,
        CaseEventType.MERGED_INTO,
        now,
        actor,
        None,
        into,
        household_id=household_id,
        stage=Stage.CLOSED,
        status="closed",
        closed_at=now,
        red_since=None,
        merged_into=survivor.case_id,
    )
    change = {
        "absorbed": absorbed.case_id,
        "absorbed_from": absorbed_from,
        "priority_from": survivor.priority,
        "priority_to": joined["priority"],
        "score_from": survivor.urgency,
        "score_to": joined["urgency"],
        "command_id": command_id,
    }
    survivor, merging = step(survivor, CaseEventType.MERGED, now, actor, None, change, **joined)
    return survivor, absorbed, [closing, merging]


def moving(command: CaseCommand) -> bool:
    """Whether a command is one of the two halves of a move."""
    return command.type in ("hand_over", "take_over")


def apply_move(state: HouseholdState, command: CaseCommand, now: datetime) -> Outcome:
    """Apply a hand_over or a take_over; the events it causes name the officer behind an identification."""
    outcome = hand_over(state, command, now) if command.type == "hand_over" else take_over(state, command, now)
    if command.actor_name is None:
        return outcome
    events = [event.model_copy(update={"actor_name": command.actor_name}) for event in outcome.events]
    return Outcome(outcome.state, events, signals=outcome.signals, commands=outcome.commands)
