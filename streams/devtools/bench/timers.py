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
from streams.rules.policy import Policy

# A call category that opens a standard-track lead (P3); the bench policy gives leads a 10 s acknowledgement,
# so a probe turns yellow 5 s after it opens while the open emergency cases keep their 15- and 30-minute windows.
PROBE_CATEGORY = CallCategory.LOSS_OF_INCOME
PROBE_POLICY = 'extends = "default"\nversion = "bench-probes"\n\n[tracks.P3]\nacknowledge_s = 10\n'
APP_ID = "bench-deadlines"


WATCH_CADENCE_S = 7 * 86400  # the default policy's weekly visit of the elderly living alone


def tick_cost_ms(open_cases: int, ticks: int, interval_s: float, seed: int, watched: int = 0) -> float:
    """p99 cost of one deadline tick with open_cases planned over the next two hours and watched households (without a
    case) whose next visit changes colour within a week: the same per-household queue, a few due per tick."""
    rng = random.Random(seed)
    queue = DeadlineQueue()
    start = datetime.now(UTC)
    for n in range(open_cases):
        queue.schedule(f"household-{n}", (start + timedelta(seconds=rng.uniform(1, 7200))).timestamp())
    for n in range(watched):
        queue.schedule(f"watched-{n}", (start + timedelta(seconds=rng.uniform(1, WATCH_CADENCE_S))).timestamp())
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


async def produce_calls(kafka: str, bodies: list[tuple[bytes, dict]], spread_s: float = 0) -> None:
    """Write calls straight to hotline.calls, evenly over spread_s seconds."""
    await produce(kafka, [(topics.HOTLINE_CALLS, key, orjson.dumps(body)) for key, body in bodies], spread_s)


def wait_processed(redis: Redis, expected: int, stalled_after_s: float = 60) -> None:
    """Block until the read model shows expected input events done; fail only if none is done for stalled_after_s
    (a slow or busy machine takes longer, a stuck worker never ends)."""
    done, progress_at = processed(redis), time.monotonic()
    while done < expected:
        time.sleep(0.05)
        if (now_done := processed(redis)) > done:
            done, progress_at = now_done, time.monotonic()
        elif time.monotonic() - progress_at > stalled_after_s:
            raise RuntimeError(f"only {done} of {expected} events were processed, none in the last {stalled_after_s:.0f}s")


async def lateness_ms(stack: BenchStack, generator: Generator, probes: int, window_s: float, policy: Policy) -> list[float]:
    """Open probe leads over the window, each turning yellow seconds after it opens; how late each change is emitted."""
    consumer = AIOKafkaConsumer(topics.CASE_EVENTS, bootstrap_servers=stack.kafka, auto_offset_reset="latest", fetch_max_wait_ms=20)
    await consumer.start()
    try:
        await consumer.seek_to_end()
        bodies = calls(generator, probes, PROBE_CATEGORY)
        for n, (_, body) in enumerate(bodies):
            body["event_id"] = f"bench-probe-{n}"
        sending = asyncio.create_task(produce_calls(stack.kafka, bodies, spread_s=window_s))
        pending: dict[str, datetime] = {}
        late: list[float] = []
        reached = 0
        deadline = time.monotonic() + policy.tracks["P3"].acknowledge_s + window_s + 30
        while reached < probes or pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{reached} of {probes} probes reached a case, {len(pending)} colour changes never seen")
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    event = orjson.loads(record.value)
                    if str(event["event_id"]).startswith("bench-probe-") and event["type"] in ("opened", "signal_attached"):
                        reached += 1  # a probe about a person already reported joins that case instead
                    # A probe that scored into an emergency (a vulnerable household) turns yellow in minutes: not counted.
                    if (
                        event["type"] == "opened"
                        and str(event["event_id"]).startswith("bench-probe-")
                        and event["case"]["priority"] == "P3"
                    ):
                        pending[event["case_id"]] = next_transition_at(Case.model_validate(event["case"]), policy)
                    elif event["type"] == "status_changed" and event["case_id"] in pending:
                        late.append(record.timestamp - pending.pop(event["case_id"]).timestamp() * 1000)
        await sending
        return late
    finally:
        await consumer.stop()


def open_cases_scenario(stack: BenchStack, departments: Departments, open_cases: int, probes: int, window_s: float, seed: int) -> dict:
    """Open many cases through a worker, measure colour-change lateness, then restart the worker and time its recovery."""
    generator = Generator(departments, seed=seed)
    asyncio.run(stack.ensure_topics(APP_ID))
    redis = Redis.from_url(stack.redis)
    asyncio.run(produce_calls(stack.kafka, calls(generator, open_cases, CallCategory.MEDICAL_EMERGENCY)))
    policy_file = stack.supervisor.log_dir / "bench-probes.toml"
    policy_file.write_text(PROBE_POLICY, encoding="utf-8")
    worker = stack.start_worker("deadlines-worker", APP_ID, policy=str(policy_file))
    try:
        wait_processed(redis, open_cases)
        late = asyncio.run(lateness_ms(stack, generator, probes, window_s, load_policy(str(policy_file))))
    finally:
        stack.stop(worker)
    open_now = redis.zcard(readmodel.OPEN_CASES)
    restarted = time.perf_counter()
    worker = stack.start_worker("deadlines-worker-restarted", APP_ID, policy=str(policy_file))
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
