"""The time model on the real stack: a producer's timestamps cannot move deadlines; escalation climbs rung by rung."""

import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from tests.factories import change_body, id_number
from tests.integration.helpers import eventually, processed

pytestmark = pytest.mark.integration
DAY_MS = 86_400_000


async def _produce_stamped(stack, body: dict, timestamp_ms: int) -> None:
    """Produce a department record straight to Kafka with a record timestamp the producer chose."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
    await producer.start()
    try:
        key = body["subject"]["id_number"].encode()
        await producer.send_and_wait("department.changes", orjson.dumps(body), key=key, timestamp_ms=timestamp_ms)
    finally:
        await producer.stop()


@pytest.mark.parametrize(("label", "shift_days"), [("a month old", -30), ("stamped tomorrow", 1)])
async def test_a_producers_clock_neither_reddens_nor_delays_a_case(stack, label, shift_days):
    serial = 730 if shift_days < 0 else 731
    at = datetime.now(UTC) + timedelta(days=shift_days)
    body = change_body(
        "household.member_died",
        "civil-affairs",
        event_id=f"time-{serial}",
        breadwinner=True,
        flags={"children": 2},
        subject={"id_number": id_number(serial), "name": "孙大"},
        occurred_at=at.isoformat(),
        reported_at=at.isoformat(),
    )
    before = datetime.now(UTC)
    await _produce_stamped(stack, body, int(time.time() * 1000) + shift_days * DAY_MS)
    async with stack.client("officer") as officer:
        case_id = (await processed(officer, body["event_id"], timeout_s=30))["case_id"]
        case = (await officer.get(f"/v1/cases/{case_id}")).json()
    opened_at = datetime.fromisoformat(case["opened_at"])
    assert before - timedelta(seconds=1) <= opened_at <= datetime.now(UTC), label
    assert datetime.fromisoformat(case["deadlines"]["aid"]["due_at"]) - opened_at == timedelta(seconds=6), label  # fast policy: 2 h → 6 s
    report = case["reports"][0]
    expected_occurred = at if shift_days < 0 else opened_at  # a future time is taken as the time of receipt
    assert abs(datetime.fromisoformat(report["occurred_at"]) - expected_occurred) < timedelta(seconds=1), label
    opened = next(e for e in case["timeline"] if e["type"] == "opened")
    assert opened["data"]["received_at"] == report["received_at"]


async def test_escalation_is_notified_at_every_rung(stack):
    body = change_body(
        "household.member_died",
        "civil-affairs",
        event_id="time-ladder",
        breadwinner=False,
        subject={"id_number": id_number(732), "name": "钱二"},
    )
    await _produce_stamped(stack, body, int(time.time() * 1000))
    async with stack.client("officer") as officer:
        case_id = (await processed(officer, body["event_id"], timeout_s=30))["case_id"]

        async def escalations():
            timeline = (await officer.get(f"/v1/cases/{case_id}/timeline")).json()["timeline"]
            steps = [(e["data"]["from"], e["data"]["to"]) for e in timeline if e["type"] == "escalated"]
            return steps if steps and steps[-1][1] == "leadership" else None

        steps = await eventually(escalations, timeout_s=30)
    tiers = ["village", "town", "city", "leadership"]
    start = tiers.index(steps[0][0])
    assert steps == list(zip(tiers[start:], tiers[start + 1 :], strict=False))
