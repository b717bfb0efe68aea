"""The urgency and deadline policy: weights, thresholds and windows (loaded from TOML by streams.policies)."""

from datetime import date, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.aftercare import WatchCategory
from schemas.case import Priority
from schemas.intake import DEPARTMENT_CHANGE_TYPES, AdmissionType, CallCategory, Programme
from schemas.programmes import ProgrammeName
from schemas.timing import Tier
from streams.rules.household import MEDICAL_KEPT_DAYS

DepartmentChangeType = Literal[DEPARTMENT_CHANGE_TYPES]
VisitSignalKind = Literal["visit.more_help"]
SignalKind = Literal[(*(c.value for c in CallCategory), *(a.value for a in AdmissionType), *DEPARTMENT_CHANGE_TYPES)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SPAN_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "working hours": None, "working days": None}


class Span(_Strict):
    """A length of time, written "30 minutes", "3 days", "4 working hours" or "5 working days" (in the policy's working time)."""

    amount: float = Field(gt=0)
    unit: Literal[tuple(SPAN_UNITS)]

    @model_validator(mode="before")
    @classmethod
    def _from_words(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        amount, _, unit = value.strip().partition(" ")
        try:
            return {"amount": float(amount), "unit": unit}
        except ValueError:
            raise ValueError(f"a span is a number and a unit ({', '.join(SPAN_UNITS)}), not {value!r}") from None


class WorkingTime(_Strict):
    """Office hours in China time, Monday to Friday, with the public holidays off and their make-up working days on."""

    starts: time
    ends: time
    holidays: list[date] = Field(default_factory=list, description="weekdays off (法定节假日)")
    workdays: list[date] = Field(default_factory=list, description="weekend days worked instead (调休上班)")

    @model_validator(mode="after")
    def _ends_after_start(self) -> "WorkingTime":
        if self.ends <= self.starts:
            raise ValueError("working time must end after it starts")
        return self


class ReferralDeadlines(_Strict):
    """How long a partner has to answer a referral, and then to report the help given."""

    accept: Span
    deliver: Span


class ReferralPolicy(_Strict):
    """Referral deadlines by track: an emergency referral is answered at any hour, a standard one in working time."""

    emergency: ReferralDeadlines
    standard: ReferralDeadlines


class FollowUpPolicy(_Strict):
    """回访: the visits after aid is delivered, each counted from the delivery, by track."""

    emergency: list[Span]
    standard: list[Span]


class SatisfactionPolicy(_Strict):
    """好差评: the call-back after closing, and the town's supervision (督办) of a case reopened as dissatisfied."""

    callback: Span
    supervision: Span


class WatchPolicy(_Strict):
    """分级分类探访: how often a watched household is visited, by category (the most frequent of its categories applies)."""

    cadence: dict[WatchCategory, Span]


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


class MarginalRules(_Strict):
    """低保边缘: a household leaving 低保 or 特困 is checked for marginal low-income at exit (seed 002)."""

    after_exit_days: int = Field(ge=0, description="an exit this recent makes marginal low-income likely")


class TemporaryRules(_Strict):
    """临时救助: sudden hardship (急难型) or rigid expenditure (支出型)."""

    sudden: list[SignalKind] = Field(description="signal kinds that are a sudden hardship")
    expense_yuan: float = Field(
        gt=0, description="self-paid medical costs within the window from which expenditure-type aid is worth checking"
    )
    same_reason_days: int = Field(ge=0, description="aid for the same reason this recent: ask whether the hardship is new")


class SeriousIllnessRules(_Strict):
    """因病致贫重病患者: a critical illness and large self-paid costs in a household outside 低保, 特困 and 低保边缘."""

    self_paid_yuan: float = Field(gt=0, description="self-paid medical costs within the window from which the burden counts as large")


class EducationRules(_Strict):
    """Education aid for students of enrolled households (社会救助暂行办法 第三十三条; seed 002's college grant)."""

    school_from: int = Field(ge=0, description="school age: from this age")
    school_below: int = Field(gt=0, description="school age: below this age")
    college_days: int = Field(gt=0, description="a college enrolment this recent may still claim the grant")
    programmes: list[Programme] = Field(description="enrolment that makes the household's students eligible")


class ProgrammesPolicy(_Strict):
    """Rules and thresholds of the programme check (多事一核), replaceable per county."""

    window_days: int = Field(gt=0, le=MEDICAL_KEPT_DAYS, description="how far back medical costs and help count")
    ruled_out_by_assets: list[ProgrammeName] = Field(description="programmes a vehicle or property purchase on record rules out (一票否决)")
    minor_below: int = Field(gt=0, description="minors, who are not expected to work: below this age")
    elderly_from: int = Field(gt=0, description="the elderly, who are not expected to work: from this age")
    marginal: MarginalRules
    temporary: TemporaryRules
    serious_illness: SeriousIllnessRules
    education: EducationRules


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
    visit_base: dict[VisitSignalKind, float] = Field(description="base points of what a visitor reports (more help needed)")
    paperwork_working_days: int = Field(ge=1, description="paperwork deadline after aid is delivered, in working days")
    escalation_recipients: dict[Tier, str] = Field(description="who is notified at each tier")
    breadwinner: float = Field(description="added when the person who died or lost work was the breadwinner")
    grant_claimed: float = Field(description="added (negative) when a college grant is already claimed")
    vulnerability: VulnerabilityPolicy
    compounding: CompoundingPolicy
    matching: MatchingPolicy
    programmes: ProgrammesPolicy
    working_time: WorkingTime
    referrals: ReferralPolicy
    follow_up: FollowUpPolicy
    satisfaction: SatisfactionPolicy
    watch: WatchPolicy
