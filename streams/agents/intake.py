"""Intake agent: validates input events, resolves each subject's household, forwards household-keyed signals."""

from functools import partial

from schemas.case import Signal
from schemas.departments import load_departments
from schemas.intake import MemberAdded
from streams.app import app, clock, inputs, persons, process_or_deadletter, settings, signals
from streams.metrics import SOURCES, events_in
from streams.normalise import fallback_household, offset_event_id, parse_input, pseudonym, signal_from_event

SECRET = settings.pseudonym_secret.encode()
DEPARTMENTS = load_departments(settings.departments)


def to_signal(topic: str, partition: int, offset: int, raw: bytes) -> Signal:
    """Validate an input event and normalise it into a signal for the subject's household.

    The household is the one the event names, else the one the registry last placed the person in
    (the persons table), else a household of the person alone.
    """
    event = parse_input(topic, raw, DEPARTMENTS)
    person_key = pseudonym(event.subject.id_number, SECRET)
    if isinstance(event, MemberAdded):
        persons[person_key] = event.household_id
    household_id = event.household_id or persons.get(person_key) or fallback_household(person_key)
    return signal_from_event(event, household_id, offset_event_id(topic, partition, offset), clock.now(), SECRET)


@app.agent(inputs)
async def intake(stream):
    """Turn each input event into a Signal on aid.signals, or a dead letter with the reason."""
    async for event in stream.events():
        message = event.message
        events_in.labels(SOURCES[message.topic]).inc()
        signal = await process_or_deadletter(event, partial(to_signal, message.topic, message.partition, message.offset))
        if signal is not None:
            await signals.send(key=signal.household_id.encode(), value=signal.model_dump_json().encode())
