"""Reading partitions to their true end: on Tansu, whose ListOffsets stops at the last batch's first record, and on
Apache Kafka, whose reported end is the true one."""

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.plumbing.log import log_end_offsets, read_log

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers]


async def new_topic(kafka: str, partitions: int) -> str:
    name = f"log-test-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


async def produce_batches(kafka: str, topic: str, partition: int, batches: int, size: int) -> None:
    """Write batches of several records each, so every partition ends inside a multi-record batch."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, linger_ms=20)
    await producer.start()
    try:
        for batch in range(batches):
            sent = [await producer.send(topic, f"{batch}-{n}".encode(), partition=partition) for n in range(size)]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def test_end_offsets_count_every_record_of_the_last_batch(stack, broker):
    topic = await new_topic(stack.kafka, 3)
    await produce_batches(stack.kafka, topic, 0, batches=3, size=20)
    await produce_batches(stack.kafka, topic, 1, batches=1, size=7)
    partitions = [TopicPartition(topic, p) for p in range(3)]
    ends = await log_end_offsets(stack.kafka, partitions)
    assert ends == {TopicPartition(topic, 0): 60, TopicPartition(topic, 1): 7, TopicPartition(topic, 2): 0}
    reported = await log_end_offsets(stack.kafka, partitions, broker_reports_true_end=True)
    # Apache Kafka's own answer is the true end (so its callers skip reading the last batch); Tansu's stops short.
    assert (reported == ends) == (broker == "kafka"), reported


async def test_read_log_returns_every_record_once_and_stops_at_the_end(stack, broker):
    topic = await new_topic(stack.kafka, 2)
    await produce_batches(stack.kafka, topic, 0, batches=5, size=30)
    await produce_batches(stack.kafka, topic, 1, batches=2, size=11)
    reports_true_end = broker == "kafka"
    records = [r async for batch in read_log(stack.kafka, [topic], 16, broker_reports_true_end=reports_true_end) for r in batch]
    by_partition = {p: [r.offset for r in records if r.partition == p] for p in (0, 1)}
    assert by_partition == {0: list(range(150)), 1: list(range(22))}
    assert [record async for batch in read_log(stack.kafka, [await new_topic(stack.kafka, 1)]) for record in batch] == []
