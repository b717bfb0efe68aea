"""Crash test of the merges: registry links arriving after their people's admissions and calls, and identifications of
callers' subjects known by no ID number, while the worker is killed (SIGKILL) again and again. Every case must end in
one household, one open case per household, nothing lost or duplicated, and the read model equal to a rebuild."""

import asyncio
import random
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest
from redis import Redis

from schemas import readmodel, topics
from streams.devtools.bench.stack import BenchStack, bench_stack
from streams.devtools.bench.throughput import produce
from tests.factories import admission_body, call_body, change_body, id_number
from tests.integration.helpers import committed_offsets
from tests.integration.test_crash import (
    assert_rebuild_equals,
    case_event_duplicates,
    ledger_figures,
    ledger_summary,
    topic_ends,
    wait_for_triage_to_commit,
)

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers]
PARTITIONS = 4
HOUSEHOLDS = 150  # three members each; the first two are admitted or called about before the registry links them
SIGNAL_TYPES = {"opened", "signal_attached"}
KILLS = 12


def member(h: int, m: int) -> str:
    return id_number(h + 200 * m, "20150101" if m == 2 else "19800101")


def unregistered(n: int) -> str:
    return id_number(700 + n, "20160101")


def household(h: int) -> str:
    return f"HH-MERGE-{h:03d}"


def record(topic: str, body: dict, key: str | None = None) -> tuple[str, bytes, bytes]:
    return topic, (key or body["subject"]["id_number"]).encode(), orjson.dumps(body)


def early_events() -> list:
    """Before any registry link: an admission about each household's first member, a call about its second, and a call
    about a child nobody can name by ID number (one per household)."""
    records = []
    for h in range(HOUSEHOLDS):
        admission = admission_body(event_id=f"a-{h}", subject={"id_number": member(h, 0), "name": f"甲{h}"})
        call = call_body(event_id=f"c1-{h}", subject={"id_number": member(h, 1), "name": f"乙{h}"}, caller_phone=f"1390000{h:04d}")
        unknown = call_body(
            event_id=f"u-{h}",
            category="child_unattended",
            subject={"sex": "female", "approximate_age": 6, "description": f"红衣服，第{h}号"},
            caller_phone=f"1370000{h:04d}",
            flags={},
        )
        records += [
            record(topics.HOSPITAL_ADMISSIONS, admission),
            record(topics.HOTLINE_CALLS, call),
            record(topics.HOTLINE_CALLS, unknown, f"u-{h}"),
        ]
    return records


def late_events(redis: Redis) -> list:
    """The registry links, a call about each household's third member, and the identification of each unknown child:
    as that third member (their household has an open case: a merge), as a person nobody registered (an adoption), or
    as the first member (whose own household is moving at the same time)."""
    records = []
    for h in range(HOUSEHOLDS):
        for m in range(3):
            link = change_body(
                "household.member_added", "public-security", event_id=f"r-{h}-{m}", subject={"id_number": member(h, m), "name": "家人"}
            )
            records.append(record(topics.DEPARTMENT_CHANGES, {**link, "household_id": household(h)}))
        records.append(record(topics.HOTLINE_CALLS, call_body(event_id=f"c2-{h}", subject={"id_number": member(h, 2), "name": f"丙{h}"})))
        case = orjson.loads(redis.hget(readmodel.case_key(redis.hget(readmodel.event_key(f"u-{h}"), "case_id").decode()), "doc"))
        id_no = (member(h, 2), unregistered(h), member(h, 0))[h % 3]
        identification = {
            "identification_id": f"i-{h}",
            "case_id": case["case_id"],
            "household_id": case["household_id"],
            "id_number": id_no,
            "requested_at": datetime.now(UTC).isoformat(),
            "actor": "officer:city:*",
            "actor_name": "李娜",
        }
        records.append((topics.IDENTIFICATIONS, id_no.encode(), orjson.dumps(identification)))
    return records


def results(redis: Redis, event_ids: list[str]) -> dict[str, dict]:
    checks = redis.pipeline(transaction=False)
    for event_id in event_ids:
        checks.hgetall(readmodel.event_key(event_id))
    return {e: {k.decode(): v.decode() for k, v in found.items()} for e, found in zip(event_ids, checks.execute(), strict=True)}


def settled(redis: Redis, event_ids: list[str]) -> bool:
    return all(result.get("state") not in (None, "accepted") for result in results(redis, event_ids).values())


def feed(stack: BenchStack, redis: Redis) -> None:
    """Produce the early events, wait for their cases, then the late ones, each in chunks so the kills land mid-stream."""

    async def run() -> None:
        early = early_events()
        for start in range(0, len(early), 45):
            await produce(stack.kafka, early[start : start + 45])
            await asyncio.sleep(0.5)
        early_ids = [orjson.loads(value)["event_id"] for _, _, value in early]
        deadline = time.monotonic() + 180
        while not settled(redis, early_ids):
            assert time.monotonic() < deadline, "the early events never got their cases"
            await asyncio.sleep(0.3)
        late = late_events(redis)
        for start in range(0, len(late), 50):
            await produce(stack.kafka, late[start : start + 50])
            await asyncio.sleep(0.5)

    asyncio.run(run())


def progress(redis: Redis) -> int:
    """Everything the read model has counted: case events of every kind (moves too) and dead letters."""
    return sum(int(v) for v in redis.hgetall(readmodel.STATS).values())


def assert_still_running(stack: BenchStack) -> None:
    """Fail at once, with what its log says went wrong, if the last worker started has exited by itself."""
    name, worker = stack.supervisor.children[-1]
    if worker.poll() is None:
        return
    lines = (stack.supervisor.log_dir / f"{name}.log").read_text(errors="replace").splitlines()
    trouble = [line for line in lines if any(word in line for word in ("ERROR", "CRITICAL", "Traceback", "Error"))]
    heading = f"{name} exited by itself ({worker.returncode}); its errors:"
    raise AssertionError("\n".join([heading, *trouble[-40:], "its end:", *lines[-30:]]))


def kill_while_working(stack: BenchStack, app_id: str, rng: random.Random) -> int:
    """SIGKILL the worker KILLS times, each within moments of its writing something (so mid-batch, often between a
    batch's outputs and its changelog), and restart it; stop killing once it has nothing left to do. Return the kills."""

    def start(n: int):
        return stack.start_worker(f"worker-{n}", app_id, log_level="info", session_timeout_s="3")

    redis = Redis.from_url(stack.redis)
    worker = start(0)
    for kills in range(KILLS):
        before = progress(redis)
        deadline = time.monotonic() + 30
        while progress(redis) == before:
            if time.monotonic() > deadline:
                return kills
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.05))
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        worker = start(kills + 1)
    return KILLS


def wait_for_matches_to_settle(stack: BenchStack, app_id: str, timeout_s: float) -> None:
    """Wait until the matcher has read every case event and triage every signal, the matcher's last commands included."""
    deadline = time.monotonic() + timeout_s
    while True:
        wait_for_triage_to_commit(stack, app_id, timeout_s)
        matched = asyncio.run(committed_offsets(stack.kafka, f"{app_id}-matcher", [topics.CASE_EVENTS]))
        if matched == asyncio.run(topic_ends(stack.kafka, topics.CASE_EVENTS)) and asyncio.run(topic_ends(stack.kafka)) == asyncio.run(
            committed_offsets(stack.kafka, app_id, [topics.SIGNALS])
        ):
            return
        assert time.monotonic() < deadline, f"the matcher did not read to the end of aid.case-events: committed {matched}"
        time.sleep(0.3)


def open_cases(redis: Redis) -> list[dict]:
    return [orjson.loads(redis.hget(readmodel.case_key(c.decode()), "doc")) for c in redis.zrange(readmodel.OPEN_CASES, 0, -1)]


def test_merges_survive_the_worker_being_killed(broker):
    app_id = "crash-merge"
    with bench_stack(PARTITIONS, broker) as stack:
        asyncio.run(stack.ensure_topics(app_id))
        redis = Redis.from_url(stack.redis)
        feeder = threading.Thread(target=feed, args=(stack, redis))
        feeder.start()
        kills = kill_while_working(stack, app_id, random.Random(14))
        feeder.join()

        signal_ids = [f"{kind}-{h}" for h in range(HOUSEHOLDS) for kind in ("a", "c1", "u", "c2")]
        links = [f"r-{h}-{m}" for h in range(HOUSEHOLDS) for m in range(3)]
        identifications = [f"i-{h}" for h in range(HOUSEHOLDS)]
        everything = signal_ids + links + identifications
        # Generous: the unnamed children all match one another (up to ~22,000 possible_match commands queue behind the calls).
        deadline = time.monotonic() + 600
        while not settled(redis, everything):
            assert_still_running(stack)
            assert time.monotonic() < deadline, [e for e, r in results(redis, everything).items() if r.get("state") in (None, "accepted")][
                :10
            ]
            time.sleep(0.5)
        # Every move and match done: triage has committed up to the end of aid.signals, where the moves ride and the
        # matcher's commands queue, and the matcher has read every case event (so sends no more).
        wait_for_matches_to_settle(stack, app_id, timeout_s=600)

        found = results(redis, everything)
        assert all(found[i]["state"] == "processed" for i in identifications), {
            i: found[i] for i in identifications if found[i]["state"] != "processed"
        }
        cases = open_cases(redis)
        per_household = Counter(case["household_id"] for case in cases)
        assert max(per_household.values()) == 1, "a household has two open cases"
        # Each registry household ends with one open case holding all its people's signals (and the identified child's).
        by_household = {case["household_id"]: case for case in cases}
        for h in range(HOUSEHOLDS):
            case = by_household[household(h)]
            expected = {f"a-{h}", f"c1-{h}", f"c2-{h}"} | ({f"u-{h}"} if h % 3 != 1 else set())
            # A registry link read while the household already had an open case joined it (context, never evidence).
            joined = {f"r-{h}-{m}" for m in range(3)} & set(case["signal_ids"])
            assert set(case["signal_ids"]) == expected | joined, (h, case["signal_ids"])
            assert case["identity_verified"]
        # The children identified as nobody registered keep their case, now verified, in their own household.
        adopted = {case["signal_ids"][0]: case for case in cases if case["household_id"].startswith("P")}
        assert set(adopted) == {f"u-{h}" for h in range(HOUSEHOLDS) if h % 3 == 1}
        assert all(case["identity_verified"] and case["case_id"] == found[case["signal_ids"][0]]["case_id"] for case in adopted.values())
        assert len(cases) == HOUSEHOLDS + len(adopted) and not [c for c in cases if c["household_id"].startswith("U")]

        # Nothing lost or duplicated: each signal opened or joined exactly one case, once, and every case absorbed by
        # another points (through any chain) at an open one.
        on_timelines = Counter()
        for case_id in {found[e]["case_id"] for e in signal_ids}:
            for raw in redis.lrange(readmodel.timeline_key(case_id), 0, -1):
                entry = orjson.loads(raw)
                if entry["type"] in SIGNAL_TYPES:
                    on_timelines[entry["event_id"]] += 1
        assert all(on_timelines[e] == 1 for e in signal_ids), {e: on_timelines[e] for e in signal_ids if on_timelines[e] != 1}
        held = Counter(e for case in cases for e in case["signal_ids"])
        assert {e: held[e] for e in signal_ids} == dict.fromkeys(signal_ids, 1) and max(held.values()) == 1
        open_ids = {case["case_id"] for case in cases}
        for case_id in {found[e]["case_id"] for e in signal_ids} - open_ids:
            seen = []
            while case_id not in open_ids:
                doc = orjson.loads(redis.hget(readmodel.case_key(case_id), "doc"))
                assert doc["merged_into"] and case_id not in seen, doc
                seen.append(case_id)
                case_id = doc["merged_into"]

        total, repeats = asyncio.run(case_event_duplicates(stack.kafka))
        keys = assert_rebuild_equals(stack, redis)
        print(
            f"\nSIGKILL: {kills} kills; {len(signal_ids)} signals and {len(links)} registry links in, {len(identifications)} "
            f"identifications → {len(cases)} open cases ({len(adopted)} adopted in the person's own household), lost 0, "
            f"duplicated 0; aid.case-events {total} records of which {repeats} identical replays; read model equals rebuild "
            f"({keys} keys); {ledger_summary(ledger_figures(stack.supervisor.log_dir))}"
        )
