"""Signals, urgency, cases and case events: what flows after intake."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from schemas.intake import Area, HouseholdFlags


class Priority(StrEnum):
    """Urgency levels; P1 and P2 open emergency cases, P3 a standard-track lead."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class Colour(StrEnum):
    """Traffic-light status of an open case."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Tier(StrEnum):
    """Rungs of the escalation ladder, lowest first."""

    VILLAGE = "village"
    TOWN = "town"
    CITY = "city"
    LEADERSHIP = "leadership"


TIER_ORDER = list(Tier)


class SubjectView(BaseModel):
    """The subject as shown downstream: the ID number is masked."""

    id_masked: str
    name: str


class Signal(BaseModel):
    """One normalised input event, keyed by household."""

    event_id: str
    source: Literal["hotline", "hospital", "department"]
    kind: str = Field(description="call category, admission type or department change type")
    household_id: str
    person_key: str = Field(description="pseudonymous key of the subject (keyed hash of the ID number)")
    caller_key: str | None = Field(default=None, description="pseudonymous key of the caller's phone")
    subject: SubjectView
    subject_age: int = Field(description="age of the subject when it happened, from the ID number")
    area: Area
    flags: HouseholdFlags
    details: dict[str, Any] = Field(default_factory=dict, description="the fields particular to this kind of event")
    occurred_at: datetime
    reported_at: datetime


class Factor(BaseModel):
    """One additive term of an urgency score; an unapplied one is shown but not counted."""

    code: str
    points: float
    detail: str = ""
    applied: bool = True


class Urgency(BaseModel):
    """An explainable score: its total, level, factors and the policy that produced it."""

    score: int
    priority: Priority | None
    factors: list[Factor]
    policy_version: str


class Deadline(BaseModel):
    """A clock on a case: its window runs from started_at to due_at."""

    started_at: datetime
    due_at: datetime
    met_at: datetime | None = None


def earliest_unmet(deadlines: dict[str, Deadline]) -> tuple[str, Deadline] | None:
    """The earliest unmet deadline, which decides a case's colour."""
    unmet = [(d.due_at, name, d) for name, d in deadlines.items() if d.met_at is None]
    if not unmet:
        return None
    _, name, deadline = min(unmet)
    return name, deadline


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
    closed_at: datetime | None = None

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
    SIGNAL_RECORDED = "signal_recorded"


class CaseEvent(BaseModel):
    """One step in a case's life, with the case as it stands after the step."""

    type: CaseEventType
    household_id: str
    case_id: str | None
    version: int = Field(description="case version after this event; 0 for signal_recorded")
    at: datetime
    actor: str
    event_id: str | None = Field(default=None, description="intake event that caused this step")
    data: dict[str, Any] = Field(default_factory=dict)
    case: Case | None = None


class CaseCommand(BaseModel):
    """An instruction to the case agent; deadline_due comes from the worker's own deadline queue."""

    type: Literal["deadline_due"]
    household_id: str
    issued_at: datetime
    actor: str


class DeadLetter(BaseModel):
    """An input that could not be processed, with why and where it came from."""

    reason: str
    field: str | None = None
    source_topic: str
    partition: int
    offset: int
    key: str | None
    event_id: str | None
    original: str | None = Field(description="the original bytes as UTF-8 text, when they are text")
    original_b64: str
    at: datetime
