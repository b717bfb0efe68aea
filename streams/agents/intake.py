"""Intake agent: validates input events and forwards them as household-keyed signals."""

from functools import partial

from schemas.case import Signal
from schemas.intake import HotlineCall
from streams.app import app, clock, hotline_calls, process_or_deadletter, settings, signals
from streams.normalise import offset_event_id, parse, signal_from_call

SECRET = settings.pseudonym_secret.encode()


def to_signal(topic: str, partition: int, offset: int, raw: bytes) -> Signal:
    """Validate a hotline call and normalise it into a signal."""
    call = parse(HotlineCall, raw)
    return signal_from_call(call, offset_event_id(topic, partition, offset), clock.now(), SECRET)


@app.agent(hotline_calls)
async def intake(stream):
    """Turn each hotline call into a Signal on aid.signals, or a dead letter with the reason."""
    async for event in stream.events():
        message = event.message
        signal = await process_or_deadletter(event, partial(to_signal, message.topic, message.partition, message.offset))
        if signal is not None:
            await signals.send(key=signal.household_id.encode(), value=signal.model_dump_json().encode())
