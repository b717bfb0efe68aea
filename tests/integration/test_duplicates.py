"""Duplicates are never silent: the same request or event again gets the same answer, a reused key or event id with
other content is refused (409 at the API, a dead letter from a direct producer), and one event id is one case."""

import uuid

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.plumbing.log import read_log
from tests.factories import call_body, change_body, id_number
from tests.integration.helpers import eventually, processed

pytestmark = pytest.mark.integration


def person(serial: int, name: str) -> dict:
    return {"id_number": id_number(serial), "name": name}


async def records_with_event_id(kafka: str, topic: str, event_id: str) -> list[dict]:
    return [
        document
        async for records in read_log(kafka, [topic])
        for record in records
        if (document := orjson.loads(record.value)).get("event_id") == event_id
    ]


async def test_an_idempotency_key_reused_for_another_body_is_409_and_the_first_request_stands(stack):
    # Letters only: a UUID's digits may run long enough that the message masks them as an ID number would be.
    key = "idem-" + uuid.uuid4().hex.translate(str.maketrans("0123456789", "ghijklmnop"))
    first, other = call_body(subject=person(961, "幂等")), call_body(subject=person(962, "另一个"))
    async with stack.client("operator") as operator:
        accepted = await operator.post("/v1/hotline/calls", json=first, headers={"Idempotency-Key": key})
        assert accepted.status_code == 202, accepted.text
        event_id = accepted.json()["event_id"]
        refused = await operator.post("/v1/hotline/calls", json=other, headers={"Idempotency-Key": key})
        assert refused.status_code == 409
        assert refused.json()["detail"].startswith(f"幂等键（Idempotency-Key）{key} 已用于内容不同的请求")
        english = await operator.post("/v1/hotline/calls", json=other, headers={"Idempotency-Key": key, "Accept-Language": "en"})
        assert english.status_code == 409 and f"Idempotency-Key {key} was used for a different request" in english.json()["detail"]
        again = await operator.post("/v1/hotline/calls", json=first, headers={"Idempotency-Key": key})
        assert (again.status_code, again.json()) == (202, {"event_id": event_id, "replayed": True})
        await processed(operator, event_id)
    written = [record async for records in read_log(stack.kafka, ["hotline.calls"]) for record in records]
    assert [orjson.loads(r.value)["event_id"] for r in written if id_number(961).encode() in r.value] == [event_id]
    assert [r for r in written if id_number(962).encode() in r.value] == []


async def test_a_client_event_id_again_is_the_same_event_or_409_and_one_record_on_the_topic(stack):
    event_id = f"dup-api-{uuid.uuid4()}"
    body = call_body(event_id=event_id, subject=person(963, "重发"))
    async with stack.client("operator") as operator:
        first = await operator.post("/v1/hotline/calls", json=body)
        assert (first.status_code, first.json()) == (202, {"event_id": event_id})
        # The same event, spelled differently (keys reordered, a default written out): the same event.
        respelled = {**{key: body[key] for key in reversed(body)}, "household_id": None}
        again = await operator.post("/v1/hotline/calls", json=respelled)
        assert (again.status_code, again.json()) == (202, {"event_id": event_id, "replayed": True})
        # Another event under the same id, with or without an Idempotency-Key: refused, naming the id.
        other = body | {"subject": person(964, "冒名")}
        key = str(uuid.uuid4())
        refused = await operator.post("/v1/hotline/calls", json=other, headers={"Idempotency-Key": key})
        assert refused.status_code == 409
        assert refused.json()["detail"].startswith(f"事件编号 {event_id} 已用于内容不同的事件（重复冲突）")
        # Nothing was written under that Idempotency-Key, so it stays free for a request of its own.
        fresh = await operator.post("/v1/hotline/calls", json=call_body(subject=person(964, "冒名")), headers={"Idempotency-Key": key})
        assert fresh.status_code == 202 and fresh.json()["event_id"] != event_id
        result = await processed(operator, event_id)
        assert result["state"] == "processed"
        await processed(operator, fresh.json()["event_id"])
    written = await records_with_event_id(stack.kafka, "hotline.calls", event_id)
    assert [record["subject"]["name"] for record in written] == ["重发"]


async def produce(kafka: str, key: bytes, *values: bytes, topic: str = "hotline.calls") -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def test_a_direct_producer_reusing_an_event_id_for_another_subject_gets_a_dead_letter_not_a_second_case(stack):
    event_id = f"dup-direct-{uuid.uuid4()}"
    body = call_body(event_id=event_id, subject=person(965, "直送"))
    key = body["subject"]["id_number"].encode()
    async with stack.client("admin") as admin:
        await produce(stack.kafka, key, orjson.dumps(body))
        case_id = (await processed(admin, event_id))["case_id"]
        assert case_id
        # The same record again (a producer's retry), then another subject under the same id. Keyed alike, so read in order.
        conflicting = body | {"subject": person(966, "另一户")}
        await produce(stack.kafka, key, orjson.dumps(body), orjson.dumps(conflicting))

        async def dead_letters() -> list[dict]:
            letters = [orjson.loads(r.value) async for records in read_log(stack.kafka, ["aid.deadletter"]) for r in records]
            return [letter for letter in letters if letter.get("duplicate_of") == event_id]

        (letter,) = await eventually(dead_letters)
        assert letter["reason"] == f"事件编号 {event_id} 已用于内容不同的事件（重复冲突）" and letter["field"] == "event_id"
        assert orjson.loads(letter["original"])["subject"]["name"] == "另一户"
        # A later call about the same household is triaged after the retried record, so by then that has been dropped.
        later = await admin.post("/v1/hotline/calls", json=call_body(subject=person(965, "直送")))
        assert (await processed(admin, later.json()["event_id"]))["case_id"] == case_id
        # The event id keeps the first event's result; its dead-lettered namesake is found by its place in the log.
        assert (await admin.get(f"/v1/events/{event_id}")).json()["case_id"] == case_id
        assert (await processed(admin, letter["event_id"]))["state"] == "rejected"
    case_events = await records_with_event_id(stack.kafka, "aid.case-events", event_id)
    assert [(event["type"], event["case_id"]) for event in case_events] == [("opened", case_id)]
    assert len(await dead_letters()) == 1


async def test_an_event_again_after_a_registry_link_goes_where_it_went_first_and_opens_nothing_new(stack):
    """A retry (or a replay after a crash) is routed as the first time, although the person has since joined a household."""
    event_id = f"dup-route-{uuid.uuid4()}"
    body = call_body(event_id=event_id, subject=person(967, "改户"))
    key = body["subject"]["id_number"].encode()
    async with stack.client("admin") as admin:
        await produce(stack.kafka, key, orjson.dumps(body))
        case_id = (await processed(admin, event_id))["case_id"]
        household = f"HH-route-{uuid.uuid4().hex[:8]}"
        link = change_body("household.member_added", "public-security", subject=body["subject"], household_id=household)
        link["event_id"] = f"{event_id}-link"
        await produce(stack.kafka, key, orjson.dumps(link), topic="department.changes")
        assert (await processed(admin, link["event_id"]))["state"] == "processed"
        await produce(stack.kafka, key, orjson.dumps(body))
        # A later call about the person is read after the retry on the same partition: by then the retry has been dropped.
        later = await admin.post("/v1/hotline/calls", json=call_body(subject=person(967, "改户")))
        assert (await processed(admin, later.json()["event_id"]))["case_id"]
    case_events = await records_with_event_id(stack.kafka, "aid.case-events", event_id)
    assert [(event["type"], event["case_id"]) for event in case_events] == [("opened", case_id)]
