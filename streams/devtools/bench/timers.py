"""Deadlines at scale: tick cost, lateness of colour changes and worker recovery, with many cases open."""

import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import orjson
from aiokafka import AIOKafkaConsumer
from redis import Redis

from schemas import readmodel, topics
from schemas.case import Case
from schemas.departments import Departments
from schemas.intake import CallCategory
from streams.agents.deadlines import due_commands
from streams.devtools.bench.stack import BenchStack
from streams.devtools.bench.throughput import processed, produce
from streams.devtools.generator import Generator
from streams.policies import load_policy
from streams.rules.deadline_queue import DeadlineQueue
from streams.rules.deadlines import next_transition_at

POLICY = load_policy("default")
# A call category that opens a P2 case (30-minute acknowledgement, yellow after 15 minutes).
PROBE_CATEGORY = CallCategory.NO_FOOD_OR_SHELTER
APP_ID = "bench-deadlines"


def tick_cost_ms(open_cases: int, ticks: int, interval_s: float, seed: int) -> float:
    """p99 cost of one deadline tick with open_cases planned over the next two hours (a few due per tick)."""
    rng = random.Random(seed)
    queue = DeadlineQueue()
    start = datetime.now(UTC)
    for n in range(open_cases):
        queue.schedule(f"household-{n}", (start + timedelta(seconds=rng.uniform(1, 7200))).timestamp())
    costs = []
    for n in range(ticks):
        now = start + timedelta(seconds=n * interval_s)
        began = time.perf_counter()
        [command.model_dump_json() for command in due_commands(queue, now)]
        costs.append((time.perf_counter() - began) * 1000)
    return statistics.quantiles(costs, n=100)[98]


def calls(generator: Generator, count: int, category: CallCategory | None = None) -> list[tuple[bytes, dict]]:
    """Hotline calls about count new households, keyed as the API keys them."""
    made = []
    for _ in range(count):
        _, body = generator.call(generator.new_household(), category)
        made.append((body["subject"]["id_number"].encode(), body))
    return made


async def produce_calls(kafka: str, bodies: list[tuple[bytes, dict]], timestamps_ms: list[int] | None = None) -> None:
    """Write calls straight to hotline.calls, with the given record times if any."""
    await produce(kafka, [(topics.HOTLINE_CALLS, key, orjson.dumps(body)) for key, body in bodies], timestamps_ms)


def wait_processed(redis: Redis, expected: int, timeout_s: float) -> None:
    """Block until the read model shows expected input events done."""
    deadline = time.monotonic() + timeout_s
    while processed(redis) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {processed(redis)} of {expected} events were processed in {timeout_s:.0f}s")
        time.sleep(0.05)


async def lateness_ms(stack: BenchStack, generator: Generator, probes: int, window_s: float, lead_s: float) -> list[float]:
    """Open probe cases whose first colour change falls due over the window; how late each change is emitted.

    The probes' record times are set in the past, so (rules running at the record's time) their
    yellow threshold arrives lead_s to lead_s + window_s from now, while the other open cases wait.
    """
    consumer = AIOKafkaConsumer(topics.CASE_EVENTS, bootstrap_servers=stack.kafka, auto_offset_reset="latest", fetch_max_wait_ms=20)
    await consumer.start()
    try:
        await consumer.seek_to_end()
        acknowledge_s = POLICY.tracks["P2"].acknowledge_s * POLICY.yellow_at
        now_ms = time.time() * 1000
        times = [int(now_ms + (lead_s + window_s * n / probes - acknowledge_s) * 1000) for n in range(probes)]
        bodies = calls(generator, probes, PROBE_CATEGORY)
        for n, (_, body) in enumerate(bodies):
            body["event_id"] = f"bench-probe-{n}"
        await produce_calls(stack.kafka, bodies, times)
        pending: dict[str, datetime] = {}
        late: list[float] = []
        reached = 0
        deadline = time.monotonic() + lead_s + window_s + 30
        while reached < probes or pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{reached} of {probes} probes reached a case, {len(pending)} colour changes never seen")
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    event = orjson.loads(record.value)
                    if str(event["event_id"]).startswith("bench-probe-") and event["type"] in ("opened", "signal_attached"):
                        reached += 1  # a probe about a person already reported joins that case instead
                    if event["type"] == "opened" and str(event["event_id"]).startswith("bench-probe-"):
                        transition = next_transition_at(Case.model_validate(event["case"]), POLICY)
                        # A probe scored into another priority has its threshold elsewhere; only timely ones count.
                        if transition and transition.timestamp() * 1000 > record.timestamp:
                            pending[event["case_id"]] = transition
                    elif event["type"] == "status_changed" and event["case_id"] in pending:
                        late.append(record.timestamp - pending.pop(event["case_id"]).timestamp() * 1000)
        return late
    finally:
        await consumer.stop()


def open_cases_scenario(stack: BenchStack, departments: Departments, open_cases: int, probes: int, window_s: float, seed: int) -> dict:
    """Open many cases through a worker, measure colour-change lateness, then restart the worker and time its recovery."""
    generator = Generator(departments, seed=seed)
    asyncio.run(stack.ensure_topics(APP_ID))
    redis = Redis.from_url(stack.redis)
    asyncio.run(produce_calls(stack.kafka, calls(generator, open_cases, CallCategory.MEDICAL_EMERGENCY)))
    worker = stack.start_worker("deadlines-worker", APP_ID)
    try:
        wait_processed(redis, open_cases, timeout_s=60 + open_cases / 500)
        late = asyncio.run(lateness_ms(stack, generator, probes, window_s, lead_s=5))
    finally:
        stack.stop(worker)
    open_now = redis.zcard(readmodel.OPEN_CASES)
    restarted = time.perf_counter()
    worker = stack.start_worker("deadlines-worker-restarted", APP_ID)
    try:
        probe = calls(generator, 1)
        probe[0][1]["event_id"] = "bench-recovery-probe"
        asyncio.run(produce_calls(stack.kafka, probe))
        while not redis.exists(readmodel.event_key("bench-recovery-probe")):
            if worker.poll() is not None or time.perf_counter() - restarted > 300:
                raise RuntimeError("the restarted worker did not process a new call; see its log")
            time.sleep(0.05)
        recovery_s = time.perf_counter() - restarted
    finally:
        stack.stop(worker)
    return {
        "escalation_lateness_p99_ms": statistics.quantiles(late, n=100)[98] if len(late) > 1 else late[0],
        "recovery_s": recovery_s,
        "open_cases": open_now,
        "lateness_probes": len(late),
    }
