"""Triage agent: the single writer of each household's state and open case."""

from functools import partial

from schemas import topics
from schemas.case import CaseCommand, Signal
from streams.agents.deadlines import queue
from streams.app import app, case_events, clock, households, notifications, policy, process_or_deadletter, settings
from streams.cases import Outcome, apply_signal, apply_tick
from streams.deadlines import next_transition_at
from streams.household import HouseholdState
from streams.metrics import observe
from streams.normalise import RejectedInput, parse
from streams.notifications import notifications_for
from streams.workflow import apply_command

inputs = app.topic(topics.SIGNALS, topics.CASE_COMMANDS, partitions=settings.partitions, key_type=bytes, value_type=bytes)


def decide(topic: str, household_id: str, state: HouseholdState, raw: bytes) -> Outcome:
    """Apply one signal or command, keyed by household_id, to the household state."""
    message = parse(Signal.model_validate if topic == topics.SIGNALS else CaseCommand.model_validate, raw)
    if message.household_id != household_id:
        raise RejectedInput("household_id: does not match the message key", "household_id")
    if isinstance(message, Signal):
        return apply_signal(state, message, clock.now(), policy)
    if message.type == "deadline_due":
        return apply_tick(state, clock.now(), policy)
    return apply_command(state, message, clock.now(), policy)


def with_wake_time(state: HouseholdState) -> HouseholdState:
    """Record when time alone next changes the household's open case."""
    wake = next_transition_at(state.open_case, policy) if state.open_case else None
    return state.model_copy(update={"wake_at": wake.timestamp() if wake else None})


@app.agent(inputs)
async def triage(stream):
    """Score signals, open or update cases, apply deadline ticks; emit every change on aid.case-events."""
    async for event in stream.events():
        message = event.message
        key = message.key or b""
        household_id = key.decode("utf-8", "replace")
        stored = households.get(key)
        state = HouseholdState.model_validate(stored) if stored else HouseholdState(household_id=household_id, partition=message.partition)
        outcome = await process_or_deadletter(event, partial(decide, message.topic, household_id, state))
        if outcome is None:
            continue
        new_state = with_wake_time(outcome.state)
        queue.schedule(household_id, new_state.wake_at)
        if not outcome.events:
            continue
        households[key] = new_state.model_dump(mode="json")
        observe(outcome.events)
        for case_event in outcome.events:
            await case_events.send(key=key, value=case_event.model_dump_json().encode())
            for notice in notifications_for(case_event, policy):
                await notifications.send(key=notice.key.encode(), value=notice.model_dump_json().encode())
