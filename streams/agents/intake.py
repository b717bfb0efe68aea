"""Intake stage: validates input events, resolves each subject's household, forwards household-keyed signals.

Intake holds no state of its own, so it reads the input topics with a plain aiokafka consumer group
rather than a Faust stream: Faust's per-event cost (about as much as the whole rest of the pipeline)
is then paid once, in triage, where the tables are. Offsets are committed only after a batch's
signals and dead letters are written; a replayed batch yields the same signals (each event id is routed
as it was the first time), which triage recognises by event id.
"""

import logging
from collections import Counter
from functools import partial

import mode
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import CommitFailedError

from schemas import topics
from schemas.departments import load_departments
from schemas.intake import Identification, InputEvent, MemberAdded
from schemas.readmodel import CLAIMS_HEADER, parse_claim, record_digest_key, route_claim
from streams.plumbing.app import (
    app,
    clock,
    dead_letter_on_failure,
    group_consumer,
    new_effects,
    outbox,
    persons,
    read_model,
    readiness,
    register,
    settings,
)
from streams.plumbing.effects import REDIS_ERRORS, Effects, until_written
from streams.plumbing.metrics import SOURCES, events_in, projection_errors
from streams.rules.normalise import (
    content_digest,
    household_of_person,
    identification_hand_over,
    offset_event_id,
    parse,
    parse_input,
    person_key_of,
    pseudonym,
    refuse_conflicting,
    registry_hand_over,
    signal_from_event,
    time_of,
)

log = logging.getLogger(__name__)
SECRET = settings.pseudonym_secret.encode()
DEPARTMENTS = load_departments(settings.departments)


def parsed(record: ConsumerRecord, effects: Effects) -> InputEvent | Identification | None:
    """The record's validated input event or identification, or None when it was dead-lettered."""
    with dead_letter_on_failure(record, record.timestamp, effects):
        if record.topic == topics.IDENTIFICATIONS:
            return parse(Identification.model_validate, record.value)
        return parse_input(record.topic, record.value, DEPARTMENTS, register)
    return None


def placed_household(person_key: str) -> str | None:
    """The household the registry last placed the person in (the persons table), or None."""
    return persons.data.get(person_key)  # from the store: the table's per-read sensor cost more than the read


def subject_key(event: InputEvent | Identification, event_id: str) -> str:
    """The person key of the event's subject (of an identification: the person identified)."""
    return pseudonym(event.id_number, SECRET) if isinstance(event, Identification) else person_key_of(event, event_id, SECRET)


def household_of(record: ConsumerRecord, event: InputEvent | Identification, person_key: str, effects: Effects) -> str:
    """The household an event belongs to, recording a registry link it carries; for an identification, the household
    that takes the case over.

    The one the event names, else the one the registry last placed the person in, else a household of the person alone
    (for someone known by no ID number, a provisional household of the call).
    """
    if isinstance(event, MemberAdded):
        effects.set(persons, person_key, event.household_id, record.partition)
    own = None if isinstance(event, Identification) else event.household_id
    return own or placed_household(person_key) or household_of_person(person_key)


def registry_link_moves(event: InputEvent | Identification, person_key: str) -> bool:
    """Whether the event is a registry link placing a person the persons table had not placed (so still in their own household)."""
    return isinstance(event, MemberAdded) and placed_household(person_key) is None


def event_id_of(record: ConsumerRecord, event: InputEvent | Identification | None) -> str | None:
    """The event's own id, else one from its place in the log, which no other record can share (None: dead-lettered)."""
    if event is None:
        return None
    if isinstance(event, Identification):
        return event.identification_id
    return event.event_id or offset_event_id(record.topic, record.partition, record.offset)


async def earlier_claims(event_ids: list[str | None], digests: list[str | None]) -> list[str | None]:
    """Claim each event id for its content digest; what each id was already claimed with (None: first seen).

    Recorded in Redis for the whole batch in one round trip, in order, so a repeat within the batch sees the first.
    """
    claims = [(event_id, digest) for event_id, digest in zip(event_ids, digests, strict=True) if event_id is not None]
    if not claims:
        return [None] * len(event_ids)
    found = iter(await until_written("event claims", partial(read_model.claim_digests, claims), REDIS_ERRORS, projection_errors))
    return [next(found) if event_id is not None else None for event_id in event_ids]


async def intake_batch(records: list[ConsumerRecord], effects: Effects) -> None:
    """Forward each input event of a batch as a signal stamped with the time intake received the batch, or dead-letter it.

    The record's own timestamp is the producer's to set, so it decides nothing: the receipt time is stamped into
    the signal (and its record), and triage's rules run at it. An event id already seen with other content is a
    conflicting duplicate, dead-lettered; with the same content (a producer's retry, a replay after a crash) it goes
    where it went the first time, at the time it was first received, so triage recognises and drops the repeat —
    even when a registry link read meanwhile would now place the person in another household.

    An identification becomes a hand_over of the case's provisional household to the person's household, resolved and
    claimed the same way; a registry link placing a person not placed before also hands the person's own household
    over to the registry's. Hand_overs go on aid.signals, after the signals already routed to the household they empty.
    """
    received_ms = round(clock.now().timestamp() * 1000)
    for topic, count in Counter(record.topic for record in records).items():
        events_in.labels(SOURCES[topic]).inc(count)
    events = [parsed(record, effects) for record in records]
    event_ids = [event_id_of(record, event) for record, event in zip(records, events, strict=True)]
    digests = [content_digest(event) if event is not None else None for event in events]
    earlier = await earlier_claims(event_ids, digests)
    routes = []
    for record, event, event_id, digest, claim in zip(records, events, event_ids, digests, earlier, strict=True):
        if event is not None and (route := forward(record, event, event_id, digest, claim, received_ms, effects)):
            routes.append((event_id, route))
    await until_written("event routes", partial(read_model.record_routes, routes), REDIS_ERRORS, projection_errors)


def forward(
    record: ConsumerRecord,
    event: InputEvent | Identification,
    event_id: str,
    digest: str,
    claim: str | None,
    received_ms: int,
    effects: Effects,
) -> str | None:
    """Send one validated event on as its signal (and hand_over) where its claim routed it, or dead-letter it; return the
    claim to record when the event is new (None: seen before)."""
    earlier_digest, route = parse_claim(claim) if claim else (None, None)
    new_claim = None
    with dead_letter_on_failure(record, record.timestamp, effects):
        refuse_conflicting(event_id, digest, earlier_digest)
        person_key = subject_key(event, event_id)
        moves = registry_link_moves(event, person_key)
        household_id = household_of(record, event, person_key, effects)
        if route is None:
            route = (household_id, received_ms)
            new_claim = route_claim(digest, *route)
        received = time_of(route[1])
        # The claim travels with the signal, so a rebuild after a Redis loss restores it (see rebuild.restore_claims).
        claims = [[record_digest_key(event_id), route_claim(digest, *route), settings.event_result_ttl_s]]
        headers = ((CLAIMS_HEADER, orjson.dumps(claims)),)
        if isinstance(event, Identification):
            command = identification_hand_over(event, route[0], received, SECRET)
            effects.send(topics.SIGNALS, event.household_id.encode(), command.model_dump_json().encode(), route[1], headers=headers)
        else:
            signal = signal_from_event(event, route[0], event_id, received, SECRET)
            if moves:
                command = registry_hand_over(event, signal.person_key, event_id, received)
                effects.send(topics.SIGNALS, command.household_id.encode(), command.model_dump_json().encode(), route[1])
            effects.send(topics.SIGNALS, route[0].encode(), signal.model_dump_json().encode(), route[1], headers=headers)
    return new_claim


class Intake(mode.Service):
    """The intake consumer group: a batch of input events in, its signals out, then its offsets committed."""

    consumer: AIOKafkaConsumer | None = None

    async def on_start(self) -> None:
        await outbox.start()
        self.consumer = group_consumer("intake", *topics.INTAKE)
        await self.consumer.start()
        readiness.holds("intake", self.consumer.assignment)

    async def on_stop(self) -> None:
        if self.consumer is not None:  # None when the worker stopped before this service started
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
            await effects.commit()
            try:
                await self.consumer.commit()
            except CommitFailedError as error:
                # The group rebalanced: the new owner re-reads the batch and triage skips what it has seen.
                log.warning("intake offsets not committed (%s); the batch will be read again", error)


app.early_service(Intake())  # its group joins while the tables recover
