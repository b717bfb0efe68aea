"""Clocks shared by cases and visits: traffic-light colours, the escalation ladder and deadlines."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


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
