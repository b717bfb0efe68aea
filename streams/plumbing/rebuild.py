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
from streams.plumbing.topics import absent_topics, connected_admin, create_missing, topic_names

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


async def prepare_topics(settings: WorkerSettings) -> None:
    """Create the topics the broker lacks; if the read model's own log is among them, first mark the read model incomplete."""
    # A broker without aid.case-events lost its data (it restarted empty) while no worker was there to notice, or while
    # one crashed on the topics it lost: the board still shows what that log held until it is rebuilt from this one.
    # The mark goes before the topics come, so a start that fails here finds the log still missing when it is tried again.
    async with connected_admin(settings) as admin:
        missing = await absent_topics(admin, topic_names(settings))
        if topics.CASE_EVENTS in missing:
            redis = Redis.from_url(settings.redis)
            try:
                if await redis.delete(readmodel.COMPLETE):
                    log.error("the broker lost its data (it has no %s): the read model is rebuilt from what it has", topics.CASE_EVENTS)
            finally:
                await redis.aclose()
        await create_missing(admin, settings, missing)


async def clear_read_model(redis: Redis) -> int:
    """Delete every read-model key (all but those KEPT); return how many."""
    deleted = 0
    async for key in redis.scan_iter(match=readmodel.PREFIX + "*", count=1000):
        if not key.decode().startswith(KEPT):
            deleted += await redis.unlink(key)
    return deleted


class CaseOrder:
    """Case events in each case's version order, across partitions.

    A case handed over to another household has its earlier events in one partition and its later ones in another, and
    the log is read partitions interleaved: a later version read first would make the read model skip the earlier ones
    (it applies a case's versions only upwards). A version that comes before its predecessor waits for it; whatever still
    waits at the end (its predecessors gone with the log's retention) follows in version order.
    """

    def __init__(self) -> None:
        self.applied: dict[str, int] = {}
        self.waiting: dict[str, dict[int, tuple[str, bytes]]] = {}

    def ready(self, records: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        """Of (topic, value) records in log order, those that may be applied now, in the order to apply them."""
        out = []
        for topic, raw in records:
            identity = _case_version(topic, raw)
            if identity is None:
                out.append((topic, raw))
                continue
            case_id, version = identity
            last = self.applied.get(case_id, 0)
            if version <= last + 1:
                out.append((topic, raw))
                self.applied[case_id] = max(last, version)
                out += self._following(case_id)
            else:
                self.waiting.setdefault(case_id, {}).setdefault(version, (topic, raw))
        return out

    def _following(self, case_id: str) -> list[tuple[str, bytes]]:
        """The waiting versions that now follow on from the case's last applied one."""
        waiting = self.waiting.get(case_id, {})
        out = []
        while (following := self.applied[case_id] + 1) in waiting:
            out.append(waiting.pop(following))
            self.applied[case_id] = following
        if not waiting:
            self.waiting.pop(case_id, None)
        return out

    def rest(self) -> list[tuple[str, bytes]]:
        """Everything still waiting, each case's versions in order."""
        rest = [record for _, versions in sorted(self.waiting.items()) for _, record in sorted(versions.items())]
        self.waiting.clear()
        return rest


def _case_version(topic: str, raw: bytes) -> tuple[str, int] | None:
    """The case id and version of a case event about a case, else None (dead letters, household events, unreadable records)."""
    if topic != topics.CASE_EVENTS:
        return None
    try:
        event = orjson.loads(raw)
        return (event["case_id"], int(event["version"])) if event.get("case") else None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


async def rebuild_into(redis: Redis, settings: WorkerSettings) -> int:
    """Clear the read model and replay aid.case-events and aid.deadletter up to their current end, each case's events in
    version order; mark it complete."""
    writer = ReadModelWriter(redis, settings.event_result_ttl_s, settings.live_stream_length, guarded=False)
    await clear_read_model(redis)
    replayed = 0
    order = CaseOrder()
    async for records in read_log(settings.kafka, REPLAYED, settings.batch_size, broker_reports_true_end=settings.broker_reports_true_end):
        await writer.apply(order.ready([(record.topic, record.value) for record in records]))
        replayed += len(records)
    await writer.apply(order.rest())
    await restore_claims(redis, settings, time.time())
    await redis.set(readmodel.COMPLETE, replayed)
    return replayed


async def restore_claims(redis: Redis, settings: WorkerSettings, now: float) -> int:
    """Put back the Idempotency-Keys and event-id claims of the API and of intake, from the input and signal records
    that carry them (an identification's claim rides on its hand_over, on aid.signals), with what is left of their time
    to live (a key kept in Redis wins); how many were restored."""
    restored = 0
    inputs = [*topics.INPUTS, topics.SIGNALS]
    async for records in read_log(settings.kafka, inputs, settings.batch_size, broker_reports_true_end=settings.broker_reports_true_end):
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
