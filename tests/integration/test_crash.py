"""Crash test: 5,000 numbered events from all three sources while the worker is killed and restarted;
every event must end with exactly one outcome, no household with two open cases, and the read model
equal to a rebuild from the log."""

import asyncio
import random
import re
import signal
import threading
import time
from collections import Counter
from itertools import islice
from pathlib import Path

import orjson
import pytest
from aiokafka import TopicPartition
from redis import Redis

from schemas import readmodel, topics
from schemas.departments import BUNDLED, load_departments
from streams.devtools.bench.stack import BenchStack, bench_stack
from streams.devtools.bench.throughput import processed, produce
from streams.devtools.generator import Generator
from streams.plumbing.log import log_end_offsets, read_log
from tests.integration.helpers import assert_rebuild_equals, committed_offsets, tally_outcomes

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers]
EVENTS = 5000
PARTITIONS = 4
RECOVERY_ATTEMPTS = 3
INVALID_EVERY = 50  # one event in 50 has a wrong ID check digit: it must become a dead letter
# The triage ledger's log lines (streams.agents.triage): what Faust delivered twice, late or not at all.
PASSED_OVER = re.compile(
    r"ledger: passed over (\d+) repeats and (\d+) messages of an earlier generation; (\d+) partitions stopped at a gap(.*)"
)
GAP = re.compile(r" (\S+)@(\d+)→(\d+)")
REREAD = re.compile(r"ledger: (\d+) stalled partitions with records waiting")


def numbered_events() -> list[tuple[str, bytes, bytes]]:
    """Generator traffic from all three sources, each event carrying event_id crash-<n>."""
    records = []
    for n, (topic, body) in enumerate(islice(Generator(load_departments(BUNDLED), seed=99), EVENTS)):
        body["event_id"] = f"crash-{n}"
        if n % INVALID_EVERY == 7:
            id_number = body["subject"]["id_number"]
            body["subject"]["id_number"] = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")
        records.append((topic, body["subject"]["id_number"].encode(), orjson.dumps(body)))
    return records


def produce_in_chunks(kafka: str, records: list, chunks: int = 20, pause_s: float = 1.0) -> None:
    """Write the records over about chunks × pause_s seconds, so the kills land mid-stream."""

    async def run() -> None:
        size = len(records) // chunks
        for start in range(0, len(records), size):
            await produce(kafka, records[start : start + size])
            await asyncio.sleep(pause_s)

    asyncio.run(run())


def wait_for_line(log: Path, text: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return True
        time.sleep(0.05)
    return False


def without_outcome(redis: Redis) -> list[str]:
    """The numbered events with no result in the read model yet."""
    checks = redis.pipeline(transaction=False)
    for n in range(EVENTS):
        checks.exists(readmodel.event_key(f"crash-{n}"))
    return [f"crash-{n}" for n, found in enumerate(checks.execute()) if not found]


async def whereabouts(kafka: str, app_id: str, event_ids: list[str]) -> dict:
    """Where the events are on the input and signal topics, and the committed offsets of the worker's groups."""
    found = {}
    async for records in read_log(kafka, [*topics.INPUTS, topics.SIGNALS]):
        for record in records:
            for event_id in event_ids:
                if f'"{event_id}"'.encode() in record.value:
                    found.setdefault(event_id, []).append(f"{record.topic}[{record.partition}]@{record.offset}")
    triage = await committed_offsets(kafka, app_id, [topics.SIGNALS])
    intake = await committed_offsets(kafka, f"{app_id}-intake", list(topics.INPUTS))
    return {"found": found, "committed": {"triage": triage, "intake": intake}}


async def topic_ends(kafka: str, topic: str = topics.SIGNALS) -> dict[str, int]:
    """The end offset of every partition of a topic (aid.signals unless told), keyed like committed_offsets."""
    ends = await log_end_offsets(kafka, [TopicPartition(topic, p) for p in range(PARTITIONS)])
    return {f"{tp.topic}[{tp.partition}]": end for tp, end in ends.items()}


async def case_event_duplicates(kafka: str) -> tuple[int, int]:
    """Records on aid.case-events, and how many repeat a (case, version) already seen (all must be identical repeats).

    Identical but for the household view, which rides on a household's last event of a batch: a replay's batches may
    end elsewhere and put it on another event. Where both copies carry it, it is the same.
    """
    seen: dict[tuple, dict] = {}
    total = repeats = 0
    async for records in read_log(kafka, [topics.CASE_EVENTS]):
        for record in records:
            event = orjson.loads(record.value)
            total += 1
            identity = (event["household_id"], event["case_id"], event["version"], event["event_id"], event["type"])
            if identity in seen:
                repeats += 1
                first = seen[identity]
                assert {**first, "household": None} == {**event, "household": None}, f"a replay produced a different event for {identity}"
                assert None in (first["household"], event["household"]) or first["household"] == event["household"], identity
            seen[identity] = event
    return total, repeats


def ledger_figures(log_dir: Path) -> Counter:
    """What the workers' ledgers passed over and read again, summed from their logs (a killed worker's counters die with it)."""
    figures, gaps = Counter(), {}
    for log in log_dir.glob("worker-*.log"):
        text = log.read_text(errors="replace")
        for repeats, earlier, stopped, where in PASSED_OVER.findall(text):
            figures.update(repeats=int(repeats), earlier_generation=int(earlier), stopped=int(stopped))
            for tp, expected, found in GAP.findall(where):
                gaps[log.name, tp, expected] = min(gaps.get((log.name, tp, expected), EVENTS), int(found) - int(expected))
        figures["rereads"] += sum(int(n) for n in REREAD.findall(text))
    figures.update(gaps=len(gaps), missing=sum(gaps.values()))
    return figures


def ledger_summary(figures: Counter) -> str:
    return (
        f"ledger passed over {figures['repeats']} repeats and {figures['earlier_generation']} messages of an earlier "
        f"generation, met {figures['gaps']} gaps ({figures['missing']} offsets missing; {figures['stopped']} batches stopped), "
        f"read {figures['rereads']} stalled partitions again"
    )


def wait_for_triage_to_commit(stack: BenchStack, app_id: str, timeout_s: float = 300) -> None:
    """Wait until triage has committed every record of aid.signals (a generous bound: only a hang fails it)."""
    deadline = time.monotonic() + timeout_s
    while (ends := asyncio.run(topic_ends(stack.kafka))) != (
        committed := asyncio.run(committed_offsets(stack.kafka, app_id, [topics.SIGNALS]))
    ):
        assert time.monotonic() < deadline, f"triage did not commit up to the end of aid.signals: ends {ends}, committed {committed}"
        time.sleep(0.3)


def crash_and_restart(stack: BenchStack, app_id: str, how: signal.Signals, store: str, rng: random.Random) -> int:
    """Kill the worker three times at random moments while it processes, and once during table recovery; return the kills."""

    def start(n: int):
        return stack.start_worker(f"worker-{n}", app_id, log_level="info", session_timeout_s="3", table_store=store)

    def kill(worker) -> None:
        worker.send_signal(how)
        worker.wait(30)

    redis = Redis.from_url(stack.redis)
    worker, kills = start(0), 0
    for n in range(1, 4):
        # Kill mid-batch: only once this worker has written some results, at a random moment after.
        before = processed(redis)
        deadline = time.monotonic() + 60
        while processed(redis) < min(before + 100, EVENTS) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.1, 1.5))
        kill(worker)
        kills += 1
        worker = start(n)
    # A recovery may end before the kill lands (it is short on a fast machine): then the next worker is tried.
    for n in range(3, 3 + RECOVERY_ATTEMPTS):
        log = stack.supervisor.log_dir / f"worker-{n}.log"
        assert wait_for_line(log, "Restoring state from changelog topics", 60)
        kill(worker)
        kills += 1
        worker = start(n + 1)
        if "Worker ready" not in log.read_text(errors="replace"):
            return kills
    raise AssertionError(f"table recovery ended before the kill meant for it, {RECOVERY_ATTEMPTS} times")


@pytest.mark.parametrize(
    ("how", "store"),
    [(signal.SIGKILL, "memory"), (signal.SIGTERM, "memory"), (signal.SIGKILL, "rocksdb")],
    ids=["SIGKILL", "SIGTERM", "SIGKILL-rocksdb"],
)
def test_every_event_has_exactly_one_outcome_across_crashes(how, store, broker):
    records = numbered_events()
    app_id = f"crash-{how.name.lower()}-{store}"
    with bench_stack(PARTITIONS, broker) as stack:
        asyncio.run(stack.ensure_topics(app_id))
        producer = threading.Thread(target=produce_in_chunks, args=(stack.kafka, records))
        producer.start()
        kills = crash_and_restart(stack, app_id, how, store, random.Random(how.value))
        producer.join()
        redis = Redis.from_url(stack.redis)
        deadline = time.monotonic() + 120
        while missing := without_outcome(redis):
            if time.monotonic() > deadline:
                pytest.fail(f"{len(missing)} events never got an outcome: {asyncio.run(whereabouts(stack.kafka, app_id, missing[:5]))}")
            time.sleep(0.5)

        invalid = {f"crash-{n}" for n in range(EVENTS) if n % INVALID_EVERY == 7}
        outcomes = tally_outcomes(redis, (f"crash-{n}" for n in range(EVENTS)), invalid)
        assert outcomes["dead letter"] == len(invalid)

        open_ids = [c.decode() for c in redis.zrange(readmodel.OPEN_CASES, 0, -1)]
        households = Counter(orjson.loads(redis.hget(readmodel.case_key(c), "doc"))["household_id"] for c in open_ids)
        assert max(households.values()) == 1, "a household has two open cases"

        # Redis is written first: wait until triage has also written its outputs and committed every signal.
        wait_for_triage_to_commit(stack, app_id)
        total, repeats = asyncio.run(case_event_duplicates(stack.kafka))
        keys = assert_rebuild_equals(stack, redis)
        print(
            f"\n{how.name}, {store} tables: {kills} kills; {EVENTS} events in → {outcomes['on a case']} on a case "
            f"({len(open_ids)} cases open), {outcomes['household timeline only']} on household timelines only, "
            f"{outcomes['dead letter']} dead letters; lost 0, duplicated 0; aid.case-events {total} records of which "
            f"{repeats} identical replays (skipped by version); read model equals rebuild ({keys} keys); "
            f"{ledger_summary(ledger_figures(stack.supervisor.log_dir))}"
        )
