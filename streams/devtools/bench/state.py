"""Worker state at county and province scale: resident memory and recovery time with N households in its table.

A county's registry is about 300,000 households, a province's about 30 million. The households are the generator's
(registry members, then a hotline call each, one in five opening a case) made into table entries by the real rules;
a few thousand distinct ones are written under new household ids until the changelog holds N. A worker then starts on
it: recovery_s is from its start until a new call is processed (group join, changelog recovery of every household and
of the persons table, first batch), worker_rss_mb its resident memory then.

Run alone: `python -m streams.devtools.bench.state [households] [memory|rocksdb]`.
"""

import asyncio
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from redis import Redis

from schemas import readmodel
from schemas.departments import BUNDLED, Departments, load_departments
from streams.config import WorkerSettings
from streams.devtools.bench.search import called
from streams.devtools.bench.stack import BenchStack, bench_stack
from streams.devtools.bench.timers import calls, produce_calls
from streams.devtools.generator import Generator
from streams.plumbing.effects import partition_for
from streams.plumbing.topics import changelog_names
from streams.policies import load_policy
from streams.rules.household import HouseholdState

APP_ID = "bench-state"
DISTINCT = 2000  # households made by the rules; the rest are copies of them under other ids
SECRET = b"bench-state-secret"
PROBE = "bench-state-probe"
Record = tuple[str, bytes, bytes, int]  # topic, key, value, partition


def distinct_states(departments: Departments, count: int, seed: int) -> list[HouseholdState]:
    """Household states as triage keeps them after a registry record and a hotline call each."""
    generator = Generator(departments, seed=seed)
    policy = load_policy("default")
    states = []
    for n in range(count):
        home = generator.new_household()
        outcome, _, _ = called(generator, home, n, SECRET, policy)
        states.append(outcome.state)
    return states


def table_records(topics: list[str], partitions: int, states: list[HouseholdState], households: int) -> Iterator[Record]:
    """Households table entries, each state copied under new ids until there are households of them, each naming the
    partition it is written to (the deadline queues are rebuilt from it), and a persons table entry for each member
    (person keys made unique by the copy's number)."""
    households_topic, persons_topic = topics
    unplaced = [state.model_copy(update={"partition": -1}) for state in states]
    templates = [(state.household_id.encode(), state.model_dump_json().encode(), list(state.members)) for state in unplaced]
    for n in range(households):
        template_id, value, members = templates[n % len(templates)]
        household_id = f"HS-{n:08d}".encode()
        partition = partition_for(household_id, partitions)
        yield (
            households_topic,
            household_id,
            value.replace(template_id, household_id).replace(b'"partition":-1', b'"partition":%d' % partition, 1),
            partition,
        )
        for member in members:
            person = orjson.dumps(f"{member[:-8]}{n:08d}")
            yield persons_topic, person, orjson.dumps(household_id.decode()), partition_for(person, partitions)


async def fill_changelogs(kafka: str, topics: list[str], partitions: int, states: list[HouseholdState], households: int) -> None:
    """Write the table records (table_records) to the changelogs."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    try:
        sent = []
        for topic, key, value, partition in table_records(topics, partitions, states, households):
            sent.append(await producer.send(topic, value, key=key, partition=partition))
            if len(sent) >= 10_000:
                await asyncio.gather(*sent)
                sent = []
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def resident_mb(pid: int) -> float:
    """A process's resident memory in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def state_figures(stack: BenchStack, departments: Departments, households: int, seed: int, store: str = "memory") -> dict:
    """Recovery time and resident memory of a worker keeping its tables in store, starting on a table of households entries."""
    asyncio.run(stack.ensure_topics(APP_ID))
    states = distinct_states(departments, min(DISTINCT, households), seed)
    asyncio.run(fill_changelogs(stack.kafka, changelog_names(WorkerSettings(app_id=APP_ID)), stack.partitions, states, households))
    redis = Redis.from_url(stack.redis)
    started = time.perf_counter()
    worker = stack.start_worker("state-worker", APP_ID, table_store=store)
    try:
        probe = calls(Generator(departments, seed=seed + 1), 1)
        probe[0][1]["event_id"] = PROBE
        asyncio.run(produce_calls(stack.kafka, probe))
        while not redis.exists(readmodel.event_key(PROBE)):
            # Faust recovers some 5,000 changelog records a second: a household and its members' persons entries.
            if worker.poll() is not None or time.perf_counter() - started > 60 + households / 250:
                raise RuntimeError("the worker did not process a new call; see its log")
            time.sleep(0.05)
        return {"recovery_s": time.perf_counter() - started, "worker_rss_mb": resident_mb(worker.pid)}
    finally:
        stack.stop(worker)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    table_store = sys.argv[2] if len(sys.argv) > 2 else "memory"
    with bench_stack(WorkerSettings().partitions) as bench:
        figures = state_figures(bench, load_departments(BUNDLED), count, seed=7, store=table_store)
    print(f"households {count:,} in {table_store}: recovery_s {figures['recovery_s']:.1f}, worker_rss_mb {figures['worker_rss_mb']:.0f}")
