"""Broker faults on a three-node Apache Kafka cluster (replication 3, min ISR 2, every producer acks=all): the node leading
the busiest partitions killed (SIGKILL) mid-stream and restarted, three times, once more during the worker's table
recovery, then a rolling restart of all three, while calls come through the API and numbered events straight to the
input topics. A 202 must mean the event is in the log and ends processed, a 503 must carry Retry-After; afterwards every
event has exactly one outcome, no household two open cases, and the read model equals a rebuild."""

import asyncio
import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from redis import Redis

from schemas import topics
from schemas.departments import BUNDLED, load_departments
from streams.config import WorkerSettings
from streams.devtools.bench.api import api_server
from streams.devtools.bench.stack import BenchStack, bench_stack
from streams.devtools.bench.throughput import processed
from streams.devtools.bench.timers import wait_processed
from streams.devtools.generator import Generator
from streams.devtools.kafka import missing_tools
from streams.plumbing.log import log_end_offsets, read_log
from streams.plumbing.topics import topic_names
from tests.integration.helpers import assert_rebuild_equals, committed_offsets, tally_outcomes, wait_until
from tests.integration.test_crash import (
    INVALID_EVERY,
    case_event_duplicates,
    numbered_events,
    produce_in_chunks,
    topic_ends,
    wait_for_line,
    whereabouts,
)
from tests.integration.test_crash_merge import open_cases, results, settled

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(missing_tools() is not None, reason=f"Apache Kafka tests skipped: {missing_tools()}"),
]
PARTITIONS = 4
KILLS = 3
RECOVERY_ATTEMPTS = 3
BUSIEST = [topics.SIGNALS, topics.HOTLINE_CALLS]
KAFKA_ERRORS = (KafkaError, OSError)  # a node that is down refuses, or times out, an admin request sent to it
POSTERS = 2  # concurrent API clients, each pausing between its requests
PAUSE_S = 0.1
Partitions = dict[tuple[str, int], tuple[int, tuple[int, ...]]]


async def partition_states(kafka: str, names: list[str] | None = None) -> Partitions:
    """The leader and in-sync replicas of every partition of the topics (of all topics, internal ones too, by default)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka, request_timeout_ms=5000)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    return {(t["topic"], p["partition"]): (p["leader"], tuple(p["isr"])) for t in described for p in t["partitions"]}


def busiest_leader(kafka: str, names: list[str]) -> int:
    """The node leading the partitions of the topics that hold the most records."""
    states = asyncio.run(partition_states(kafka, names))
    ends = asyncio.run(log_end_offsets(kafka, [TopicPartition(topic, partition) for topic, partition in states]))
    load = Counter({leader: 0 for leader, _ in states.values()})
    for tp, end in ends.items():
        load[states[(tp.topic, tp.partition)][0]] += end
    return load.most_common(1)[0][0]


def stop_node(stack: BenchStack, node: int, how: signal.Signals) -> None:
    """Stop a Kafka node with how."""
    process = dict(stack.supervisor.children)[f"kafka-{node}"]
    process.send_signal(how)
    process.wait(90)  # SIGTERM: a controlled shutdown hands its leaderships over first


def restart_node(stack: BenchStack, node: int, before: Partitions) -> int:
    """Once other nodes lead everything the stopped node led, start it again and wait until it is back in every
    partition's ISR; how many partitions changed leader."""

    def led_by_others() -> Partitions | None:
        states = asyncio.run(partition_states(stack.kafka))
        return states if states.keys() >= before.keys() and all(leader not in (node, -1) for leader, _ in states.values()) else None

    after = wait_until(led_by_others, 90, f"the other nodes to lead every partition kafka-{node} led", KAFKA_ERRORS)
    stack.supervisor.restart(f"kafka-{node}")

    def in_sync() -> bool:
        return all(node in isr for _, isr in asyncio.run(partition_states(stack.kafka)).values())

    wait_until(in_sync, 120, f"kafka-{node} back in the ISR of every partition", KAFKA_ERRORS)
    return sum(after[tp][0] != leader for tp, (leader, _) in before.items())


def cycle_node(stack: BenchStack, node: int, how: signal.Signals) -> int:
    """Stop a Kafka node with how and bring it back (restart_node); how many partitions changed leader."""
    before = asyncio.run(partition_states(stack.kafka))
    stop_node(stack, node, how)
    return restart_node(stack, node, before)


def api_traffic(url: str, tokens: dict[str, str], stop: threading.Event) -> list[tuple[str, int, str | None, str | None]]:
    """Post the generator's calls, admissions and department changes through the API until stopped; every answer as
    (topic, status, event id of a 202, Retry-After)."""
    generator = Generator(load_departments(BUNDLED), seed=23)
    answers = []

    def route(topic: str, body: dict) -> tuple[str, str]:
        if topic == topics.HOTLINE_CALLS:
            return "/v1/hotline/calls", "operator"
        if topic == topics.HOSPITAL_ADMISSIONS:
            return "/v1/hospital/admissions", "hospital"
        return f"/v1/departments/{body['department']}/changes", "admin"

    async def post(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            topic, body = next(generator)
            path, role = route(topic, body)
            response = await client.post(path, json=body, headers={"Authorization": f"Bearer {tokens[role]}"})
            event_id = response.json()["event_id"] if response.status_code == 202 else None
            answers.append((topic, response.status_code, event_id, response.headers.get("Retry-After")))
            await asyncio.sleep(PAUSE_S)

    async def run() -> None:
        # Longer than the API's own wait for Kafka: the API must answer, 202 or 503, not leave the client hanging.
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            await asyncio.gather(*(post(client) for _ in range(POSTERS)))

    asyncio.run(run())
    return answers


def broker_faults(stack: BenchStack, app_id: str, rng: random.Random) -> Counter:
    """Kill the busiest leader KILLS times mid-stream and once during table recovery, then restart every node in turn;
    the kills, rolling restarts and leader moves."""

    def start(n: int):
        return stack.start_worker(f"worker-{n}", app_id, log_level="info")

    redis = Redis.from_url(stack.redis)
    done = Counter()
    worker = start(0)
    for _ in range(KILLS):
        # Kill mid-stream: once the worker has written more results, at a random moment after.
        wait_processed(redis, processed(redis) + 100, stalled_after_s=180)  # a busy machine is slower; a stuck worker stops
        time.sleep(rng.uniform(0.1, 1.5))
        node = busiest_leader(stack.kafka, BUSIEST)
        done["leader moves"] += cycle_node(stack, node, signal.SIGKILL)
        done["kills"] += 1

    changelogs = [name for name in topic_names(WorkerSettings(app_id=app_id)) if name.endswith("-changelog")]
    # A recovery may end before the kill lands (it is short on a fast machine): then the worker is started again.
    for attempt in range(1, RECOVERY_ATTEMPTS + 1):
        stack.stop(worker)
        node = busiest_leader(stack.kafka, changelogs)
        states = asyncio.run(partition_states(stack.kafka))  # ahead of the recovery, so the kill follows its start closely
        worker = start(attempt)
        log = stack.supervisor.log_dir / f"worker-{attempt}.log"
        assert wait_for_line(log, "Restoring state from changelog topics", 90)
        stop_node(stack, node, signal.SIGKILL)
        during_recovery = "Worker ready" not in log.read_text(errors="replace")
        done["leader moves"] += restart_node(stack, node, states)
        done["kills"] += 1
        if during_recovery:
            done["kills during recovery"] += 1
            break
    assert done["kills during recovery"] == 1, f"table recovery ended before the kill each of {RECOVERY_ATTEMPTS} times"

    for name in stack.broker_names:
        node = int(name.removeprefix("kafka-"))
        done["leader moves"] += cycle_node(stack, node, signal.SIGTERM)
    done["rolling restarts"] += 1
    return done


async def input_records(kafka: str) -> dict[str, Counter]:
    """How many records of each event id every input topic holds."""
    found = {topic: Counter() for topic in topics.INPUTS}
    async for records in read_log(kafka, topics.INPUTS):
        for record in records:
            found[record.topic][orjson.loads(record.value).get("event_id")] += 1
    return found


def test_no_event_is_lost_or_doubled_while_brokers_fail():
    started = time.monotonic()
    app_id = "faults"
    records = numbered_events()
    direct = {orjson.loads(value)["event_id"]: topic for topic, _, value in records}
    invalid = {f"crash-{n}" for n in range(len(records)) if n % INVALID_EVERY == 7}
    with bench_stack(PARTITIONS, "kafka", kafka_nodes=3) as stack, api_server(stack) as (url, tokens):
        assert stack.replication == 3
        asyncio.run(stack.ensure_topics(app_id))
        stop = threading.Event()
        with ThreadPoolExecutor(2) as traffic:
            api = traffic.submit(api_traffic, url, tokens, stop)
            producer = traffic.submit(produce_in_chunks, stack.kafka, records, 50)
            try:
                done = broker_faults(stack, app_id, random.Random(15))
            finally:
                stop.set()
            answers = api.result()
            producer.result()
        faults_s = time.monotonic() - started

        statuses = Counter(status for _, status, _, _ in answers)
        assert statuses.keys() <= {202, 503}, statuses
        assert all(retry_after for _, status, _, retry_after in answers if status == 503), "a 503 without Retry-After"
        accepted = {event_id: topic for topic, status, event_id, _ in answers if status == 202}
        on_topics = asyncio.run(input_records(stack.kafka))
        not_in_log = [event_id for event_id, topic in accepted.items() if not on_topics[topic][event_id]]
        assert not_in_log == [], f"{len(not_in_log)} events answered 202 are not in their input topic: {not_in_log[:5]}"
        repeated = Counter()
        for source, events in (("API", accepted), ("direct", direct)):
            repeated[source] = sum(on_topics[topic][event_id] - 1 for event_id, topic in events.items())

        redis = Redis.from_url(stack.redis)
        everything = [*direct, *accepted]
        deadline = time.monotonic() + 180
        while not settled(redis, everything):
            if time.monotonic() > deadline:
                missing = [e for e, r in results(redis, everything).items() if r.get("state") in (None, "accepted")]
                pytest.fail(f"{len(missing)} events never got an outcome: {asyncio.run(whereabouts(stack.kafka, app_id, missing[:5]))}")
            time.sleep(0.5)
        outcomes = tally_outcomes(redis, everything, invalid)
        assert outcomes["dead letter"] == len(invalid)
        households = Counter(case["household_id"] for case in open_cases(redis))
        assert max(households.values()) == 1, "a household has two open cases"

        # Redis is written first: wait until triage has also written its outputs and committed every signal.
        deadline = time.monotonic() + 60
        while (ends := asyncio.run(topic_ends(stack.kafka))) != asyncio.run(committed_offsets(stack.kafka, app_id, [topics.SIGNALS])):
            assert time.monotonic() < deadline, f"triage did not commit up to the end of aid.signals {ends}"
            time.sleep(0.2)
        total, repeats = asyncio.run(case_event_duplicates(stack.kafka))
        keys = assert_rebuild_equals(stack, redis)
    print(
        f"\nbroker faults: {done['kills']} kills (1 during table recovery), {done['rolling restarts']} rolling restart of "
        f"{len(stack.broker_names)} nodes, {done['leader moves']} leader moves observed; events in: {len(accepted)} by the API "
        f"(answered 202; {statuses[503]} more answered 503 with Retry-After), {len(direct)} straight to the input topics; "
        f"{outcomes['on a case'] + outcomes['household timeline only']} processed ({outcomes['on a case']} on a case), "
        f"{outcomes['dead letter']} dead letters; lost 0, duplicated 0; input records written twice by producer retries: "
        f"{repeated['API']} of the API's, {repeated['direct']} of the direct ones; aid.case-events {total} records of which "
        f"{repeats} identical replays; read model equals rebuild ({keys} keys); faults {faults_s:.0f} s, "
        f"total {time.monotonic() - started:.0f} s"
    )
