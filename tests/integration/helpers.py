"""Polling helpers for tests that watch the system through its HTTP API, a look at a consumer group's offsets, the count
of what became of numbered events, and the comparison of the live read model with a rebuild."""

import asyncio
import time
from collections import Counter
from collections.abc import Container, Iterable

import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from redis import Redis

from schemas import readmodel
from streams.config import WorkerSettings
from streams.devtools.bench.stack import BenchStack
from streams.plumbing.log import partitions_of
from streams.plumbing.rebuild import rebuild_read_model

SIGNAL_TYPES = {"opened", "signal_attached"}


async def eventually(probe, timeout_s: float = 20, interval_s: float = 0.05):
    """Await probe() until it returns something truthy; fail after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(interval_s)


def wait_until(probe, timeout_s: float, what: str, errors: tuple[type[Exception], ...] = (httpx.TransportError,)):
    """Call probe() until it returns something truthy (one of errors, by default a connection refused, counts as not yet);
    fail after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if value := probe():
                return value
        except errors:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def processed(client: httpx.AsyncClient, event_id: str, timeout_s: float = 20, interval_s: float = 0.05) -> dict:
    """The event's result once the worker has processed or rejected it."""

    async def probe():
        response = await client.get(f"/v1/events/{event_id}")
        return response.json() if response.status_code == 200 and response.json()["state"] != "accepted" else None

    return await eventually(probe, timeout_s, interval_s)


async def committed_offsets(kafka: str, group: str, topic_names: list[str]) -> dict[str, int | None]:
    """The group's committed offset for every partition of the topics, as {"topic[partition]": offset}."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(kafka, topic_names)
        return {f"{tp.topic}[{tp.partition}]": await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()


def tally_outcomes(redis: Redis, event_ids: Iterable[str], rejectable: Container[str]) -> Counter:
    """Each event's one outcome by kind (dead letter, on a case, household timeline only); fails on an event dead-lettered
    that is not rejectable or dead-lettered twice, or on its case's timeline other than once."""
    outcomes = Counter()
    dead_letters = Counter(orjson.loads(raw)["event_id"] for raw in redis.lrange(readmodel.DEADLETTERS, 0, -1))
    timelines: dict[str, Counter] = {}
    for event_id in event_ids:
        result = {k.decode(): v.decode() for k, v in redis.hgetall(readmodel.event_key(event_id)).items()}
        if result["state"] == "rejected":
            assert event_id in rejectable, f"{event_id} was dead-lettered: {result['reason']}"
            assert dead_letters[event_id] == 1
            outcomes["dead letter"] += 1
        elif result["case_id"]:
            case_id = result["case_id"]
            if case_id not in timelines:
                entries = [orjson.loads(raw) for raw in redis.lrange(readmodel.timeline_key(case_id), 0, -1)]
                timelines[case_id] = Counter(e["event_id"] for e in entries if e["type"] in SIGNAL_TYPES)
            assert timelines[case_id][event_id] == 1, f"{event_id} is on case {case_id} {timelines[case_id][event_id]} times"
            outcomes["on a case"] += 1
        else:
            outcomes["household timeline only"] += 1
    return outcomes


def snapshot(redis: Redis) -> dict:
    """Every projected key's content (not the live stream, idempotency keys, digests, senders, readiness reports or completeness mark),
    order-free where order is not meaningful."""
    content = {}
    for key in redis.scan_iter(match=readmodel.PREFIX + "*", count=1000):
        name = key.decode()
        not_projected = (readmodel.LIVE_STREAM, readmodel.WORKERS, readmodel.COMPLETE, readmodel.REBUILDING)
        if name in not_projected or name.startswith((readmodel.PREFIX + "idem:", readmodel.EVENT_DIGESTS, readmodel.RECORD_DIGESTS)):
            continue
        kind = redis.type(key).decode()
        if kind == "hash":
            # Who sent an event is the API's note beside its result, for that sender's eyes only: no record carries it.
            content[name] = {field: value for field, value in redis.hgetall(key).items() if field != b"sender"}
        elif kind == "list":
            items = redis.lrange(key, 0, -1)
            content[name] = sorted(items) if name == readmodel.DEADLETTERS else items
        elif kind == "set":
            content[name] = redis.smembers(key)
        elif kind == "zset":
            content[name] = redis.zrange(key, 0, -1, withscores=True)
    return content


def assert_rebuild_equals(stack: BenchStack, redis: Redis) -> int:
    """Rebuild the read model from the log into another Redis database and compare it with the live one; how many keys."""
    live = snapshot(redis)
    rebuilt_url = stack.redis.rsplit("/", 1)[0] + "/1"
    settings = WorkerSettings(kafka=stack.kafka, redis=stack.redis, broker=stack.env["RAPIDAID_BROKER"])
    asyncio.run(rebuild_read_model(settings, rebuilt_url))
    rebuilt = snapshot(Redis.from_url(rebuilt_url))
    assert rebuilt.keys() == live.keys()
    differing = [key for key in live if live[key] != rebuilt[key]]
    assert differing == [], {key: (live[key], rebuilt[key]) for key in differing[:5]}
    return len(live)
