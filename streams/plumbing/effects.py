"""What a batch of events changes, written once per batch in an order that survives a crash at any point.

Order: the Redis read model (idempotent by case version), then the output topics, then the tables'
changelogs; only after all three are the batch's offsets committed. A crash before the changelog leaves the
tables as they were, so the batch is replayed and, its time coming from the records, yields the same
case events again (a household's view perhaps on another of its events, as the replay's batches end elsewhere), which
the read model and any rebuild skip by version. A crash after the changelog
finds every output already written.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, TypeVar

import faust
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2
from prometheus_client import Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from streams.plumbing.metrics import produce_errors, projection_errors
from streams.plumbing.readmodel import ReadModelIncomplete, ReadModelWriter
from streams.plumbing.stores import encoded, encoded_key

log = logging.getLogger(__name__)
RETRY_MAX_S = 5.0
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, ReadModelIncomplete)
KAFKA_ERRORS = (KafkaError, OSError)
T = TypeVar("T")


@lru_cache(maxsize=1 << 16)  # aiokafka's murmur2 is pure Python, and a household's key comes back with each of its events
def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (and so Faust) gives a key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True)
class Record:
    """One record to produce."""

    topic: str
    partition: int
    key: bytes
    value: bytes
    timestamp_ms: int | None
    headers: tuple[tuple[str, bytes], ...] = ()


class Outbox:
    """A producer that writes a batch's records as one Kafka batch per partition (acks=all)."""

    def __init__(self, kafka: str, partitions: int) -> None:
        self.kafka = kafka
        self.partitions = partitions
        self.producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Connect to the broker once (the producer belongs to the worker's running loop)."""
        async with self._starting:
            if self.producer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self.kafka, acks="all", max_batch_size=1 << 20)
                await producer.start()
                self.producer = producer

    async def stop(self) -> None:
        """Flush and disconnect."""
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None

    async def write(self, records: list[Record]) -> None:
        """Produce records, keeping their order within each partition; return once the broker has them all."""
        if self.producer is None:  # Faust may hand an agent its first batch before services have started
            await self.start()
        by_partition: dict[tuple[str, int], list[Record]] = defaultdict(list)
        for record in records:
            by_partition[(record.topic, record.partition)].append(record)
        deliveries = []
        for (topic, partition), pending in by_partition.items():
            batch = self.producer.create_batch()
            for record in pending:
                if batch.append(key=record.key, value=record.value, timestamp=record.timestamp_ms, headers=list(record.headers)) is None:
                    deliveries.append(await self.producer.send_batch(batch, topic, partition=partition))
                    batch = self.producer.create_batch()
                    batch.append(key=record.key, value=record.value, timestamp=record.timestamp_ms, headers=list(record.headers))
            deliveries.append(await self.producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*deliveries)


@dataclass
class Effects:
    """The read-model records, output records and table changes one batch produces."""

    outbox: Outbox
    read_model: ReadModelWriter
    projections: list[tuple[str, bytes]] = field(default_factory=list)
    outputs: list[Record] = field(default_factory=list)
    # Each table entry's last value in the batch, by (changelog topic, key): the changelog is compacted, and a household
    # with several events in one batch is encoded and written once.
    changed: dict[tuple[str, bytes], tuple[int, Any]] = field(default_factory=dict)

    def send(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        timestamp_ms: int | None = None,
        partition: int | None = None,
        project: bool = False,
        headers: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        """Produce value to topic (partitioned by key unless given); with project, also write it to the read model."""
        if partition is None:
            partition = partition_for(key, self.outbox.partitions)
        self.outputs.append(Record(topic, partition, key, value, timestamp_ms, headers))
        if project:
            self.projections.append((topic, value))

    def set(self, table: faust.Table | faust.GlobalTable, key: Any, value: Any, partition: int) -> None:
        """Set a table entry now, and its changelog record (in the source event's partition) at commit."""
        table.data.set_in(partition, key, value)
        self.changed[(table.changelog_topic.get_topic_name(), encoded_key(key))] = (partition, value)

    def changelog(self) -> list[Record]:
        """The changelog records of the batch's table changes, each entry's last value."""
        return [Record(topic, partition, key, encoded(value), None) for (topic, key), (partition, value) in self.changed.items()]

    async def commit(self) -> None:
        """Write everything in crash-safe order, each retried until written: read model, outputs, changelogs."""
        if self.projections:
            await until_written("read model", partial(self.read_model.apply, self.projections), REDIS_ERRORS, projection_errors)
        for what, records in (("output topics", self.outputs), ("table changelogs", self.changelog())):
            if records:
                await until_written(what, partial(self.outbox.write, records), KAFKA_ERRORS, produce_errors)


async def until_written(what: str, write: Callable[[], Awaitable[T]], errors: tuple[type[Exception], ...], failures: Counter) -> T:
    """Retry a write with backoff: the batch stays uncommitted, and its partitions wait, until it succeeds; return what it returns."""
    delay = 0.1
    while True:
        try:
            return await write()
        except errors as error:
            failures.labels(type(error).__name__).inc()
            log.warning("%s unavailable (%r); retrying in %.1fs", what, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
