"""A priority queue of per-household wake-up times with lazy deletion: a tick costs O(due entries)."""

import heapq
from collections.abc import Iterable


class DeadlineQueue:
    """Holds at most one live wake-up time per key; rescheduling leaves a stale heap entry that is skipped."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._due)

    def schedule(self, key: str, at: float | None) -> None:
        """Wake key at time at (epoch seconds), replacing any earlier plan; None cancels."""
        if at is None:
            self._due.pop(key, None)
            return
        if self._due.get(key) == at:
            return
        self._due[key] = at
        heapq.heappush(self._heap, (at, key))
        if len(self._heap) > 2 * len(self._due) + 1024:
            self.rebuild(self._due.items())

    def pop_due(self, now: float) -> list[str]:
        """Remove and return every key whose wake-up time has come."""
        due = []
        while self._heap and self._heap[0][0] <= now:
            at, key = heapq.heappop(self._heap)
            if self._due.get(key) == at:
                del self._due[key]
                due.append(key)
        return due

    def rebuild(self, entries: Iterable[tuple[str, float]]) -> None:
        """Replace the whole queue, as after a partition assignment."""
        self._due = dict(entries)
        self._heap = [(at, key) for key, at in self._due.items()]
        heapq.heapify(self._heap)
