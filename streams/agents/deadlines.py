"""Deadlines agent: a per-worker queue of case wake-up times that turns due deadlines into commands."""

from datetime import datetime

import orjson

from schemas import topics
from schemas.case import CaseCommand
from streams.plumbing.app import app, case_commands, clock, households, settings
from streams.rules.cases import DEADLINES
from streams.rules.deadline_queue import DeadlineQueue
from streams.rules.household import HouseholdState

queue = DeadlineQueue()


@households.on_recover
async def rebuild_queue() -> None:
    """After an assignment and table recovery, plan every open case of the partitions now owned."""
    owned = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topics.SIGNALS}
    entries = (planned(stored) for stored in households.values())
    queue.rebuild((household_id, wake_at) for household_id, partition, wake_at in entries if partition in owned and wake_at is not None)


def planned(stored: HouseholdState | bytes) -> tuple[str, int, float | None]:
    """A households entry's id, partition and wake-up time, read without validating the whole state (recovery reads millions)."""
    if isinstance(stored, HouseholdState):
        return stored.household_id, stored.partition, stored.wake_at
    state = orjson.loads(stored)
    return state["household_id"], state["partition"], state.get("wake_at")


def due_commands(queue: DeadlineQueue, now: datetime) -> list[CaseCommand]:
    """A deadline_due command for every household whose wake-up time has come."""
    return [CaseCommand(type="deadline_due", household_id=key, issued_at=now, actor=DEADLINES) for key in queue.pop_due(now.timestamp())]


@app.timer(interval=settings.tick_interval_s)
async def tick() -> None:
    """Ask the case agent to re-evaluate every household whose case may have changed colour or tier."""
    for command in due_commands(queue, clock.now()):
        await case_commands.send(key=command.household_id.encode(), value=command.model_dump_json().encode())
