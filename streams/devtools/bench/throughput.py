"""Throughput side by side on the same pre-produced events: raw aiokafka, an empty Faust agent, the pipeline."""

import asyncio
import time
from itertools import islice
from pathlib import Path

import orjson
import uuid_utils
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from redis import Redis

from schemas import readmodel, topics
from schemas.departments import Departments
from schemas.intake import HospitalAdmission, HotlineCall, stamp
from streams.devtools.bench.stack import BenchStack
from streams.devtools.generator import Generator
from streams.rules.clock import SystemClock

API_MODELS = {topics.HOTLINE_CALLS: HotlineCall, topics.HOSPITAL_ADMISSIONS: HospitalAdmission}
BURST_EVERY = 200
Record = tuple[str, bytes, bytes]


def bench_events(count: int, departments: Departments, seed: int) -> list[Record]:
    """Generator traffic as each source writes it: calls and admissions stamped by the API, department records as sent."""
    generator = Generator(departments, seed=seed)
    now = SystemClock().now()
    records = []
    for n, (topic, body) in enumerate(islice(generator, count)):
        if n and n % BURST_EVERY == 0:
            generator.burst(size=10)
        model = API_MODELS.get(topic)
        value = stamp(model.model_validate(body), str(uuid_utils.uuid7()), now).model_dump_json(exclude_none=True) if model else None
        records.append((topic, body["subject"]["id_number"].encode(), value.encode() if value else orjson.dumps(body)))
    return records


async def produce(kafka: str, records: list[Record], spread_s: float = 0) -> float:
    """Write the records with acks=all, evenly over spread_s seconds (at once by default); return events per second."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        started = time.perf_counter()
        sent = []
        for n, (topic, key, value) in enumerate(records):
            if spread_s:
                await asyncio.sleep(max(0.0, started + spread_s * n / len(records) - time.perf_counter()))
            sent.append(await producer.send(topic, value, key=key))
        await asyncio.gather(*sent)
        return len(records) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def raw_consume(kafka: str, expected: int, fetch_max_wait_ms: int, timeout_s: float) -> float:
    """Read and decode every input event with a plain aiokafka consumer; return events per second."""
    consumer = AIOKafkaConsumer(
        *topics.INPUTS, bootstrap_servers=kafka, group_id=None, auto_offset_reset="earliest", fetch_max_wait_ms=fetch_max_wait_ms
    )
    await consumer.start()
    deadline = time.monotonic() + timeout_s
    try:
        seen, first = 0, None
        while seen < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the broker gave back {seen} of the {expected} events written within {timeout_s:.0f}s")
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                first = first or time.perf_counter()
                for record in batch:
                    orjson.loads(record.value)
                seen += len(batch)
        return (seen - 1) / (time.perf_counter() - first)
    finally:
        await consumer.stop()


def faust_floor(stack: BenchStack, expected: int, workdir: Path, timeout_s: float) -> float:
    """Run the empty agent over the input events; return events per second."""
    result = workdir / "floor.json"
    ports = stack.free_ports(2)
    floor = stack.start_module(
        "floor",
        "streams.devtools.bench.floor",
        app_id=stack.env.get("RAPIDAID_APP_ID", "bench-floor"),
        bench_events=str(expected),
        bench_result=str(result),
        worker_port=str(ports[0]),
        metrics_port=str(ports[1]),
    )
    try:
        deadline = time.monotonic() + timeout_s
        while not result.exists():
            if time.monotonic() > deadline or floor.poll() is not None:
                raise RuntimeError("the empty Faust agent did not count every event; see its log")
            time.sleep(0.05)
        timing = orjson.loads(result.read_bytes())
        return (timing["events"] - 1) / timing["seconds"]
    finally:
        stack.stop(floor)


def processed(redis: Redis) -> int:
    """Input events the read model shows as done: a case event or a dead letter for each."""
    stats = redis.hgetall(readmodel.STATS)
    return sum(int(v) for k, v in stats.items() if k.startswith((b"signals:", b"deadletters:")))


def pipeline(stack: BenchStack, expected: int, timeout_s: float, app_id: str = "bench-pipeline", workers: int = 1) -> float:
    """Run the real worker(s) over the input events until each one's result is in Redis; return events per second."""
    asyncio.run(stack.ensure_topics(app_id))
    redis = Redis.from_url(stack.redis)
    redis.flushdb()  # the read model skips case versions it has, which would hide a second run's results
    started = [stack.start_worker(f"worker-{n}", app_id) for n in range(workers)]
    try:
        deadline = time.monotonic() + timeout_s
        first_at, first_count = None, 0
        while (done := processed(redis)) < expected:
            if first_at is None and done:
                first_at, first_count = time.perf_counter(), done
            if time.monotonic() > deadline or any(w.poll() is not None for w in started):
                raise RuntimeError(f"the pipeline finished {done} of {expected} events; see the worker log")
            time.sleep(0.005)
        return (expected - first_count) / (time.perf_counter() - first_at)
    finally:
        for worker in started:
            stack.stop(worker)
