"""`rapidaid rebuild-read-model`: the Redis read model rebuilt from scratch from the Kafka log."""

from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.asyncio import Redis

from schemas import readmodel, topics
from streams.config import WorkerSettings
from streams.readmodel import ReadModelWriter

REPLAYED = (topics.CASE_EVENTS, topics.DEADLETTER)
KEPT = readmodel.PREFIX + "idem:"  # idempotency keys are the API's own memory, not a projection


async def clear_read_model(redis: Redis) -> int:
    """Delete every read-model key (idempotency keys excepted); return how many."""
    deleted = 0
    async for key in redis.scan_iter(match=readmodel.PREFIX + "*", count=1000):
        if not key.decode().startswith(KEPT):
            deleted += await redis.unlink(key)
    return deleted


async def rebuild_read_model(settings: WorkerSettings, redis_url: str) -> int:
    """Clear the read model at redis_url and replay aid.case-events and aid.deadletter up to their current end."""
    redis = Redis.from_url(redis_url)
    writer = ReadModelWriter(redis, settings.event_result_ttl_s, settings.live_stream_length)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for topic in REPLAYED for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = {tp: end for tp, end in (await consumer.end_offsets(partitions)).items() if end > 0}
        await clear_read_model(redis)
        replayed = 0
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batches = await consumer.getmany(*ends, timeout_ms=1000, max_records=settings.batch_size)
            records = [(m.topic, m.value) for tp, messages in batches.items() for m in messages if m.offset < ends[tp]]
            await writer.apply(records)
            replayed += len(records)
        return replayed
    finally:
        await consumer.stop()
        await redis.aclose()
