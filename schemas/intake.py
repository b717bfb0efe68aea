"""Input events as hotlines, hospitals and departments send them."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.ids import mask_id_numbers_in, normalise_id_number
from schemas.messages import catalogue_error

EventId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class _PeoplesWords:
    """Marks a field of people's own words, which wire models keep as typed (full-width punctuation included)."""


PEOPLES_WORDS = _PeoplesWords()
# Words people type (a caller's account, a name): an ID number typed into them is masked before it is stored or shown.
FreeText = Annotated[str, AfterValidator(mask_id_numbers_in), PEOPLES_WORDS]
IdNumber = Annotated[str, AfterValidator(normalise_id_number), Field(description="18-character resident ID number (GB 11643 check digit)")]


# Full-width forms (U+FF01–U+FF5E) and the ideographic space, as Chinese input methods type them, mapped to ASCII.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def _without_separators(value: Any) -> Any:
    return value.translate({ord(" "): None, ord("-"): None}) if isinstance(value, str) else value


PhoneNumber = Annotated[
    str,
    BeforeValidator(_without_separators),
    Field(pattern=r"^\+?\d{5,20}$", description="digits, optionally after +; spaces and dashes are dropped"),
]


class WireModel(BaseModel):
    """Base for wire models: unknown fields are refused so typos never pass silently; full-width input becomes ASCII."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # The FreeText fields, whose Chinese punctuation (，：？) is kept as typed; found for each model as it is defined.
    free_text: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.free_text = frozenset(
            name
            for name, field in cls.model_fields.items()
            if PEOPLES_WORDS in field.metadata
            or any(PEOPLES_WORDS in getattr(arg, "__metadata__", ()) for arg in get_args(field.annotation))
        )

    @model_validator(mode="before")
    @classmethod
    def _half_width_strings(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # isascii() is a C-speed scan: ordinary input never pays for the translation.
        changed = {
            name: value.translate(_HALF_WIDTH)
            for name, value in data.items()
            if isinstance(value, str) and not value.isascii() and name not in cls.free_text
        }
        return {**data, **changed} if changed else data


class Area(WireModel):
    """Where the emergency is (not where the person is registered): town, village, grid codes.

    Whether the codes exist and nest (village in its town, grid in its village) is the county register's to say
    (schemas.register), checked by the API and the intake agent.
    """

    town: str = Field(pattern=r"^\d{9}$", description="9-digit town (乡镇/街道) code")
    village: str = Field(pattern=r"^\d{12}$", description="12-digit village (村/社区) code")
    grid: str | None = Field(default=None, pattern=r"^\d{12}-\d{2,4}$", description="grid code: village code, dash, grid number")


class IdentifiedSubject(WireModel):
    """The person the event is about, by ID number (department records always name one)."""

    id_number: IdNumber
    name: FreeText = Field(min_length=1, max_length=50)


class Sex(StrEnum):
    """A person's sex as a caller or a ward sees it."""

    MALE = "male"
    FEMALE = "female"


class Subject(WireModel):
    """The person a call or an admission is about: by ID number, or, when nobody knows it yet, by what is seen and said.

    Without an ID number the sex, an approximate age and a description of the person are required (the name stays
    optional: an unconscious patient has none); the person is identified later (POST /v1/cases/{id}/identify).
    """

    id_number: IdNumber | None = Field(default=None, description="18-character resident ID number; leave out when unknown")
    name: FreeText | None = Field(
        default=None, min_length=1, max_length=50, validate_default=True, description="required with an ID number"
    )
    sex: Sex | None = Field(default=None, validate_default=True, description="required without an ID number")
    approximate_age: int | None = Field(
        default=None, ge=0, le=120, validate_default=True, description="age in years as estimated; required without an ID number"
    )
    description: FreeText | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        validate_default=True,
        description="what the person looks like, wears, carries; required without an ID number",
    )

    @field_validator("name")
    @classmethod
    def _named_with_id_number(cls, value: str | None, info: ValidationInfo) -> str | None:
        # An ID number that failed its own check is absent from info.data: only its own error is reported.
        if value is None and info.data.get("id_number") is not None:
            raise catalogue_error("needed_with_id_number")
        return value

    @field_validator("sex", "approximate_age", "description")
    @classmethod
    def _described_without_id_number(cls, value: object, info: ValidationInfo) -> object:
        if value is None and "id_number" in info.data and info.data["id_number"] is None:
            raise catalogue_error("needed_without_id_number")
        return value

    @property
    def identified(self) -> bool:
        """Whether the subject is named by an ID number."""
        return self.id_number is not None


class HouseholdFlags(WireModel):
    """What the reporter knows about the household's vulnerability."""

    children: int = Field(default=0, ge=0, le=20, description="children under 18 in the household")
    elderly_alone: bool = False
    disabled: bool = Field(default=False, description="a member with a severe disability")
    pregnant: bool = False


class CallCategory(StrEnum):
    """Hotline call categories."""

    MEDICAL_EMERGENCY = "medical_emergency"
    ACCIDENT_OR_DISASTER = "accident_or_disaster"
    NO_FOOD_OR_SHELTER = "no_food_or_shelter"
    CHILD_UNATTENDED = "child_unattended"
    ELDERLY_OR_DISABLED_UNATTENDED = "elderly_or_disabled_unattended"
    LOSS_OF_INCOME = "loss_of_income"
    OTHER = "other"


class InputEvent(WireModel):
    """What every input event carries: identity, times, the subject, where, and optional household facts."""

    event_id: EventId | None = Field(default=None, description="client-chosen unique id; the API assigns a UUIDv7 when absent")
    occurred_at: AwareDatetime | None = Field(default=None, description="when it happened (ISO 8601 with offset)")
    reported_at: AwareDatetime | None = Field(default=None, description="when it was reported; the API fills in the time of receipt")
    subject: Subject
    area: Area
    household_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="registry household id when the sender knows it",
    )
    flags: HouseholdFlags = Field(default_factory=HouseholdFlags)
    reported_by: FreeText | None = Field(
        default=None, max_length=100, description="who sent it: the API sets the name of the token's holder (a sender's value is replaced)"
    )


class HotlineCall(InputEvent):
    """A call to the 12345 / 12349 social-assistance hotline, as the operator records it."""

    caller_phone: PhoneNumber
    category: CallCategory
    description: FreeText = Field(default="", max_length=2000, description="what the caller said, in their words")


class AdmissionType(StrEnum):
    """How a patient was admitted."""

    EMERGENCY = "emergency"
    ICU = "icu"
    INPATIENT = "inpatient"


class Diagnosis(StrEnum):
    """Diagnosis category: the critical-illness list (重特大疾病) or not."""

    CANCER = "cancer"
    STROKE = "stroke"
    HEART_DISEASE = "heart_disease"
    RENAL_FAILURE = "renal_failure"
    SEVERE_TRAUMA = "severe_trauma"
    SEVERE_BURN = "severe_burn"
    LEUKEMIA = "leukemia"
    OTHER_CRITICAL = "other_critical"
    NON_CRITICAL = "non_critical"


class Hospital(WireModel):
    """The admitting hospital."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    name: FreeText = Field(min_length=1, max_length=100)


class HospitalAdmission(InputEvent):
    """A hospital's notice that a patient was admitted, with the expected cost and self-pay share."""

    hospital: Hospital
    admission_type: AdmissionType
    diagnosis_category: Diagnosis
    estimated_cost_yuan: float = Field(ge=0, le=10_000_000)
    self_pay_share: float = Field(ge=0, le=1, description="share of the cost the household pays after insurance")


DEPARTMENT_PATTERN = r"^[a-z][a-z0-9-]{1,40}$"


class DepartmentChangeBase(InputEvent):
    """A government department's record that something changed for a person or household."""

    subject: IdentifiedSubject
    department: str | None = Field(
        default=None,
        pattern=DEPARTMENT_PATTERN,
        description="the sending department, e.g. civil-affairs; required on the topic, taken from the URL by the API",
    )


class MemberDied(DepartmentChangeBase):
    """A household member died (household registry, civil affairs)."""

    type: Literal["household.member_died"]
    breadwinner: bool = Field(description="the deceased earned most of the household's income")


class MemberAdded(DepartmentChangeBase):
    """A person was registered as a member of a household (household registry): the person → household link."""

    type: Literal["household.member_added"]
    household_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    breadwinner: bool = False


class EmploymentLost(DepartmentChangeBase):
    """A person lost their job (human resources and social security)."""

    type: Literal["employment.lost"]
    breadwinner: bool = False


class EmploymentFound(DepartmentChangeBase):
    """A person found work."""

    type: Literal["employment.found"]


class DisabilityCertified(DepartmentChangeBase):
    """A disability certificate was issued (disabled persons' federation); levels 1 and 2 are severe."""

    type: Literal["disability.certified"]
    level: int = Field(ge=1, le=4)


class Programme(StrEnum):
    """Social-assistance enrolment programmes."""

    LOWINCOME = "lowincome"
    EXTREME_POVERTY = "extreme_poverty"
    MARGINAL = "marginal"


class LowIncomeEnrolled(DepartmentChangeBase):
    """The household was enrolled in a programme (civil affairs)."""

    type: Literal["lowincome.enrolled"]
    programme: Programme = Programme.LOWINCOME


class LowIncomeExited(DepartmentChangeBase):
    """The household left a programme."""

    type: Literal["lowincome.exited"]
    programme: Programme = Programme.LOWINCOME


class MedicalLargeExpense(DepartmentChangeBase):
    """A large medical bill was settled (medical insurance)."""

    type: Literal["medical.large_expense"]
    amount_yuan: float = Field(ge=0, le=10_000_000)
    self_pay_share: float = Field(ge=0, le=1)


class CollegeEnrolled(DepartmentChangeBase):
    """A member enrolled in college (education); low-income students may claim a grant."""

    type: Literal["education.enrolled_college"]
    grant_claimed: bool = False


class VehicleBought(DepartmentChangeBase):
    """A vehicle was registered to the person."""

    type: Literal["asset.vehicle_bought"]
    value_yuan: float = Field(ge=0, le=100_000_000)


class PropertyBought(DepartmentChangeBase):
    """A property was registered to the person (housing)."""

    type: Literal["asset.property_bought"]
    value_yuan: float = Field(ge=0, le=1_000_000_000)


DEPARTMENT_CHANGE_MODELS = (
    MemberDied,
    MemberAdded,
    EmploymentLost,
    EmploymentFound,
    DisabilityCertified,
    LowIncomeEnrolled,
    LowIncomeExited,
    MedicalLargeExpense,
    CollegeEnrolled,
    VehicleBought,
    PropertyBought,
)
DepartmentChange = Annotated[Union[DEPARTMENT_CHANGE_MODELS], Field(discriminator="type")]  # noqa: UP007  (a tuple needs Union[])
DEPARTMENT_CHANGE_TYPES = tuple(get_args(model.model_fields["type"].annotation)[0] for model in DEPARTMENT_CHANGE_MODELS)
department_change = TypeAdapter(DepartmentChange)

E = TypeVar("E", bound=InputEvent)


def stamp(event: E, event_id: str, now: datetime, reported_by: str | None = None) -> E:
    """Fill in the server-side fields an input event may leave out, and who reported it when the receiver knows."""
    return event.model_copy(
        update={
            "event_id": event.event_id or event_id,
            "reported_at": event.reported_at or now,
            "occurred_at": event.occurred_at or event.reported_at or now,
            "reported_by": reported_by or event.reported_by,
        }
    )


class Identification(WireModel):
    """An officer's word on who an unidentified case's subject is: written by the API to aid.identifications (keyed by the
    ID number) for intake, which resolves the person's household and hands the case over to it."""

    identification_id: EventId = Field(description="followable at GET /v1/events/{identification_id}")
    case_id: str = Field(pattern=r"^C[0-9A-F]{12}$")
    household_id: str = Field(min_length=1, max_length=64, description="the provisional household that holds the case")
    id_number: IdNumber
    name: FreeText | None = Field(default=None, min_length=1, max_length=50, description="the name, when the case has none or a wrong one")
    requested_at: AwareDatetime
    actor: str = Field(max_length=100, description="the officer's role")
    actor_name: str | None = Field(default=None, max_length=100)
