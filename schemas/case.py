"""Signals, urgency, cases and case events: what flows after intake."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from schemas.aftercare import ACTIVE_REFERRAL, Rating, Referral, WatchCategory
from schemas.household import HouseholdView
from schemas.intake import Area, FreeText, HouseholdFlags
from schemas.messages import catalogue_error
from schemas.programmes import Fact
from schemas.timing import Deadline, Tier, earliest_unmet


class Priority(StrEnum):
    """Urgency levels; P1 and P2 open emergency cases, P3 a standard-track lead."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class SubjectView(BaseModel):
    """The subject as shown downstream: the ID number masked, or, for a person not identified yet, what was seen of them."""

    id_masked: str | None = Field(default=None, description="the masked ID number; none while the person is not identified")
    name: str | None = None
    sex: str | None = Field(default=None, description="male or female, as seen (unidentified subjects)")
    approximate_age: int | None = Field(default=None, description="age as estimated (unidentified subjects)")
    description: str | None = Field(default=None, description="what the person looks like (unidentified subjects)")


class Signal(BaseModel):
    """One normalised input event, keyed by household."""

    event_id: str
    source: Literal["hotline", "hospital", "department", "visit"]
    kind: str = Field(description="call category, admission type or department change type")
    household_id: str
    person_key: str = Field(description="pseudonymous key of the subject (keyed hash of the ID number)")
    caller_key: str | None = Field(default=None, description="pseudonymous key of the caller's phone")
    caller_phone: str | None = Field(default=None, description="the caller's phone, for the area's officers to call back")
    reporter: str | None = Field(default=None, description="who reported it: the hospital's or department's name, the operator")
    subject: SubjectView
    subject_age: int = Field(description="age of the subject when it happened: from the ID number, or as estimated")
    area: Area
    flags: HouseholdFlags
    details: dict[str, Any] = Field(default_factory=dict, description="the fields particular to this kind of event")
    occurred_at: datetime = Field(description="when it happened, as the sender says (never after reported_at)")
    reported_at: datetime = Field(description="when it was reported, as the sender says (a clock ahead of ours is not believed)")
    received_at: datetime = Field(description="when RapidAid received it: deadlines and windows count from here")


class Report(BaseModel):
    """What one signal said, as the officer reads it: the source, when, who, the words, the particulars."""

    event_id: str
    source: Literal["hotline", "hospital", "department", "visit"]
    kind: str = Field(description="call category, admission type or department change type")
    occurred_at: datetime
    reported_at: datetime
    received_at: datetime
    reporter: str | None = None
    text: str = Field(default="", description="what the caller said (ID numbers masked)")
    phone: str | None = Field(default=None, description="the caller's phone: in full for the area's officers, masked for others")
    details: dict[str, Any] = Field(default_factory=dict)


class Factor(BaseModel):
    """One additive term of an urgency score; an unapplied one is shown but not counted.

    Language-neutral: readers render `factor.<code>` from the message catalogue with the params.
    """

    code: str
    points: float
    params: dict[str, int | float | str | list[str]] = Field(default_factory=dict, description="what the factor's text names")
    applied: bool = True


class Urgency(BaseModel):
    """An explainable score: its total, level, factors and the policy that produced it."""

    score: int
    priority: Priority | None
    factors: list[Factor]
    policy_version: str


class Stage(StrEnum):
    """Where a case is in the demand → dispatch → handle → feedback loop (seeds 003, 004)."""

    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    AID_DELIVERED = "aid_delivered"
    CLOSED = "closed"


class AidType(StrEnum):
    """What kind of aid was delivered, or referral to another department."""

    CASH = "cash"
    IN_KIND = "in_kind"
    MEDICAL = "medical"
    SHELTER = "shelter"
    CARE = "care"
    REFERRAL = "referral"


class Outcome(BaseModel):
    """How a case ended: the aid given, its amount when money, and any referral."""

    model_config = ConfigDict(extra="forbid")

    aid_type: AidType
    amount_yuan: float | None = Field(default=None, gt=0, le=10_000_000, description="required for cash aid")
    referral: str | None = Field(default=None, min_length=1, max_length=100, description="department the case was referred to")

    @model_validator(mode="after")
    def _amount_and_referral(self) -> "Outcome":
        if self.aid_type is AidType.CASH and self.amount_yuan is None:
            raise catalogue_error("cash_needs_amount")
        if self.aid_type is AidType.REFERRAL and not self.referral:
            raise catalogue_error("referral_needs_department")
        return self


# Which officer command each stage accepts, and the stage it leads to. Closing also needs aid
# delivered first unless the outcome is a referral; a note changes no stage.
TRANSITIONS: dict[Stage, dict[str, Stage]] = {
    Stage.OPENED: {"acknowledge": Stage.ACKNOWLEDGED, "assign": Stage.ASSIGNED, "deliver": Stage.AID_DELIVERED, "close": Stage.CLOSED},
    Stage.ACKNOWLEDGED: {"assign": Stage.ASSIGNED, "deliver": Stage.AID_DELIVERED, "close": Stage.CLOSED},
    Stage.ASSIGNED: {"assign": Stage.ASSIGNED, "deliver": Stage.AID_DELIVERED, "close": Stage.CLOSED},
    Stage.AID_DELIVERED: {"close": Stage.CLOSED},
    Stage.CLOSED: {"reopen": Stage.OPENED},
}


class PossibleMatch(BaseModel):
    """Another open case whose subject may be this case's (可能是同一人): advice an officer confirms (the cases merge) or dismisses."""

    case_id: str
    household_id: str
    name: str | None = Field(default=None, description="the other subject's name, as that case knows it")
    reasons: list[Fact] = Field(default_factory=list, description="what agrees: place, name, age, sex (catalogue codes)")
    status: Literal["open", "dismissed"] = "open"
    decided_by: str | None = Field(default=None, description="the officer who dismissed it")


class Case(BaseModel):
    """An aid case: the snapshot carried on every case event and stored in the read model."""

    case_id: str
    household_id: str
    version: int
    track: Literal["emergency", "standard"]
    priority: Priority
    urgency: int = Field(ge=0, le=100, description="current urgency score")
    factors: list[Factor] = Field(description="what the current score is made of")
    policy_version: str
    status: Literal["green", "yellow", "red", "closed"]
    tier: Tier
    area: Area
    subject: SubjectView
    category: str
    opened_at: datetime
    deadlines: dict[str, Deadline]
    red_since: datetime | None = None
    signal_ids: list[str] = Field(default_factory=list)
    reports: list[Report] = Field(default_factory=list, description="the first report and the latest ones, oldest first")
    reports_total: int = Field(default=0, description="how many reports the case has had (more than are kept)")
    stage: Stage = Stage.OPENED
    assignee: str | None = None
    outcome: Outcome | None = None
    closed_at: datetime | None = None
    merged_into: str | None = Field(default=None, description="the case that absorbed this one (closed by the merge)")
    subject_age: int | None = Field(default=None, description="the subject's age when the case opened: from the ID number, or as estimated")
    possible_matches: list[PossibleMatch] = Field(default_factory=list, description="可能是同一人: other open cases nearby")
    referrals: list[Referral] = Field(default_factory=list, description="转办转介: what was referred to partners, oldest first")
    rating: Rating | None = Field(default=None, description="好差评: the person's rating at the latest call-back")
    supervised: bool = Field(default=False, description="reopened for the town supervisor (督办) after a dissatisfied rating")

    @computed_field
    @property
    def identity_verified(self) -> bool:
        """Whether the subject is known by an ID number (身份待核实 until an officer identifies them)."""
        return self.subject.id_masked is not None

    @computed_field
    @property
    def allowed_actions(self) -> list[str]:
        """Officer commands the case accepts now (none on a case merged into another: act on the survivor)."""
        if self.merged_into:
            return []
        referable = [] if self.stage is Stage.CLOSED else ["refer"]
        # Not closed while a referral waits for its partner (streams.rules.workflow.refusal says so in words).
        waiting = self.waiting_referral is not None
        steps = [step for step in TRANSITIONS[self.stage] if not (waiting and step == "close")]
        return [*steps, "note", *referable, *([] if self.identity_verified else ["identify"])]

    @property
    def waiting_referral(self) -> Referral | None:
        """The first referral still the partner's to answer or report, if any."""
        return next((referral for referral in self.referrals if referral.status in ACTIVE_REFERRAL), None)

    @computed_field
    @property
    def due_deadline(self) -> str | None:
        """Name of the deadline the case is racing now."""
        active = earliest_unmet(self.deadlines)
        return active[0] if active else None

    @computed_field
    @property
    def due_at(self) -> datetime | None:
        """When the deadline the case is racing now falls due."""
        active = earliest_unmet(self.deadlines)
        return active[1].due_at if active else None


class CaseEventType(StrEnum):
    """What happened to a case (or, for signal_recorded, to a household without one)."""

    OPENED = "opened"
    SIGNAL_ATTACHED = "signal_attached"
    RESCORED = "rescored"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    STATUS_CHANGED = "status_changed"
    ESCALATED = "escalated"
    AID_DELIVERED = "aid_delivered"
    CLOSED = "closed"
    REOPENED = "reopened"
    COMMAND_REJECTED = "command_rejected"
    NOTE_ADDED = "note_added"
    SIGNAL_RECORDED = "signal_recorded"
    HANDED_OVER = "handed_over"
    TAKEN_OVER = "taken_over"
    MERGED = "merged"
    MERGED_INTO = "merged_into"
    POSSIBLE_MATCH = "possible_match"
    MATCH_DISMISSED = "match_dismissed"
    REFERRED = "referred"
    REFERRAL_ACCEPTED = "referral_accepted"
    REFERRAL_DECLINED = "referral_declined"
    REFERRAL_DELIVERED = "referral_delivered"
    REFERRAL_REVOKED = "referral_revoked"
    VISITS_SCHEDULED = "visits_scheduled"
    VISITS_HANDED_OVER = "visits_handed_over"
    VISIT_RECORDED = "visit_recorded"
    VISIT_STATUS_CHANGED = "visit_status_changed"
    VISIT_ESCALATED = "visit_escalated"
    VISIT_WITHDRAWN = "visit_withdrawn"
    SATISFACTION_RECORDED = "satisfaction_recorded"
    SUPERVISED = "supervised"
    WATCH_STARTED = "watch_started"
    WATCH_CHANGED = "watch_changed"
    WATCH_ENDED = "watch_ended"


class CaseEvent(BaseModel):
    """One step in a case's life, with the case as it stands after the step."""

    type: CaseEventType
    household_id: str
    case_id: str | None
    version: int = Field(description="case version after this event; 0 for signal_recorded")
    at: datetime
    actor: str
    actor_name: str | None = Field(default=None, description="the person behind an officer's command; none for the system's own steps")
    event_id: str | None = Field(default=None, description="intake event that caused this step")
    data: dict[str, Any] = Field(default_factory=dict)
    case: Case | None = None
    area: Area | None = Field(default=None, description="where the household's latest signal happened, on an event of no case")
    household: HouseholdView | None = Field(
        default=None, description="the household as the batch left it, on the last event of the batch that changed it"
    )


class CaseCommand(BaseModel):
    """An instruction to the case agent: an officer's action, deadline_due from the worker's own deadline queue, or a move.

    hand_over (from intake, keyed by the household that gives up its cases): move everything to target_household_id,
    with the verified subject when an officer identified the person; take_over (from triage, keyed by the target):
    the given-up household's state, `moved`, to merge in.
    """

    type: Literal[
        "deadline_due",
        "acknowledge",
        "assign",
        "deliver",
        "close",
        "reopen",
        "note",
        "hand_over",
        "take_over",
        "possible_match",
        "dismiss_match",
        "refer",
        "accept_referral",
        "decline_referral",
        "report_referral",
        "revoke_referral",
        "record_visit",
        "record_satisfaction",
        "watch",
        "unwatch",
    ]
    household_id: str
    issued_at: datetime
    actor: str = Field(description="who: system:deadlines or the officer's role")
    actor_name: str | None = Field(default=None, max_length=100, description="the officer's name, from the token's holder")
    command_id: str | None = Field(default=None, description="id to follow the command by at GET /v1/events/{command_id}")
    case_id: str | None = None
    assignee: FreeText | None = Field(default=None, max_length=100)
    outcome: Outcome | None = Field(default=None, description="aid given (deliver) or how the case ended (close)")
    text: FreeText | None = Field(default=None, max_length=2000, description="a note, or the reason for reopening")
    target_household_id: str | None = Field(default=None, description="hand_over: the household that takes everything over")
    subject: SubjectView | None = Field(default=None, description="hand_over after an identification: the verified subject")
    subject_age: int | None = Field(default=None, description="hand_over after an identification: the age from the ID number")
    person_key: str | None = Field(default=None, description="hand_over after an identification: the person's pseudonymous key")
    moved: dict[str, Any] | None = Field(default=None, description="take_over: the state of the household that handed over")
    match: PossibleMatch | None = Field(default=None, description="possible_match: the other case; dismiss_match: which one")
    partner: str | None = Field(default=None, max_length=100, description="refer: the partner, by its name in the partners file")
    request: FreeText | None = Field(default=None, max_length=2000, description="refer: what the partner is asked to do")
    referral_id: str | None = Field(default=None, description="accept, decline, report or revoke: which referral")
    visit_id: str | None = Field(default=None, description="record_visit: which visit (the household's next one when none)")
    more_help: bool | None = Field(default=None, description="record_visit: the household needs more help (a new signal)")
    rating: Rating | None = Field(default=None, description="record_satisfaction: the person's rating")
    categories: list[WatchCategory] | None = Field(default=None, description="watch, unwatch: the categories an officer sets or ends")


class OrderedCommand(CaseCommand):
    """A command carried on aid.signals, in the household's own order with its signals, so a replay after a crash reads it
    where it was the first time (see streams.rules.merge): the two halves of a move, and a possible match shown or dismissed."""

    type: Literal["hand_over", "take_over", "possible_match", "dismiss_match"]


class DeadLetter(BaseModel):
    """An input that could not be processed, with why and where it came from."""

    reason: str
    field: str | None = None
    source_topic: str
    partition: int
    offset: int
    key: str | None
    event_id: str | None
    duplicate_of: str | None = Field(default=None, description="the event id this record reused, which an event with other content holds")
    original: str | None = Field(description="the original bytes as UTF-8 text, when they are text")
    original_b64: str
    at: datetime = Field(description="the rejected record's own timestamp: a replay after a crash writes the same letter")
