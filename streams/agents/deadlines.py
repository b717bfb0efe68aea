"""Deadlines agent: a per-worker queue of case wake-up times that turns due deadlines into commands."""

from schemas import topics
from schemas.case import CaseCommand
from streams.app import app, case_commands, clock, household_state, households, settings
from streams.cases import DEADLINES
from streams.deadline_queue import DeadlineQueue

queue = DeadlineQueue()


@households.on_recover
async def rebuild_queue() -> None:
    """After an assignment and table recovery, plan every open case of the partitions now owned."""
    owned = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topics.SIGNALS}
    states = (household_state(stored) for stored in households.values())
    queue.rebuild((state.household_id, state.wake_at) for state in states if state.partition in owned and state.wake_at is not None)


@app.timer(interval=settings.tick_interval_s)
async def tick() -> None:
    """Ask the case agent to re-evaluate every household whose case may have changed colour or tier."""
    now = clock.now()
    for household_id in queue.pop_due(now.timestamp()):
        command = CaseCommand(type="deadline_due", household_id=household_id, issued_at=now, actor=DEADLINES)
        await case_commands.send(key=household_id.encode(), value=command.model_dump_json().encode())
