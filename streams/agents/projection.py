"""Projection agent: keeps the Redis read model in step with aid.case-events and aid.deadletter."""

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from schemas import topics
from streams.app import app, settings
from streams.metrics import projection_errors
from streams.readmodel import ReadModelWriter

log = logging.getLogger(__name__)
outputs = app.topic(topics.CASE_EVENTS, topics.DEADLETTER, partitions=settings.partitions, key_type=bytes, value_type=bytes)
writer = ReadModelWriter(Redis.from_url(settings.redis), settings.event_result_ttl_s, settings.live_stream_length)
RETRY_MAX_S = 5.0


@app.agent(outputs)
async def projection(stream):
    """Write batches to Redis; while Redis is down, retry and hold the offsets (backpressure, nothing acked unwritten)."""
    async for batch in stream.take_events(settings.projection_batch, within=0.01):
        records = [(event.message.topic, event.value) for event in batch]
        delay = 0.1
        while True:
            try:
                await writer.apply(records)
                break
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                projection_errors.labels(type(error).__name__).inc()
                log.warning("read model unavailable (%s); retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
