"""What the case agent remembers about a household: context, recent signals, its open case."""

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from schemas.case import Case, Signal
from schemas.intake import HouseholdFlags

SEEN_EVENT_IDS_KEPT = 512


class RecentSignal(BaseModel):
    """A signal kept for compounding and repeat detection."""

    event_id: str
    source: str
    kind: str
    at: datetime
    person_key: str
    caller_key: str | None = None


class HouseholdState(BaseModel):
    """The value of the households table, one per household id."""

    household_id: str
    partition: int = Field(default=-1, description="partition that owns this household, for rebuilding deadline queues")
    flags: HouseholdFlags = Field(default_factory=HouseholdFlags)
    recent: list[RecentSignal] = Field(default_factory=list)
    seen_event_ids: list[str] = Field(default_factory=list)
    open_case: Case | None = None
    wake_at: float | None = Field(default=None, description="epoch seconds when time alone next changes the open case")


def merge_flags(known: HouseholdFlags, reported: HouseholdFlags) -> HouseholdFlags:
    """Combine vulnerability facts: a reported fact adds to what is known, never erases it."""
    return HouseholdFlags(
        children=max(known.children, reported.children),
        elderly_alone=known.elderly_alone or reported.elderly_alone,
        disabled=known.disabled or reported.disabled,
        pregnant=known.pregnant or reported.pregnant,
    )


def remember(state: HouseholdState, signal: Signal, now: datetime, window_s: float) -> HouseholdState:
    """Return the state with the signal recorded and signals older than the window dropped."""
    horizon = now - timedelta(seconds=window_s)
    recent = [r for r in state.recent if r.at >= horizon]
    recent.append(
        RecentSignal(
            event_id=signal.event_id,
            source=signal.source,
            kind=signal.kind,
            at=signal.occurred_at,
            person_key=signal.person_key,
            caller_key=signal.caller_key,
        )
    )
    return state.model_copy(
        update={
            "flags": merge_flags(state.flags, signal.flags),
            "recent": recent,
            "seen_event_ids": [*state.seen_event_ids, signal.event_id][-SEEN_EVENT_IDS_KEPT:],
        }
    )
