"""After aid (seeds 000, 001, 004): referrals to partners, follow-up visits, satisfaction call-backs, watched households."""

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from schemas.timing import Deadline, Tier


class ReferralStatus(StrEnum):
    """Where a referral (转办转介) is: waiting for the partner's answer, accepted, declined, help reported, or withdrawn."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    DELIVERED = "delivered"
    REVOKED = "revoked"


ACTIVE_REFERRAL = frozenset({ReferralStatus.PENDING, ReferralStatus.ACCEPTED})  # still the partner's to answer or report


class Referral(BaseModel):
    """A case, or one part of the help it needs, referred to a partner: a department, a charity or a social organisation."""

    referral_id: str
    partner: str = Field(description="the partner's name in the partners file")
    request: str = Field(description="what the partner is asked to do, in the officer's words")
    status: ReferralStatus = ReferralStatus.PENDING
    referred_at: datetime
    referred_by: str | None = Field(default=None, description="the officer who referred it")
    answered_at: datetime | None = Field(default=None, description="when the partner accepted or declined")
    reason: str | None = Field(default=None, description="why the partner declined, or why the officer withdrew it")
    report: str | None = Field(default=None, description="the help the partner reports having given")
    delivered_at: datetime | None = None

    @property
    def accept_deadline(self) -> str:
        """Name of the case deadline by which the partner must accept or decline."""
        return f"referral:{self.referral_id}:accept"

    @property
    def deliver_deadline(self) -> str:
        """Name of the case deadline by which the partner must report the help given."""
        return f"referral:{self.referral_id}:deliver"


class Rating(StrEnum):
    """The person's satisfaction with the help (好差评, seed 001 Wenshang)."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


class VisitKind(StrEnum):
    """A follow-up visit after aid (回访), the satisfaction call-back after closing, a watched household's visit (探访)."""

    FOLLOW_UP = "follow_up"
    CALLBACK = "callback"
    WATCH = "watch"


class WatchCategory(StrEnum):
    """Households visited on a cadence whether or not anyone calls (分级分类探访, seed 004)."""

    ELDERLY_ALONE = "elderly_alone"
    SEVERE_DISABILITY = "severe_disability"
    CHILD_WITHOUT_CARER = "child_without_carer"
    EXTREME_POVERTY = "extreme_poverty"


# A visit no longer to be made: made, or withdrawn (a call-back about a closing that a reopening undid).
VISIT_ENDED = frozenset({"done", "withdrawn"})


class Visit(BaseModel):
    """A visit or call due at a household, with its own clock, colour and rung on the ladder; done once recorded."""

    visit_id: str
    kind: VisitKind
    case_id: str | None = Field(default=None, description="the case it follows up (follow-ups and call-backs)")
    deadline: Deadline
    status: Literal["green", "yellow", "red", "done", "withdrawn"] = "green"
    tier: Tier = Tier.VILLAGE
    red_since: datetime | None = None
    done_at: datetime | None = Field(default=None, description="when it was made, or withdrawn")
    done_by: str | None = Field(default=None, description="who visited or called, or withdrew it by reopening the case")
    found: str | None = Field(default=None, description="what the visitor found, or the person's words on a call-back")
    more_help: bool | None = Field(default=None, description="whether the household needs more help (a new signal)")
    rating: Rating | None = Field(default=None, description="call-backs: the person's rating")


class Watch(BaseModel):
    """Why a household is on the watch list, and since when."""

    categories: list[WatchCategory]
    since: datetime
