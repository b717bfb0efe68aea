"""What the case agent knows about a household: its members, enrolment, recent signals and open case."""

from datetime import datetime, timedelta
from typing import NamedTuple

from pydantic import BaseModel, Field

from schemas.case import Case, Factor, Signal
from schemas.intake import HouseholdFlags

SEEN_EVENT_IDS_KEPT = 512
CHILD_BELOW = 18
ELDERLY_FROM = 60


class Member(BaseModel):
    """One person known to belong to the household."""

    age: int
    registered: bool = Field(default=False, description="placed in the household by the household registry")
    breadwinner: bool = False
    deceased: bool = False
    employed: bool | None = None
    severe_disability: bool = False


class RecentSignal(BaseModel):
    """A signal kept for compounding and repeat detection, with the factors it scored on its own."""

    event_id: str
    source: str
    kind: str
    at: datetime
    person_key: str
    caller_key: str | None = None
    factors: list[Factor] = Field(default_factory=list)
    repeat: bool = Field(default=False, description="the same caller about the same person again within the repeat window")
    handled: bool = Field(default=False, description="part of a case that has been closed: it opens nothing again")

    @property
    def points(self) -> float:
        """What the signal scores on its own."""
        return sum(f.points for f in self.factors)


class HouseholdState(BaseModel):
    """The value of the households table, one per household id."""

    household_id: str
    partition: int = Field(default=-1, description="partition that owns this household, for rebuilding deadline queues")
    reported: HouseholdFlags = Field(default_factory=HouseholdFlags, description="vulnerabilities callers and senders reported")
    members: dict[str, Member] = Field(default_factory=dict, description="by person key")
    programme: str | None = Field(default=None, description="social-assistance enrolment: lowincome, extreme_poverty, marginal")
    assets: list[str] = Field(default_factory=list, description="asset purchases on record")
    recent: list[RecentSignal] = Field(default_factory=list)
    seen_event_ids: list[str] = Field(default_factory=list)
    open_case: Case | None = None
    closed_cases: list[Case] = Field(default_factory=list, description="the latest closed cases, which may be reopened")
    wake_at: float | None = Field(default=None, description="epoch seconds when time alone next changes the open case")
    moved_to: str | None = Field(default=None, description="the household this one was handed over to: what still arrives goes there")


def merge_flags(known: HouseholdFlags, reported: HouseholdFlags) -> HouseholdFlags:
    """Combine vulnerability facts: a reported fact adds to what is known, never erases it."""
    return HouseholdFlags(
        children=max(known.children, reported.children),
        elderly_alone=known.elderly_alone or reported.elderly_alone,
        disabled=known.disabled or reported.disabled,
        pregnant=known.pregnant or reported.pregnant,
    )


def _member_after(member: Member, signal: Signal) -> Member:
    """The subject's member record after the signal."""
    changes: dict = {"age": signal.subject_age}
    details = signal.details
    if details.get("breadwinner"):
        changes["breadwinner"] = True
    match signal.kind:
        case "household.member_added":
            changes["registered"] = True
        case "household.member_died":
            changes["deceased"] = True
        case "employment.lost":
            changes["employed"] = False
        case "employment.found":
            changes["employed"] = True
        case "disability.certified":
            changes["severe_disability"] = member.severe_disability or details["level"] <= 2
    return member.model_copy(update=changes)


def _programme_after(programme: str | None, signal: Signal) -> str | None:
    """The household's enrolment after the signal."""
    if signal.kind == "lowincome.enrolled":
        return signal.details["programme"]
    if signal.kind == "lowincome.exited" and programme == signal.details["programme"]:
        return None
    return programme


def is_repeat(signal: Signal, earlier: list[RecentSignal], now: datetime, window_s: float) -> bool:
    """True when the same caller already reported the same person within the window before now."""
    return signal.caller_key is not None and any(
        r.caller_key == signal.caller_key and r.person_key == signal.person_key and abs((now - r.at).total_seconds()) <= window_s
        for r in earlier
    )


def remember(
    state: HouseholdState, signal: Signal, own: list[Factor], now: datetime, window_s: float, repeat_window_s: float
) -> HouseholdState:
    """The state with the signal's facts applied and the signal kept at now; signals older than the window are dropped.

    Signals are kept at the time RapidAid received them: a producer's clock, or a replayed month-old record,
    must neither hide a signal from the window nor stretch the window.
    """
    horizon = now - timedelta(seconds=window_s)
    recent = [r for r in state.recent if r.at >= horizon]
    kept = RecentSignal(
        event_id=signal.event_id,
        source=signal.source,
        kind=signal.kind,
        at=now,
        person_key=signal.person_key,
        caller_key=signal.caller_key,
        factors=own,
        repeat=is_repeat(signal, recent, now, repeat_window_s),
    )
    member = state.members.get(signal.person_key, Member(age=signal.subject_age))
    assets = [*state.assets, signal.kind] if signal.kind.startswith("asset.") else state.assets
    return state.model_copy(
        update={
            "reported": merge_flags(state.reported, signal.flags),
            "members": {**state.members, signal.person_key: _member_after(member, signal)},
            "programme": _programme_after(state.programme, signal),
            "assets": assets,
            "recent": [*recent, kept],
            "seen_event_ids": [*state.seen_event_ids, signal.event_id][-SEEN_EVENT_IDS_KEPT:],
        }
    )


def living(state: HouseholdState) -> list[Member]:
    """Members known to be alive."""
    return [m for m in state.members.values() if not m.deceased]


def vulnerability(state: HouseholdState) -> HouseholdFlags:
    """What is reported merged with what the members' records show."""
    members = living(state)
    from_members = HouseholdFlags(
        children=sum(m.age < CHILD_BELOW for m in members),
        # Only the registry knows that nobody else lives there; one caller's subject is not a household.
        elderly_alone=len(members) == 1 and members[0].registered and members[0].age >= ELDERLY_FROM,
        disabled=any(m.severe_disability for m in members),
    )
    return merge_flags(state.reported, from_members)


class Dependency(NamedTuple):
    """Dependants (children and elderly) and working-age members of a household."""

    dependants: int
    working: int

    @property
    def ratio(self) -> float:
        """Dependants per working-age member; infinite when nobody is of working age."""
        return self.dependants / self.working if self.working else float("inf")


def dependency_of(state: HouseholdState) -> Dependency | None:
    """The household's dependants and working-age members; None without known dependants."""
    members = living(state)
    dependants = sum(m.age < CHILD_BELOW or m.age >= ELDERLY_FROM for m in members)
    dependants = max(dependants, state.reported.children)
    if not dependants:
        return None
    return Dependency(dependants, sum(CHILD_BELOW <= m.age < ELDERLY_FROM for m in members))


def merge_members(kept: Member, other: Member) -> Member:
    """One person's records from two households joined: what either knew stays known (the kept record's age wins)."""
    return kept.model_copy(
        update={
            "registered": kept.registered or other.registered,
            "breadwinner": kept.breadwinner or other.breadwinner,
            "deceased": kept.deceased or other.deceased,
            "employed": kept.employed if kept.employed is not None else other.employed,
            "severe_disability": kept.severe_disability or other.severe_disability,
        }
    )


def merge_households(state: HouseholdState, moved: HouseholdState) -> HouseholdState:
    """The household with the facts of one handed over to it joined in, without repeats: members, what was reported,
    enrolment, assets, recent signals, seen event ids (its cases are the merge rules' to join, streams.rules.merge)."""
    members = {**moved.members, **state.members}
    for key in state.members.keys() & moved.members.keys():
        members[key] = merge_members(state.members[key], moved.members[key])
    known = {r.event_id for r in state.recent}
    recent = sorted([*state.recent, *(r for r in moved.recent if r.event_id not in known)], key=lambda r: (r.at, r.event_id))
    seen = list(dict.fromkeys([*state.seen_event_ids, *moved.seen_event_ids]))[-SEEN_EVENT_IDS_KEPT:]
    return state.model_copy(
        update={
            "reported": merge_flags(state.reported, moved.reported),
            "members": members,
            "programme": state.programme or moved.programme,
            "assets": [*state.assets, *moved.assets],
            "recent": recent,
            "seen_event_ids": seen,
        }
    )
