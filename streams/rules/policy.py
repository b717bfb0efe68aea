"""The urgency and deadline policy: weights, thresholds and windows (loaded from TOML by streams.policies)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.case import Priority, Tier
from schemas.intake import DEPARTMENT_CHANGE_TYPES, AdmissionType, CallCategory, Programme

DepartmentChangeType = Literal[DEPARTMENT_CHANGE_TYPES]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrackPolicy(_Strict):
    """Deadlines and opening tier of one priority level."""

    track: str = Field(pattern="^(emergency|standard)$")
    open_tier: Tier
    acknowledge_s: float = Field(gt=0)
    main_deadline: str = Field(description="name of the main deadline: aid (emergency) or complete (standard)")
    main_s: float = Field(gt=0)


class VulnerabilityPolicy(_Strict):
    """Points for what makes a household more vulnerable."""

    per_child: float
    max_children_points: float
    elderly_alone: float
    disabled: float
    pregnant: float
    programmes: dict[Programme, float] = Field(description="points for enrolment in each social-assistance programme")
    dependency_ratio_from: float = Field(gt=0, description="dependants per working-age member from which the ratio counts")
    high_dependency_ratio: float


class CompoundingPolicy(_Strict):
    """How earlier signals about the same household raise a new score."""

    window_s: float = Field(gt=0)
    per_signal: float
    half_life_s: float = Field(gt=0)
    independent_source_bonus: float
    max_points: float
    repeat_call_window_s: float = Field(
        description="a call from the same caller about the same person within this window is a repeat, not new evidence"
    )


class MatchingPolicy(_Strict):
    """When an unidentified subject is shown as possibly another open case's subject (可能是同一人)."""

    window_s: float = Field(gt=0, description="cases opened at most this far apart are compared")
    age_within: int = Field(ge=0, description="ages at most this many years apart agree")


class Policy(_Strict):
    """Everything the rules need that an administrator may want to tune."""

    version: str
    levels: dict[Priority, float]
    yellow_at: float = Field(gt=0, lt=1, description="fraction of a deadline's window after which the case turns yellow")
    leadership_after_s: float = Field(gt=0, description="how long a case stays red before city leadership is notified")
    tracks: dict[Priority, TrackPolicy]
    hotline_base: dict[CallCategory, float]
    hospital_base: dict[AdmissionType, float]
    critical_illness: float = Field(description="added for a diagnosis on the critical-illness list")
    out_of_pocket_points: list[tuple[float, float]] = Field(description="(self-paid yuan from, points), highest first")
    department_base: dict[DepartmentChangeType, float]
    paperwork_working_days: int = Field(ge=1, description="paperwork deadline after aid is delivered, in working days")
    escalation_recipients: dict[Tier, str] = Field(description="who is notified at each tier")
    breadwinner: float = Field(description="added when the person who died or lost work was the breadwinner")
    grant_claimed: float = Field(description="added (negative) when a college grant is already claimed")
    vulnerability: VulnerabilityPolicy
    compounding: CompoundingPolicy
    matching: MatchingPolicy
