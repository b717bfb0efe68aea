"""The Faust application, its topics and tables, and where each batch's effects are written."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import faust
import mode
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from schemas import topics
from schemas.ids import mask_id_numbers_in
from schemas.messages import say
from schemas.partners import load_partners
from schemas.register import load_register
from streams.config import settings
from streams.plumbing import metrics
from streams.plumbing.effects import Effects, Outbox
from streams.plumbing.metrics import validation_failures
from streams.plumbing.readiness import Readiness
from streams.plumbing.readmodel import ReadModelWriter
from streams.plumbing.rebuild import ReadModelGuard
from streams.plumbing.transport import App
from streams.policies import load_policy
from streams.rules.clock import SystemClock
from streams.rules.household import HouseholdState
from streams.rules.normalise import RejectedInput, dead_letter, event_id_in, time_of

log = logging.getLogger(__name__)


class Record(Protocol):
    """What Faust messages and aiokafka records have in common."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


def create_app(app_id: str, registry: CollectorRegistry) -> App:
    """A Faust app on the worker's settings (the benchmark's empty agent runs on the same)."""
    faust_app = App(
        app_id,
        broker=f"kafka://{settings.kafka}",
        # Ours, not Faust's stores: they take the partition of each entry (streams.plumbing.stores says why).
        store=f"rapidaid-{settings.table_store}://",
        datadir=settings.tables_dir / f"{app_id}-{settings.worker_port}",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        producer_acks=-1,
        web_port=settings.worker_port,
        # web_bind is the interface Faust listens on (all of them unless told); web_host only names it in URLs.
        web_bind=settings.worker_host,
        web_host=settings.worker_host,
        key_serializer="raw",
        value_serializer="raw",
    )
    faust_app.fetch_max_wait_ms = settings.fetch_max_wait_ms
    faust_app.broker_reports_true_end = settings.broker_reports_true_end
    faust_app.monitor = metrics.faust_sensors(registry)
    return faust_app


app = create_app(settings.app_id, metrics.registry)
policy = load_policy(settings.policy)
clock = SystemClock()
register = load_register(settings.county_register)


def place_name(code: str) -> str:
    """The register's name of a town or village for notices, its code when the register has none."""
    return register.name_of(code) or code


def partner_name(name: str) -> str:
    """A partner's Chinese name for notices, its name in the partners file when the file has none."""
    partner = load_partners(settings.partners).partners.get(name)
    return partner.name_zh if partner else name


def topic(*names: str, acks: bool = True) -> faust.TopicT:
    """One or more topics of raw bytes with the configured partition count (acks=False: the agent commits its own offsets)."""
    return app.topic(*names, partitions=settings.partitions, key_type=bytes, value_type=bytes, acks=acks)


case_commands = topic(topics.CASE_COMMANDS)

# Person key → household id, from household-registry events. Global: input topics are keyed by
# person, but kcat (librdkafka) and aiokafka partition keys differently, so no co-partitioning holds.
persons = app.GlobalTable("persons", partitions=settings.partitions, key_type=str, value_type=str)


# Keyed by the household id bytes of the message key. Values are bytes to Faust (its changelog records are the state's
# JSON): recovery keeps them as they are, a few kB each, and an entry is made a model when its household is next read;
# the memory store keeps the HouseholdState models written in this process as they are.
households = app.Table("households", partitions=settings.partitions, key_type=bytes, value_type=bytes)


def household_state(stored: HouseholdState | bytes) -> HouseholdState:
    """A households table entry as a model, whether written in this process or recovered from the changelog."""
    return stored if isinstance(stored, HouseholdState) else HouseholdState.model_validate_json(stored)


outbox = Outbox(settings.kafka, settings.partitions)
read_model = ReadModelWriter(Redis.from_url(settings.redis), settings.event_result_ttl_s, settings.live_stream_length)


class OutboxService(mode.Service):
    """Starts and stops the batch producer with the worker."""

    async def on_start(self) -> None:
        await outbox.start()

    async def on_stop(self) -> None:
        await outbox.stop()


app.service(OutboxService)
readiness = app.early_service(Readiness(app, read_model.redis))
app.early_service(ReadModelGuard(read_model.redis, settings, readiness.worker_id))
readiness.holds("triage", lambda: app.consumer.assignment())


def group_consumer(name: str, *topic_names: str) -> AIOKafkaConsumer:
    """A plain consumer group of the worker's own (`<app id>-<name>`), from the log's start, committing offsets itself."""
    return AIOKafkaConsumer(
        *topic_names,
        bootstrap_servers=settings.kafka,
        group_id=f"{settings.app_id}-{name}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        heartbeat_interval_ms=int(min(3.0, settings.session_timeout_s / 3) * 1000),
    )


def new_effects() -> Effects:
    """An empty set of effects for one batch of events."""
    return Effects(outbox, read_model)


@contextmanager
def dead_letter_on_failure(record: Record, timestamp_ms: int, effects: Effects) -> Iterator[None]:
    """Dead-letter the record if handling it fails, with the reason, so its partition moves on; timestamp_ms is the
    record's own (a replay after a crash writes the same letter the read model already holds)."""
    value = record.value or b""  # a tombstone (no value) is dead-lettered like any other bad record
    try:
        yield
    except Exception as error:
        if isinstance(error, RejectedInput):
            rejected = error
        else:  # a bug in one rule must not stall a whole partition
            log.exception("internal error on %s[%d]@%d", record.topic, record.partition, record.offset)
            rejected = RejectedInput(
                say("validation.internal_error", error=f"{type(error).__name__}: {error}"), event_id=event_id_in(value), kind="internal"
            )
        validation_failures.labels(record.topic, rejected.kind).inc()
        log.warning("dead-lettered %s[%d]@%d: %s", record.topic, record.partition, record.offset, mask_id_numbers_in(rejected.reason))
        letter = dead_letter(rejected, record.topic, record.partition, record.offset, record.key, value, time_of(timestamp_ms))
        # Keyed by the masked key: the original key is the subject's ID number on every input topic.
        effects.send(topics.DEADLETTER, (letter.key or letter.event_id).encode(), letter.model_dump_json().encode(), project=True)
