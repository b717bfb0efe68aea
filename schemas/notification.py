"""Notices on aid.notifications: who must act now, for an SMS or app-push sender to deliver."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.timing import Tier


class Notification(BaseModel):
    """One notice to the people on duty at a tier of an area; keyed `<tier>:<area_code>` on the topic."""

    notification_id: str = Field(description="<case_id>:<case version> (a visit: <visit_id>:<rung number>): repeats can be dropped by it")
    kind: Literal["opened", "status_changed", "escalated", "referral_declined", "visit_escalated", "supervision"]
    tier: Tier
    area_code: str = Field(description="village code, town code, or the 6-digit county/city code for city and leadership")
    recipient: str = Field(description="who at that tier, from the policy")
    case_id: str | None = Field(description="the case; none for a watched household's visit")
    priority: str | None = Field(description="the case's priority; none for a visit")
    status: str
    due_deadline: str | None
    due_at: datetime | None
    message: str
    at: datetime

    @property
    def key(self) -> str:
        """The topic key: tier and area, so one sender partition serves one duty desk."""
        return f"{self.tier.value}:{self.area_code}"
