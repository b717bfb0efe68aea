"""The Redis read model rebuilt from scratch from the Kafka log: by `rapidaid rebuild-read-model`, or by a worker
that finds it incomplete."""

import contextlib
import logging
import time

import mode
import orjson
from aiokafka.errors import KafkaError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from schemas import readmodel, topics
from streams.config import WorkerSettings
from streams.plumbing.log import read_log
from streams.plumbing.readmodel import ReadModelWriter

log = logging.getLogger(__name__)
LOCK_S = 300  # a rebuilder that dies lets another take over after this long
REPLAYED = (topics.CASE_EVENTS, topics.DEADLETTER)
# Not projections: the API's idempotency keys, the content digests of accepted event ids, the workers' readiness
# reports, the rebuild's own lock and the access log (an audit record of who read which case).
KEPT = (
    readmodel.PREFIX + "idem:",
    readmodel.EVENT_DIGESTS,
    readmodel.RECORD_DIGESTS,
    readmodel.WORKERS,
    readmodel.REBUILDING,
    readmodel.ACCESS_LOG,
)


async def clear_read_model(redis: Redis) -> int:
    """Delete every read-model key (all but those KEPT); return how many."""
    deleted = 0
    async for key in redis.scan_iter(match=readmodel.PREFIX + "*", count=1000):
        if not key.decode().startswith(KEPT):
            deleted += await redis.unlink(key)
    return deleted


async def rebuild_into(redis: Redis, settings: WorkerSettings) -> int:
    """Clear the read model and replay aid.case-events and aid.deadletter up to their current end; mark it complete."""
    writer = ReadModelWriter(redis, settings.event_result_ttl_s, settings.live_stream_length, guarded=False)
    await clear_read_model(redis)
    replayed = 0
    async for records in read_log(settings.kafka, REPLAYED, settings.batch_size):
        await writer.apply([(record.topic, record.value) for record in records])
        replayed += len(records)
    await restore_claims(redis, settings.kafka, settings.batch_size, time.time())
    await redis.set(readmodel.COMPLETE, replayed)
    return replayed


async def restore_claims(redis: Redis, kafka: str, batch_size: int, now: float) -> int:
    """Put back the Idempotency-Keys and event-id claims of the API and of intake, from the input and signal records
    that carry them, with what is left of their time to live (a key kept in Redis wins); how many were restored."""
    restored = 0
    async for records in read_log(kafka, [*topics.INPUTS, topics.SIGNALS], batch_size):
        async with redis.pipeline(transaction=False) as pipe:
            for record in records:
                for name, value in record.headers or ():
                    if name != readmodel.CLAIMS_HEADER:
                        continue
                    for key, claimed, ttl_s in orjson.loads(value):
                        left = int(ttl_s - (now - record.timestamp / 1000))
                        if left > 0:
                            pipe.set(key, claimed, nx=True, ex=left)
                            restored += 1
            await pipe.execute()
    return restored


async def rebuild_read_model(settings: WorkerSettings, redis_url: str) -> int:
    """Rebuild the read model at redis_url from the log (see rebuild_into)."""
    redis = Redis.from_url(redis_url)
    try:
        return await rebuild_into(redis, settings)
    finally:
        await redis.aclose()


class ReadModelGuard(mode.Service):
    """Notices a read model without its completeness mark (Redis came back empty) and rebuilds it from the log.

    Meanwhile every worker's projections refuse to write (their batches wait, offsets uncommitted) and /readyz
    says not ready; with several workers, the one that takes the lock rebuilds.
    """

    def __init__(self, redis: Redis, settings: WorkerSettings, worker_id: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.redis = redis
        self.settings = settings
        self.worker_id = worker_id

    async def on_started(self) -> None:
        await self.check()  # at once: a first start on an empty Redis must not wait for the timer

    @mode.Service.timer(1.0)
    async def _every_second(self) -> None:
        await self.check()

    async def check(self) -> None:
        """Rebuild the read model if it lacks its completeness mark and no other worker is rebuilding it."""
        try:
            if await self.redis.exists(readmodel.COMPLETE):
                return
            if not await self.redis.set(readmodel.REBUILDING, self.worker_id, nx=True, ex=LOCK_S):
                return  # another worker is rebuilding
        except RedisError:
            return  # Redis is down: nothing to rebuild into yet
        log.warning("read model incomplete (Redis lost its data?): rebuilding it from the log; writes held meanwhile")
        started = time.monotonic()
        try:
            replayed = await rebuild_into(self.redis, self.settings)
            log.warning("read model rebuilt from %d records in %.1fs", replayed, time.monotonic() - started)
        except (RedisError, KafkaError, OSError) as error:
            log.warning("read model rebuild failed (%r); trying again", error)
        finally:
            with contextlib.suppress(RedisError):
                await self.redis.delete(readmodel.REBUILDING)
