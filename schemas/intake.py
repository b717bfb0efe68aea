"""Input events as hotlines, hospitals and departments send them."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.ids import normalise_id_number

EventId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
IdNumber = Annotated[str, AfterValidator(normalise_id_number), Field(description="18-character resident ID number (GB 11643 check digit)")]


class WireModel(BaseModel):
    """Base for wire models: unknown fields are refused so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Area(WireModel):
    """Where the emergency is (not where the person is registered): town, village, grid codes."""

    town: str = Field(pattern=r"^\d{9}$", description="9-digit town (乡镇/街道) code")
    village: str = Field(pattern=r"^\d{12}$", description="12-digit village (村/社区) code")
    grid: str | None = Field(default=None, pattern=r"^\d{12}-\d{2,4}$", description="grid code: village code, dash, grid number")

    @model_validator(mode="after")
    def _nested_codes(self) -> "Area":
        if not self.village.startswith(self.town):
            raise ValueError("village code must start with its town code")
        if self.grid and not self.grid.startswith(self.village):
            raise ValueError("grid code must start with its village code")
        return self


class Subject(WireModel):
    """The person the event is about."""

    id_number: IdNumber
    name: str = Field(min_length=1, max_length=50)


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


class HotlineCall(WireModel):
    """A call to the 12345 / 12349 social-assistance hotline, as the operator records it."""

    event_id: EventId | None = Field(default=None, description="client-chosen unique id; the API assigns a UUIDv7 when absent")
    occurred_at: AwareDatetime | None = Field(default=None, description="when the emergency happened (ISO 8601 with offset)")
    reported_at: AwareDatetime | None = Field(default=None, description="when the call was taken; the API fills in the time of receipt")
    caller_phone: str = Field(pattern=r"^\+?\d{5,20}$")
    subject: Subject
    area: Area
    category: CallCategory
    description: str = Field(default="", max_length=2000)
    flags: HouseholdFlags = Field(default_factory=HouseholdFlags)
    household_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="registry household id when the operator knows it",
    )


def stamp(call: HotlineCall, event_id: str, now: datetime) -> HotlineCall:
    """Fill in the server-side fields an input event may leave out."""
    return call.model_copy(
        update={
            "event_id": call.event_id or event_id,
            "reported_at": call.reported_at or now,
            "occurred_at": call.occurred_at or call.reported_at or now,
        }
    )
