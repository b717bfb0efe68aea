"""Intake stage: validates input events, resolves each subject's household, forwards household-keyed signals.

Intake holds no state of its own, so it reads the input topics with a plain aiokafka consumer group
rather than a Faust stream: Faust's per-event cost (about as much as the whole rest of the pipeline)
is then paid once, in triage, where the tables are. Offsets are committed only after a batch's
signals and dead letters are written; a replayed batch yields the same signals, which triage
recognises by event id.
"""

import logging
from datetime import datetime

import mode
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import CommitFailedError

from schemas import topics
from schemas.case import Signal
from schemas.departments import load_departments
from schemas.intake import MemberAdded
from streams.plumbing.app import app, clock, dead_letter_on_failure, new_effects, outbox, persons, readiness, register, settings
from streams.plumbing.effects import Effects
from streams.plumbing.metrics import SOURCES, events_in
from streams.rules.normalise import fallback_household, offset_event_id, parse_input, pseudonym, signal_from_event

log = logging.getLogger(__name__)
SECRET = settings.pseudonym_secret.encode()
DEPARTMENTS = load_departments(settings.departments)


def to_signal(record: ConsumerRecord, received: datetime, effects: Effects) -> Signal:
    """Validate an input event and normalise it into a signal for the subject's household.

    The household is the one the event names, else the one the registry last placed the person in
    (the persons table), else a household of the person alone.
    """
    event = parse_input(record.topic, record.value, DEPARTMENTS, register)
    person_key = pseudonym(event.subject.id_number, SECRET)
    if isinstance(event, MemberAdded):
        effects.set(persons, person_key, event.household_id, record.partition)
    household_id = event.household_id or persons.get(person_key) or fallback_household(person_key)
    event_id = offset_event_id(record.topic, record.partition, record.offset)
    return signal_from_event(event, household_id, event_id, received, SECRET)


def intake_one(record: ConsumerRecord, effects: Effects) -> None:
    """Forward one input event as a signal stamped with the time intake received it, or dead-letter it.

    The record's own timestamp is the producer's to set, so it decides nothing: the receipt time is stamped into
    the signal (and its record), and triage's rules run at it, so a replay of the signal repeats exactly.
    """
    events_in.labels(SOURCES[record.topic]).inc()
    received = clock.now()
    received_ms = round(received.timestamp() * 1000)
    with dead_letter_on_failure(record, received_ms, effects):
        signal = to_signal(record, received, effects)
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
            for records in fetched.values():
                for record in records:
                    intake_one(record, effects)
            await effects.commit()
            try:
                await self.consumer.commit()
            except CommitFailedError as error:
                # The group rebalanced: the new owner re-reads the batch and triage skips what it has seen.
                log.warning("intake offsets not committed (%s); the batch will be read again", error)


app.early_service(Intake())  # its group joins while the tables recover
