"""Whether a subject nobody could identify may be the person an open case nearby is already about (可能是同一人).

Advice for the officer, who confirms (the cases merge) or dismisses; nothing here merges anything.
"""

from dataclasses import dataclass
from datetime import datetime

from schemas.case import Case, CaseCommand, CaseEventType, PossibleMatch
from schemas.ids import sex_from_id
from schemas.messages import Text
from schemas.programmes import Fact
from streams.rules.cases import Outcome, household_event, reason_fields, step
from streams.rules.household import HouseholdState
from streams.rules.policy import MatchingPolicy

MATCH_COMMANDS = frozenset({"possible_match", "dismiss_match"})


@dataclass(frozen=True)
class Sighting:
    """What a case says of its subject, as far as matching needs it."""

    case_id: str
    household_id: str
    name: str
    sex: str | None
    age: int | None
    town: str
    village: str
    opened_at: datetime


def similar_names(a: str, b: str) -> bool:
    """Two Chinese names may be one person's: equal, one within the other (小明 in 王小明), or surname and a given-name character shared."""
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    return a[0] == b[0] and bool(set(a[1:]) & set(b[1:]))


def why_same(new: Sighting, other: Sighting, policy: MatchingPolicy) -> list[Fact]:
    """The reasons an unidentified subject may be another case's subject; empty when nothing says so or something says not."""
    if new.case_id == other.case_id or new.household_id == other.household_id:
        return []
    if abs((new.opened_at - other.opened_at).total_seconds()) > policy.window_s:
        return []
    if new.village == other.village:
        reasons = [Fact(code="match.same_village")]
    elif new.town == other.town:
        reasons = [Fact(code="match.same_town")]
    else:
        return []
    if new.sex and other.sex and new.sex != other.sex:
        return []
    ages_known = new.age is not None and other.age is not None
    if ages_known and abs(new.age - other.age) > policy.age_within:
        return []
    names_known = bool(new.name and other.name)
    if names_known and not similar_names(new.name, other.name):
        return []
    if names_known:
        reasons.append(Fact(code="match.name", params={"name": new.name, "other": other.name}))
    if ages_known:
        reasons.append(Fact(code="match.age", params={"age": new.age, "other": other.age}))
    if new.sex and new.sex == other.sex:
        reasons.append(Fact(code="match.sex", params={"sex": new.sex}))
    # A place and a time alone say nothing of who someone is: a name or an age must agree too, and without a name, in one village.
    evidence = names_known or (ages_known and reasons[0].code == "match.same_village")
    return reasons if evidence else []


def sighting(case: Case) -> Sighting:
    """What matching reads of a case."""
    subject = case.subject
    age = subject.approximate_age if subject.approximate_age is not None else case.subject_age
    sex = subject.sex or (sex_from_id(subject.id_masked) if subject.id_masked else None)
    return Sighting(case.case_id, case.household_id, subject.name or "", sex, age, case.area.town, case.area.village, case.opened_at)


def possible_match(new: Case, other: Case, policy: MatchingPolicy) -> PossibleMatch | None:
    """The other case as a possible match of the new unidentified case's subject, or None when nothing says so."""
    reasons = why_same(sighting(new), sighting(other), policy)
    if not reasons:
        return None
    return PossibleMatch(case_id=other.case_id, household_id=other.household_id, name=other.subject.name, reasons=reasons)


def apply_match_command(state: HouseholdState, command: CaseCommand, now: datetime) -> Outcome:
    """Show a possible match on the household's open case (a repeat, or one for a case no longer open, changes nothing),
    or record an officer's dismissal of one, naming the officer."""
    case = state.open_case if state.open_case and state.open_case.case_id == command.case_id else None
    listed = {m.case_id: m for m in case.possible_matches} if case else {}
    if command.type == "possible_match":
        if case is None or case.merged_into or command.match.case_id in listed:
            return Outcome(state)
        data = command.match.model_dump(mode="json")
        case, event = step(
            case, CaseEventType.POSSIBLE_MATCH, now, command.actor, None, data, possible_matches=[*listed.values(), command.match]
        )
        return Outcome(state.model_copy(update={"open_case": case}), [event])
    match = listed.get(command.match.case_id)
    if match is None or match.status != "open":
        reason = Text("refusal.no_such_match", {"case_id": command.case_id, "other": command.match.case_id})
        data = {"command": command.type, "case_id": command.case_id, **reason_fields(reason)}
        rejected = household_event(state, CaseEventType.COMMAND_REJECTED, now, command.actor, command.command_id, data)
        return Outcome(state, [rejected.model_copy(update={"actor_name": command.actor_name})])
    dismissed = match.model_copy(update={"status": "dismissed", "decided_by": command.actor_name or command.actor})
    matches = [dismissed if m.case_id == match.case_id else m for m in case.possible_matches]
    data = {"case_id": match.case_id, "command_id": command.command_id}
    case, event = step(case, CaseEventType.MATCH_DISMISSED, now, command.actor, command.command_id, data, possible_matches=matches)
    return Outcome(state.model_copy(update={"open_case": case}), [event.model_copy(update={"actor_name": command.actor_name})])
