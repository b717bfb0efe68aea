"""`rapidaid rebuild-read-model`: the Redis read model rebuilt from scratch from the Kafka log."""

from redis.asyncio import Redis

from schemas import readmodel, topics
from streams.config import WorkerSettings
from streams.plumbing.log import read_log
from streams.plumbing.readmodel import ReadModelWriter

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
    try:
        await clear_read_model(redis)
        replayed = 0
        async for records in read_log(settings.kafka, REPLAYED, settings.batch_size):
            await writer.apply([(record.topic, record.value) for record in records])
            replayed += len(records)
        return replayed
    finally:
        await redis.aclose()
