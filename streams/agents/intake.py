"""Intake stage: validates input events, resolves each subject's household, forwards household-keyed signals.

Intake holds no state of its own, so it reads the input topics with a plain aiokafka consumer group
rather than a Faust stream: Faust's per-event cost (about as much as the whole rest of the pipeline)
is then paid once, in triage, where the tables are. Offsets are committed only after a batch's
signals and dead letters are written; a replayed batch yields the same signals, which triage
recognises by event id.
"""

import logging
from datetime import datetime
from functools import partial

import mode
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import CommitFailedError

from schemas import topics
from schemas.case import Signal
from schemas.departments import load_departments
from schemas.intake import InputEvent, MemberAdded
from streams.plumbing.app import app, clock, dead_letter_on_failure, new_effects, outbox, persons, read_model, readiness, register, settings
from streams.plumbing.effects import REDIS_ERRORS, Effects, until_written
from streams.plumbing.metrics import SOURCES, events_in, projection_errors
from streams.rules.normalise import (
    content_digest,
    fallback_household,
    offset_event_id,
    parse_input,
    pseudonym,
    refuse_conflicting,
    signal_from_event,
)

log = logging.getLogger(__name__)
SECRET = settings.pseudonym_secret.encode()
DEPARTMENTS = load_departments(settings.departments)


def parsed(record: ConsumerRecord, received_ms: int, effects: Effects) -> InputEvent | None:
    """The record's validated input event, or None when it was dead-lettered."""
    with dead_letter_on_failure(record, received_ms, effects):
        return parse_input(record.topic, record.value, DEPARTMENTS, register)
    return None


def to_signal(record: ConsumerRecord, event: InputEvent, received: datetime, effects: Effects) -> Signal:
    """Normalise a validated input event into a signal for the subject's household.

    The household is the one the event names, else the one the registry last placed the person in
    (the persons table), else a household of the person alone.
    """
    person_key = pseudonym(event.subject.id_number, SECRET)
    if isinstance(event, MemberAdded):
        effects.set(persons, person_key, event.household_id, record.partition)
    household_id = event.household_id or persons.get(person_key) or fallback_household(person_key)
    event_id = offset_event_id(record.topic, record.partition, record.offset)
    return signal_from_event(event, household_id, event_id, received, SECRET)


async def earlier_digests(events: list[InputEvent | None]) -> tuple[list[str | None], list[str | None]]:
    """Each event's content digest and the digest its event id already had (None: first seen, or no event id of its own).

    Recorded in Redis for the whole batch in one round trip, in order, so a repeat within the batch sees the first.
    An event without an id gets one from its place in the log, which no other record can share.
    """
    digests = [content_digest(event) if event is not None and event.event_id else None for event in events]
    claims = [(event.event_id, digest) for event, digest in zip(events, digests, strict=True) if digest is not None]
    if not claims:
        return digests, [None] * len(events)
    found = iter(await until_written("event digests", partial(read_model.claim_digests, claims), REDIS_ERRORS, projection_errors))
    return digests, [next(found) if digest is not None else None for digest in digests]


async def intake_batch(records: list[ConsumerRecord], effects: Effects) -> None:
    """Forward each input event of a batch as a signal stamped with the time intake received the batch, or dead-letter it.

    The record's own timestamp is the producer's to set, so it decides nothing: the receipt time is stamped into
    the signal (and its record), and triage's rules run at it, so a replay of the signal repeats exactly.
    An event id already seen with other content is a conflicting duplicate, dead-lettered; with the same content
    (a producer's retry, a replay after a crash) it passes, and triage drops the repeat.
    """
    received = clock.now()
    received_ms = round(received.timestamp() * 1000)
    for record in records:
        events_in.labels(SOURCES[record.topic]).inc()
    events = [parsed(record, received_ms, effects) for record in records]
    digests, earlier = await earlier_digests(events)
    for record, event, digest, earlier_digest in zip(records, events, digests, earlier, strict=True):
        if event is None:
            continue
        with dead_letter_on_failure(record, received_ms, effects):
            refuse_conflicting(event.event_id, digest, earlier_digest)
            signal = to_signal(record, event, received, effects)
            effects.send(topics.SIGNALS, signal.household_id.encode(), signal.model_dump_json().encode(), received_ms)


class Intake(mode.Service):
    """The intake consumer group: a batch of input events in, its signals out, then its offsets committed."""

    async def on_start(self) -> None:
        await outbox.start()
        self.consumer = AIOKafkaConsumer(
            *topics.INPUTS,
            bootstrap_servers=settings.kafka,
            group_id=f"{settings.app_id}-intake",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            session_timeout_ms=int(settings.session_timeout_s * 1000),
            heartbeat_interval_ms=int(min(3.0, settings.session_timeout_s / 3) * 1000),
        )
        await self.consumer.start()
        readiness.holds("intake", self.consumer.assignment)

    async def on_stop(self) -> None:
        await self.consumer.stop()

    @mode.Service.task
    async def _consume(self) -> None:
        # Households are resolved through the persons table, so it must be recovered first.
        await app.tables.recovery.completed.wait()
        while not self.should_stop:
            fetched = await self.consumer.getmany(timeout_ms=200, max_records=settings.batch_size)
            if not fetched:
                continue
            effects = new_effects()
            await intake_batch([record for records in fetched.values() for record in records], effects)
            # Registry links first: a replay after a crash then routes the batch's events to the same households,
            # whichever input topic it happens to read first.
            await effects.commit(tables_first=True)
            try:
                await self.consumer.commit()
            except CommitFailedError as error:
                # The group rebalanced: the new owner re-reads the batch and triage skips what it has seen.
                log.warning("intake offsets not committed (%s); the batch will be read again", error)


app.early_service(Intake())  # its group joins while the tables recover
