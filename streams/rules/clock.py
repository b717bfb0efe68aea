"""The one source of time for the rules, injectable so tests can run a two-hour case in seconds."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

CHINA = timezone(timedelta(hours=8))  # China Standard Time, in which people read times and working days count


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """Return the frozen time."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move time forward and return the new time."""
        self._now += timedelta(seconds=seconds)
        return self._now
