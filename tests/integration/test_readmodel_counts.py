"""The read model's counts on a real Redis: one event's records counted alike whichever comes first, and once.

A rebuild reads the log's partitions in another order than the worker wrote them, so a household's own record of an
event (a watch started by a call) may come before or after the case record of the same event; the live read model and
the rebuild must count both either way."""

from datetime import datetime

import orjson
import pytest
from redis.asyncio import Redis

from schemas import readmodel, topics
from schemas.case import CaseEventType
from schemas.departments import BUNDLED, load_departments
from streams.devtools.bench.search import household_events
from streams.devtools.generator import Generator
from streams.plumbing.readmodel import ReadModelWriter
from streams.policies import load_policy
from streams.rules.cases import household_event
from streams.rules.household import HouseholdState

pytestmark = pytest.mark.integration
SPARE_DATABASES = (7, 8)  # beside the stack's own read model (0) and a rebuild's (1)


def one_call_records() -> tuple[list[tuple[str, bytes]], tuple[str, bytes]]:
    """The case records the rules make of one hotline call, and a household record (a watch started) of the same call."""
    generator = Generator(load_departments(BUNDLED), seed=3)
    raw_events, _ = household_events(generator, generator.new_household(), 0, b"test-secret", load_policy("default"))
    first = orjson.loads(raw_events[0])
    household = HouseholdState(household_id=first["household_id"])
    started = household_event(
        household, CaseEventType.WATCH_STARTED, datetime.fromisoformat(first["at"]), "triage", first["event_id"], {"categories": []}
    )
    return [(topics.CASE_EVENTS, raw) for raw in raw_events], (topics.CASE_EVENTS, started.model_dump_json().encode())


async def test_an_events_records_are_counted_alike_in_either_order_and_once(stack):
    case_records, household_record = one_call_records()
    assert orjson.loads(case_records[0][1])["case"] is not None
    counts = []
    for database, records in zip(SPARE_DATABASES, ([*case_records, household_record], [household_record, *case_records]), strict=True):
        redis = Redis.from_url(f"{stack.redis.rsplit('/', 1)[0]}/{database}")
        await redis.flushdb()
        writer = ReadModelWriter(redis, result_ttl_s=3600, live_length=100, guarded=False)
        await writer.apply(records)
        await writer.apply(records)  # a replay after a crash counts nothing more
        counts.append(await redis.hgetall(readmodel.STATS))
        await redis.flushdb()
        await redis.aclose()
    assert counts[0] == counts[1]
    assert counts[0][b"case_events:watch_started"] == b"1"
    assert counts[0][b"case_events:opened"] == b"1"
