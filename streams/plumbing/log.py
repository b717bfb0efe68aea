"""Reading Kafka partitions to their true end, also on a broker that misreports it.

Tansu 0.6 (the embedded broker) answers ListOffsets(latest) with the base offset of a partition's
last record batch + 1, not the offset after its last record. Whoever reads "up to the end" — table
recovery after a restart, the read-model rebuild — would stop short of the newest records and, for
the households table, decide on stale state. The true end is found by reading that last batch.

Apache Kafka reports the true end itself (tests/integration/test_log.py checks it): callers that
know they are on Kafka (settings.broker_reports_true_end) pass broker_reports_true_end=True and no
batch is read, so the workaround costs nothing there. Without it the last batch is read, which is
right on either broker.
"""

import asyncio
from collections.abc import AsyncIterator, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

LAST_BATCH_WAIT_S = 2.0  # a last record that cannot be fetched (a transaction marker) keeps the reported end


async def log_end_offsets(
    bootstrap_servers: str | list[str], partitions: Iterable[TopicPartition], *, broker_reports_true_end: bool = False
) -> dict[TopicPartition, int]:
    """The offset after each partition's last record (see true_ends)."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await reader.start()
    try:
        return await true_ends(reader, partitions, broker_reports_true_end=broker_reports_true_end)
    finally:
        await reader.stop()


async def true_ends(
    reader: AIOKafkaConsumer, partitions: Iterable[TopicPartition], *, broker_reports_true_end: bool = False
) -> dict[TopicPartition, int]:
    """The partitions' end offsets as read by reader (a consumer outside any group; its assignment is replaced), taken
    from the last batch itself unless the broker reports them right."""
    ends = dict(await reader.end_offsets(list(partitions)))
    if broker_reports_true_end:
        return ends
    unread = {tp for tp, end in ends.items() if end > 0}
    reader.assign(list(unread))
    for tp in unread:
        reader.seek(tp, ends[tp] - 1)
    deadline = asyncio.get_running_loop().time() + LAST_BATCH_WAIT_S
    while unread and asyncio.get_running_loop().time() < deadline:
        for tp, records in (await reader.getmany(*unread, timeout_ms=200)).items():
            ends[tp] = max(ends[tp], records[-1].offset + 1)
            unread.discard(tp)
    return ends


async def partitions_of(bootstrap_servers: str | list[str], topic_names: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the topics, from the broker's metadata (a consumer's topics() does not fill its own on Kafka)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topic_names))
    finally:
        await admin.close()
    return [
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if not t["error_code"]
        for p in sorted(t["partitions"], key=lambda p: p["partition"])
    ]


async def read_log(
    bootstrap_servers: str, topic_names: Iterable[str], batch_size: int = 1000, *, broker_reports_true_end: bool = False
) -> AsyncIterator[list[ConsumerRecord]]:
    """Every record of the topics, from the beginning to their end when the call starts, in batches."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = await partitions_of(bootstrap_servers, topic_names)
        unread = {
            tp: end
            for tp, end in (await true_ends(consumer, partitions, broker_reports_true_end=broker_reports_true_end)).items()
            if end > 0
        }
        if not unread:
            return
        consumer.assign(list(unread))
        await consumer.seek_to_beginning(*unread)
        while unread:
            batches = await consumer.getmany(*unread, timeout_ms=1000, max_records=batch_size)
            records = [record for tp, found in batches.items() for record in found if record.offset < unread[tp]]
            for tp in [tp for tp, end in unread.items() if await consumer.position(tp) >= end]:
                del unread[tp]
            if records:
                yield records
    finally:
        await consumer.stop()
