"""After aid (seeds 001, 004): follow-up visits (回访) after delivery, the satisfaction call-back (好差评) after closing,
recording visits (follow-ups and watch visits), and the town's supervision (督办) of a case rated dissatisfied.

What a visitor finds needing more help goes back in as a signal about the household, so it opens a case (or joins the
open one) through the same scoring as a call.
"""

from datetime import datetime

from schemas.aftercare import Rating, Visit, VisitKind
from schemas.case import Case, CaseCommand, CaseEvent, CaseEventType, Signal, Stage, SubjectView
from schemas.intake import HouseholdFlags
from schemas.messages import Text
from schemas.timing import Colour, Tier
from streams.rules.cases import Outcome, find_case, household_event, reason_fields, reevaluate, step, store_case
from streams.rules.deadlines import deadline_of, higher_tier
from streams.rules.household import HouseholdState, Member
from streams.rules.policy import Policy
from streams.rules.visits import is_due, visit_event, with_visits
from streams.rules.watch import after_watch_visit

VISIT_COMMANDS = frozenset({"record_visit", "record_satisfaction"})
SUPERVISION = "supervision"
MORE_HELP = "visit.more_help"
ID_LETTERS = {VisitKind.FOLLOW_UP: "F", VisitKind.CALLBACK: "B"}


def _numbered(state: HouseholdState, case: Case, kind: VisitKind, deadlines: list) -> list[Visit]:
    """The case's next visits of a kind, numbered on from those it already has (F1-<case>, F2-<case>; B1-<case>)."""
    had = sum(1 for visit in state.visits if visit.case_id == case.case_id and visit.kind is kind)
    letter = ID_LETTERS[kind]
    return [
        Visit(visit_id=f"{letter}{had + n}-{case.case_id}", kind=kind, case_id=case.case_id, deadline=deadline)
        for n, deadline in enumerate(deadlines, start=1)
    ]


def visits_after(case: Case, command: str, now: datetime, policy: Policy, state: HouseholdState) -> list[Visit]:
    """The visits a step of the case makes due: delivering aid the track's follow-ups, closing the call-back."""
    if command == "deliver":
        spans = getattr(policy.follow_up, case.track)
        return _numbered(state, case, VisitKind.FOLLOW_UP, [deadline_of(now, span, policy) for span in spans])
    if command == "close":
        return _numbered(state, case, VisitKind.CALLBACK, [deadline_of(now, policy.satisfaction.callback, policy)])
    return []


def _withdrawn_callbacks(state: HouseholdState, case: Case, command: CaseCommand, now: datetime) -> list[Visit]:
    """The case's call-backs still due, withdrawn: a call-back asks about a closing, and reopening undoes it (the next
    closing makes a new one); closing again finds one only in a household stored before reopening withdrew them."""
    due = [v for v in state.visits if v.kind is VisitKind.CALLBACK and v.case_id == case.case_id and is_due(v)]
    return [v.model_copy(update={"status": "withdrawn", "done_at": now, "done_by": command.actor_name}) for v in due]


def scheduled_after(
    state: HouseholdState, case: Case, command: CaseCommand, now: datetime, policy: Policy
) -> tuple[HouseholdState, list[CaseEvent]]:
    """The household with the visits an officer's step on the case makes due and those it withdraws, an event for each."""
    visits = visits_after(case, command.type, now, policy, state)
    withdrawn = _withdrawn_callbacks(state, case, command, now) if command.type in ("reopen", "close") else []
    if not visits and not withdrawn:
        return state, []
    ended = {v.visit_id for v in withdrawn}
    state = with_visits(state, [*(v for v in state.visits if v.visit_id not in ended), *withdrawn, *visits])
    made = [(CaseEventType.VISIT_WITHDRAWN, v) for v in withdrawn] + [(CaseEventType.VISITS_SCHEDULED, v) for v in visits]
    return state, [visit_event(state, kind, now, command.actor, command.command_id, v) for kind, v in made]


def _visit_to_record(state: HouseholdState, command: CaseCommand) -> Visit | Text:
    """The visit the command records: the one named, or the earliest due of the case's follow-ups (or the household's watch
    visits, with no case); or why there is none to record."""
    if command.visit_id:
        visit = next((v for v in state.visits if v.visit_id == command.visit_id), None)
        if visit is None or (command.case_id and visit.case_id != command.case_id):
            return Text("followups.refusal.visit_unknown", {"visit_id": command.visit_id})
        if visit.kind is VisitKind.CALLBACK:
            return Text("followups.refusal.callback_is_a_call", {"visit_id": visit.visit_id})
        if not is_due(visit):
            return Text("followups.refusal.visit_done", {"visit_id": visit.visit_id})
        return visit
    kind = VisitKind.FOLLOW_UP if command.case_id else VisitKind.WATCH
    due = [v for v in state.visits if is_due(v) and v.kind is kind and v.case_id == command.case_id]
    if not due:
        return Text("followups.refusal.no_visit_due", {"deadline": kind.value})
    return due[0]


def _visited(state: HouseholdState, case: Case | None) -> tuple[str, Member] | None:
    """Whom a visit was about: the case's subject, else the household's eldest living member (the one watched for)."""
    living = [(key, member) for key, member in state.members.items() if not member.deceased]
    if case and case.subject.id_masked:
        subject = [(key, member) for key, member in living if member.id_masked == case.subject.id_masked]
        living = subject or living
    return max(living, key=lambda pair: pair[1].age) if living else None


def help_signal(state: HouseholdState, visit: Visit, command: CaseCommand, now: datetime) -> Signal | None:
    """The signal of a visitor who found the household needing more help, or None when nobody there is known."""
    case = find_case(state, visit.case_id)
    visited = _visited(state, case)
    area = case.area if case else (state.areas[-1] if state.areas else None)
    if visited is None or area is None:
        return None
    person_key, member = visited
    return Signal(
        # One signal a visit: a replayed command sends the same, which the household has already seen.
        event_id=f"{visit.visit_id}:more-help",
        source="visit",
        kind=MORE_HELP,
        household_id=state.household_id,
        person_key=person_key,
        reporter=command.actor_name,
        subject=SubjectView(id_masked=member.id_masked or None, name=member.name or None),
        subject_age=member.age,
        area=area,
        flags=HouseholdFlags(),
        details={"description": command.text or "", "visit_id": visit.visit_id, "visit_kind": visit.kind.value},
        occurred_at=now,
        reported_at=now,
        received_at=now,
    )


def _done(visit: Visit, command: CaseCommand, now: datetime, **changes) -> Visit:
    """The visit as made now by the command's officer, with what they found (or the person's words)."""
    return visit.model_copy(update={"status": "done", "done_at": now, "done_by": command.actor_name, "found": command.text, **changes})


def _replaced(state: HouseholdState, visit: Visit) -> HouseholdState:
    """The household with one of its visits replaced by its new version."""
    return with_visits(state, [visit if v.visit_id == visit.visit_id else v for v in state.visits])


def _rejected(state: HouseholdState, command: CaseCommand, now: datetime, reason: Text) -> Outcome:
    """The command refused, on the household's timeline (visits are the household's), with the reason."""
    data = {"command": command.type, "case_id": command.case_id, "visit_id": command.visit_id, **reason_fields(reason)}
    return Outcome(state, [household_event(state, CaseEventType.COMMAND_REJECTED, now, command.actor, command.command_id, data)])


def record_visit(state: HouseholdState, command: CaseCommand, now: datetime, policy: Policy) -> Outcome:
    """A follow-up or watch visit made: what was found and whether more help is needed (a new signal); after a watch
    visit, the next one falls due."""
    visit = _visit_to_record(state, command)
    if isinstance(visit, Text):
        return _rejected(state, command, now, visit)
    if not command.text:
        return _rejected(state, command, now, Text("followups.refusal.visit_needs_found"))
    more_help = bool(command.more_help)
    done = _done(visit, command, now, more_help=more_help)
    signal = help_signal(state, done, command, now) if more_help else None
    if more_help and signal is None:
        return _rejected(state, command, now, Text("followups.refusal.nobody_known"))
    state = _replaced(state, done)
    on_time = now <= visit.deadline.due_at
    data = {"done_at": now, "on_time": on_time, "found": command.text, "more_help": more_help}
    events = [visit_event(state, CaseEventType.VISIT_RECORDED, now, command.actor, command.command_id, done, **data)]
    if done.kind is VisitKind.WATCH:
        state, scheduled = after_watch_visit(state, done, now, policy)
        events += scheduled
    return Outcome(state, events, [signal] if signal else [])


def case_visit_refusal(case: Case | None, command: CaseCommand) -> Text | None:
    """Why a visit cannot be recorded on the case, as far as the case alone tells (the API's answer before sending)."""
    if case is None:
        return Text("refusal.case_unknown", {"case_id": command.case_id})
    if case.merged_into:
        return Text("refusal.case_merged", {"case_id": case.case_id, "into": case.merged_into})
    return None


def satisfaction_refusal(case: Case | None, command: CaseCommand) -> Text | None:
    """Why a call-back's rating cannot be recorded on the case, as far as the case alone tells; None when it can."""
    if reason := case_visit_refusal(case, command):
        return reason
    if case.stage is not Stage.CLOSED:
        return Text("followups.refusal.callback_before_close", {"case_id": case.case_id})
    if command.rating is None:
        return Text("followups.refusal.callback_needs_rating")
    return None


def _supervise(state: HouseholdState, case: Case, command: CaseCommand, now: datetime, policy: Policy) -> tuple[Case, list[CaseEvent]]:
    """A dissatisfied rating: the case reopened for the town supervisor with the supervision deadline, or, when the household
    has another case open, that case supervised instead (one open case per household), naming the dissatisfied one."""
    why = {"reason": "dissatisfied", "text": command.text, "supervised": True}
    deadline = deadline_of(now, policy.satisfaction.supervision, policy)
    open_case = state.open_case
    if open_case is None:
        case, event = step(
            case,
            CaseEventType.REOPENED,
            now,
            command.actor,
            command.command_id,
            why,
            stage=Stage.OPENED,
            status=Colour.GREEN,
            red_since=None,
            closed_at=None,
            deadlines={SUPERVISION: deadline},
            supervised=True,
            tier=higher_tier(case.tier, Tier.TOWN),
        )
    else:
        case, event = step(
            open_case,
            CaseEventType.SUPERVISED,
            now,
            command.actor,
            command.command_id,
            {**why, "dissatisfied_case_id": case.case_id},
            deadlines={**open_case.deadlines, SUPERVISION: deadline},
            supervised=True,
            tier=higher_tier(open_case.tier, Tier.TOWN),
        )
    case, changes = reevaluate(case, now, policy, command.actor, command.command_id)
    return case, [event, *changes]


def record_satisfaction(state: HouseholdState, command: CaseCommand, now: datetime, policy: Policy) -> Outcome:
    """The call-back's rating and the person's words on the closed case; dissatisfied puts the town's supervisor on it."""
    case = find_case(state, command.case_id)
    callback = next((v for v in state.visits if v.kind is VisitKind.CALLBACK and v.case_id == command.case_id and is_due(v)), None)
    reason = satisfaction_refusal(case, command)
    if reason is None and callback is None:
        reason = Text("followups.refusal.no_callback_due", {"case_id": command.case_id})
    if reason:
        return _rejected(state, command, now, reason)
    done = _done(callback, command, now, rating=command.rating)
    state = _replaced(state, done)
    data = {"visit_id": done.visit_id, "rating": command.rating, "text": command.text, "on_time": now <= callback.deadline.due_at}
    case, recorded = step(case, CaseEventType.SATISFACTION_RECORDED, now, command.actor, command.command_id, data, rating=command.rating)
    state, events = store_case(state, case), [recorded]
    if command.rating is Rating.DISSATISFIED:
        supervised, more = _supervise(state, case, command, now, policy)
        state, events = store_case(state, supervised), events + more
    return Outcome(state, events)


def apply_visit_command(state: HouseholdState, command: CaseCommand, now: datetime, policy: Policy) -> Outcome:
    """Record a visit or a call-back; every event it causes names the person who made it."""
    record = record_visit if command.type == "record_visit" else record_satisfaction
    outcome = record(state, command, now, policy)
    events = [event.model_copy(update={"actor_name": command.actor_name}) for event in outcome.events]
    return Outcome(outcome.state, events, outcome.signals)
