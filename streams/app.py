"""The Faust application, its topics and its table."""

import logging
from collections.abc import Callable
from typing import TypeVar

import faust
import orjson
from faust.sensors.prometheus import setup_prometheus_sensors

from schemas import topics
from streams import metrics
from streams.clock import SystemClock
from streams.config import settings
from streams.metrics import reason_kind, validation_failures
from streams.normalise import RejectedInput, dead_letter, event_id_of
from streams.policy import load_policy
from streams.transport import App

log = logging.getLogger(__name__)
T = TypeVar("T")

app = App(
    settings.app_id,
    broker=f"kafka://{settings.kafka}",
    store="memory://",
    topic_partitions=settings.partitions,
    broker_session_timeout=settings.session_timeout_s,
    broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
    producer_acks=-1,
    web_port=settings.worker_port,
    web_host="127.0.0.1",
    key_serializer="raw",
    value_serializer="raw",
)
app.fetch_max_wait_ms = settings.fetch_max_wait_ms
# Faust's own sensors (messages, commits, rebalances, end and committed offsets per partition → lag).
setup_prometheus_sensors(app, registry=metrics.registry, name_prefix="rapidaid_faust")
policy = load_policy(settings.policy)
clock = SystemClock()


def _topic(name: str) -> faust.TopicT:
    return app.topic(name, partitions=settings.partitions, key_type=bytes, value_type=bytes)


inputs = app.topic(
    topics.HOTLINE_CALLS,
    topics.HOSPITAL_ADMISSIONS,
    topics.DEPARTMENT_CHANGES,
    partitions=settings.partitions,
    key_type=bytes,
    value_type=bytes,
)
signals = _topic(topics.SIGNALS)
case_commands = _topic(topics.CASE_COMMANDS)
case_events = _topic(topics.CASE_EVENTS)
deadletter = _topic(topics.DEADLETTER)
notifications = _topic(topics.NOTIFICATIONS)

# Person key → household id, from household-registry events. Global: input topics are keyed by
# person, but kcat (librdkafka) and aiokafka partition keys differently, so no co-partitioning holds.
persons = app.GlobalTable(
    "persons",
    partitions=settings.partitions,
    schema=faust.Schema(key_type=str, key_serializer="json", value_type=str, value_serializer="json"),
)

# Keyed by the household id bytes of the message key; values are HouseholdState as JSON.
households = app.Table(
    "households",
    partitions=settings.partitions,
    schema=faust.Schema(key_type=bytes, key_serializer="raw", value_serializer="json"),
)


async def send_to_deadletter(event: faust.EventT, rejected: RejectedInput) -> None:
    """Publish a rejected input to aid.deadletter with its reason and origin."""
    message = event.message
    validation_failures.labels(message.topic, reason_kind(rejected)).inc()
    log.warning("dead-lettered %s[%d]@%d: %s", message.topic, message.partition, message.offset, rejected.reason)
    letter = dead_letter(rejected, message.topic, message.partition, message.offset, message.key, event.value, clock.now())
    await deadletter.send(key=message.key, value=letter.model_dump_json().encode())


async def process_or_deadletter(event: faust.EventT, handle: Callable[[bytes], T]) -> T | None:
    """Run handle on the event's value; on any failure dead-letter the event so the partition moves on."""
    try:
        return handle(event.value)
    except RejectedInput as rejected:
        await send_to_deadletter(event, rejected)
    except Exception as error:  # a bug in one rule must not stall a whole partition
        log.exception("internal error on %s[%d]@%d", event.message.topic, event.message.partition, event.message.offset)
        try:
            event_id = event_id_of(orjson.loads(event.value))
        except orjson.JSONDecodeError:
            event_id = None
        await send_to_deadletter(event, RejectedInput(f"internal error: {type(error).__name__}: {error}", event_id=event_id))
    return None
