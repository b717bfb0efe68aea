"""What the case agent knows about a household: its members, enrolment, recent signals and open case."""

from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from schemas.aftercare import VISIT_ENDED, Visit, Watch, WatchCategory
from schemas.case import AidType, Case, Factor, Signal
from schemas.ids import sex_from_id
from schemas.intake import Area, HouseholdFlags

SEEN_EVENT_IDS_KEPT = 512
AREAS_KEPT = 16
CALLERS_KEPT = 20
CHILD_BELOW = 18
ELDERLY_FROM = 60
# What the household record keeps for the programme check (多事一核): a year and a day of medical costs, and the
# latest help; enough for "the last 12 months" and "how often, for what", bounded however busy a household is.
MEDICAL_KEPT_DAYS = 366
MEDICAL_KEPT = 64
HELP_KEPT = 32


class Member(BaseModel):
    """One person known to belong to the household."""

    age: int
    registered: bool = Field(default=False, description="placed in the household by the household registry")
    breadwinner: bool = False
    deceased: bool = False
    employed: bool | None = None
    severe_disability: bool = False
    name: str = Field(default="", description="the name the latest signal about the person gave (the registry's wins)")
    id_masked: str = Field(default="", description="the ID number, masked")
    sex: Literal["male", "female"] | None = Field(default=None, description="from the ID number's 17th digit, when known")
    college_since: datetime | None = Field(default=None, description="when the education department reported a college enrolment")
    college_grant_claimed: bool = False


class MedicalCost(BaseModel):
    """What a member's illness costs the household itself: a hospital's estimate at admission or a settled bill."""

    at: datetime
    person_key: str
    self_paid_yuan: float
    settled: bool = Field(description="a medical-insurance settlement (true) or a hospital's estimate at admission (false)")
    diagnosis: str | None = Field(default=None, description="diagnosis category of an admission")


class ProgrammeExit(BaseModel):
    """The household's latest exit from a social-assistance programme."""

    programme: str
    at: datetime


class HelpRecord(BaseModel):
    """One closed case as the household's help history: what it was about, when, and what aid it ended with."""

    case_id: str
    category: str
    opened_at: datetime
    closed_at: datetime
    aid_type: AidType | None = None
    amount_yuan: float | None = None
    referral: str | None = None


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
    medical: list[MedicalCost] = Field(default_factory=list, description=f"self-paid medical costs of the last {MEDICAL_KEPT_DAYS} days")
    exited: ProgrammeExit | None = None
    help_history: list[HelpRecord] = Field(default_factory=list, description=f"the latest {HELP_KEPT} closed cases, oldest first")
    recent: list[RecentSignal] = Field(default_factory=list)
    seen_event_ids: list[str] = Field(default_factory=list)
    open_case: Case | None = None
    closed_cases: list[Case] = Field(default_factory=list, description="the latest closed cases, which may be reopened")
    wake_at: float | None = Field(default=None, description="epoch seconds when time alone next changes the open case or a visit")
    version: int = Field(default=0, description="one more for every signal that changed the household: its view's version")
    areas: list[Area] = Field(default_factory=list, description="the latest places its signals happened, oldest first")
    caller_keys: list[str] = Field(default_factory=list, description="keyed hashes of the latest callers' phones")
    signals_by_source: dict[str, int] = Field(default_factory=dict, description="how many signals each source sent, ever")
    last_signal_at: datetime | None = None
    moved_to: str | None = Field(default=None, description="the household this one was handed over to: what still arrives goes there")
    visits: list[Visit] = Field(default_factory=list, description="visits and call-backs due, then the latest done, by due time")
    watch: Watch | None = Field(default=None, description="分级分类探访: why the household is visited on a cadence")
    watch_requested: list[WatchCategory] = Field(
        default_factory=list, description="categories an officer put the household on the list for"
    )
    watch_visits: int = Field(default=0, description="how many watch visits were ever scheduled: the next one's number")


def _says_all_of(flags: HouseholdFlags, other: HouseholdFlags) -> bool:
    """Whether flags already hold every vulnerability fact other holds."""
    return (
        flags.children >= other.children
        and flags.elderly_alone >= other.elderly_alone
        and flags.disabled >= other.disabled
        and flags.pregnant >= other.pregnant
    )


def merge_flags(known: HouseholdFlags, reported: HouseholdFlags) -> HouseholdFlags:
    """Combine vulnerability facts: a reported fact adds to what is known, never erases it."""
    # Most signals add nothing new: the facts already held are the merge, and no model is built.
    if _says_all_of(known, reported):
        return known
    if _says_all_of(reported, known):
        return reported
    return HouseholdFlags(
        children=max(known.children, reported.children),
        elderly_alone=known.elderly_alone or reported.elderly_alone,
        disabled=known.disabled or reported.disabled,
        pregnant=known.pregnant or reported.pregnant,
    )


def _member_after(member: Member, signal: Signal, now: datetime) -> Member:
    """The subject's member record after the signal."""
    subject = signal.subject
    # Someone nobody could identify yet is known by what was seen: the sex the caller gave, no ID number.
    sex = sex_from_id(subject.id_masked) if subject.id_masked else subject.sex
    changes: dict = {"age": signal.subject_age, "id_masked": subject.id_masked or member.id_masked, "sex": sex or member.sex}
    # A caller may misspell a name; the household registry's spelling is the one kept.
    if subject.name and (not member.registered or signal.kind == "household.member_added"):
        changes["name"] = subject.name
    details = signal.details
    if details.get("breadwinner"):
        changes["breadwinner"] = True
    match signal.kind:
        case "household.member_added":
            changes["registered"] = True
        case "education.enrolled_college":
            changes["college_since"] = now
            changes["college_grant_claimed"] = details["grant_claimed"]
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


def _exit_after(exited: ProgrammeExit | None, programme: str | None, signal: Signal, now: datetime) -> ProgrammeExit | None:
    """The household's latest programme exit after the signal."""
    if signal.kind == "lowincome.exited" and programme == signal.details["programme"]:
        return ProgrammeExit(programme=programme, at=now)
    return exited


def medical_cost_of(signal: Signal, now: datetime) -> MedicalCost | None:
    """What the household itself pays for a hospital admission or a settled medical bill; None for other signals."""
    details = signal.details
    if signal.source == "hospital":
        own = details["estimated_cost_yuan"] * details["self_pay_share"]
        return MedicalCost(at=now, person_key=signal.person_key, self_paid_yuan=own, settled=False, diagnosis=details["diagnosis_category"])
    if signal.kind == "medical.large_expense":
        return MedicalCost(
            at=now, person_key=signal.person_key, self_paid_yuan=details["amount_yuan"] * details["self_pay_share"], settled=True
        )
    return None


def _medical_after(medical: list[MedicalCost], signal: Signal, now: datetime) -> list[MedicalCost]:
    """The household's medical costs with the signal's, those older than the kept days dropped."""
    horizon = now - timedelta(days=MEDICAL_KEPT_DAYS)
    cost = medical_cost_of(signal, now)
    kept = [m for m in medical if m.at >= horizon]
    return [*kept, cost][-MEDICAL_KEPT:] if cost else kept


def with_help(state: HouseholdState, case: Case) -> HouseholdState:
    """The household with a closed case in its help history (a case closed again after reopening is kept once, as last closed)."""
    outcome = case.outcome
    record = HelpRecord(
        case_id=case.case_id,
        category=case.category,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
        aid_type=outcome.aid_type if outcome else None,
        amount_yuan=outcome.amount_yuan if outcome else None,
        referral=outcome.referral if outcome else None,
    )
    history = [h for h in state.help_history if h.case_id != case.case_id]
    return state.model_copy(update={"help_history": [*history, record][-HELP_KEPT:]})


def _latest(kept: list, new, most: int) -> list:
    """The list with new moved (or added) to its end, keeping the latest `most`."""
    return [*(k for k in kept if k != new), new][-most:]


def _history_after(state: HouseholdState, signal: Signal, now: datetime) -> dict:
    """Where, from whom and how often the household has been heard of, after the signal (its next version)."""
    place = Area(town=signal.area.town, village=signal.area.village)  # a household lives in villages; grids are a case's detail
    callers = _latest(state.caller_keys, signal.caller_key, CALLERS_KEPT) if signal.caller_key else state.caller_keys
    return {
        "version": state.version + 1,
        "areas": _latest(state.areas, place, AREAS_KEPT),
        "caller_keys": callers,
        "signals_by_source": {**state.signals_by_source, signal.source: state.signals_by_source.get(signal.source, 0) + 1},
        "last_signal_at": now,
    }


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
            "members": {**state.members, signal.person_key: _member_after(member, signal, now)},
            "programme": _programme_after(state.programme, signal),
            "exited": _exit_after(state.exited, state.programme, signal, now),
            "assets": assets,
            "medical": _medical_after(state.medical, signal, now),
            "recent": [*recent, kept],
            "seen_event_ids": [*state.seen_event_ids, signal.event_id][-SEEN_EVENT_IDS_KEPT:],
            **_history_after(state, signal, now),
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
            "name": kept.name or other.name,
            "id_masked": kept.id_masked or other.id_masked,
            "sex": kept.sex or other.sex,
            "college_since": kept.college_since or other.college_since,
            "college_grant_claimed": kept.college_grant_claimed or other.college_grant_claimed,
        }
    )


def merge_households(state: HouseholdState, moved: HouseholdState) -> HouseholdState:
    """The household with the facts of one handed over to it joined in, without repeats: members, what was reported,
    enrolment, assets, medical costs, help, places, callers, recent signals, seen event ids, visits due and done and
    why it is watched (its cases are the merge
    rules' to join, streams.rules.merge); a version past both, so the merged household's view replaces theirs."""
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
            "medical": sorted([*state.medical, *moved.medical], key=lambda m: m.at)[-MEDICAL_KEPT:],
            "exited": max((e for e in (state.exited, moved.exited) if e), key=lambda e: e.at, default=None),
            "help_history": sorted([*state.help_history, *moved.help_history], key=lambda h: h.closed_at)[-HELP_KEPT:],
            "version": max(state.version, moved.version) + 1,
            "areas": [*(a for a in moved.areas if a not in state.areas), *state.areas][-AREAS_KEPT:],
            "caller_keys": list(dict.fromkeys([*moved.caller_keys, *state.caller_keys]))[-CALLERS_KEPT:],
            "signals_by_source": {
                source: state.signals_by_source.get(source, 0) + moved.signals_by_source.get(source, 0)
                for source in sorted(state.signals_by_source.keys() | moved.signals_by_source.keys())  # one order in every process
            },
            "last_signal_at": max((t for t in (state.last_signal_at, moved.last_signal_at) if t), default=None),
            "visits": _united_visits(state.visits, moved.visits),
            "watch": state.watch or moved.watch,
            "watch_requested": sorted({*state.watch_requested, *moved.watch_requested}),
            "watch_visits": max(state.watch_visits, moved.watch_visits),
        }
    )


def _united_visits(here: list[Visit], moved: list[Visit]) -> list[Visit]:
    """Both households' visits, each once; of two watch visits due, the earlier stands (one household, one cadence)."""
    known = {visit.visit_id for visit in here}
    visits = [*here, *(visit for visit in moved if visit.visit_id not in known)]
    watch_due = sorted((v for v in visits if v.kind == "watch" and v.status not in VISIT_ENDED), key=lambda v: v.deadline.due_at)
    dropped = {visit.visit_id for visit in watch_due[1:]}
    due = sorted((v for v in visits if v.status not in VISIT_ENDED and v.visit_id not in dropped), key=lambda v: v.deadline.due_at)
    done = sorted((v for v in visits if v.status in VISIT_ENDED), key=lambda v: v.done_at)
    return [*due, *done]
