"""Least privilege against the running stack: each role reads what its job needs and no more."""

import base64

import orjson
import psutil
import pytest
from aiokafka import AIOKafkaProducer

from streams.plumbing.log import read_log
from tests.factories import call_body, change_body, id_number
from tests.integration.helpers import eventually, processed

pytestmark = pytest.mark.integration
OTHER_TOWN = {"town": "370784107", "village": "370784107201"}


def masked(full: str) -> str:
    return full[:4] + "*" * 10 + full[-4:]


async def _open_case(stack, serial: int, **overrides) -> str:
    """Post a call that opens a case; return its case id."""
    body = call_body(category="child_unattended", subject={"id_number": id_number(serial, born="20180101"), "name": "权限"}, **overrides)
    async with stack.client("operator") as operator:
        event_id = (await operator.post("/v1/hotline/calls", json=body)).json()["event_id"]
        return (await processed(operator, event_id))["case_id"]


async def test_a_department_reads_only_the_outcome_of_its_own_events(stack):
    enrolled = change_body("lowincome.enrolled", "civil-affairs", subject={"id_number": id_number(851), "name": "低保"})
    case_id = await _open_case(stack, 852)
    async with (
        stack.client("department:civil-affairs") as civil,
        stack.client("department:education") as education,
        stack.client("hospital") as hospital,
        stack.client("operator") as operator,
    ):
        sent = (await civil.post("/v1/departments/civil-affairs/changes", json=enrolled)).json()["event_id"]
        assert (await processed(civil, sent))["state"] == "processed"
        # Another sender's event, or an operator's call, is unknown to them: 404, worded as for an id nobody sent.
        for other in (education, hospital):
            theirs, nobodys = await other.get(f"/v1/events/{sent}"), await other.get("/v1/events/never-sent")
            assert theirs.status_code == nobodys.status_code == 404
            assert theirs.json()["detail"].replace(sent, "") == nobodys.json()["detail"].replace("never-sent", "")
        call = (await operator.post("/v1/hotline/calls", json=call_body(subject={"id_number": id_number(853), "name": "他人"}))).json()
        assert (await civil.get(f"/v1/events/{call['event_id']}")).status_code == 404
        assert (await operator.get(f"/v1/events/{sent}")).status_code == 200  # the hotline answers callers about any report
        for path in ("/v1/cases", f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/timeline", "/v1/live", "/v1/stats"):
            for sender in (civil, hospital):
                refused = await sender.get(path)
                assert refused.status_code == 403, path
                assert "只能查询本单位所报送事件的处理结果" in refused.json()["detail"], path


async def test_a_town_officers_stats_cover_only_its_town(stack):
    await _open_case(stack, 861)
    await _open_case(stack, 862, area=OTHER_TOWN)
    async with stack.client("officer:town:370784101") as town, stack.client("officer") as city, stack.client("operator") as operator:

        async def agreeing() -> tuple[dict, dict] | None:
            # Cases change colour and tier as the test runs: compare stats and lists until one read sees them agree.
            town_stats, city_stats = (await town.get("/v1/stats")).json(), (await city.get("/v1/stats")).json()
            town_total = (await town.get("/v1/cases", params={"limit": 1})).json()["total"]
            city_total = (await city.get("/v1/cases", params={"limit": 1})).json()["total"]
            return (town_stats, city_stats) if (town_stats["open_cases"], city_stats["open_cases"]) == (town_total, city_total) else None

        town_stats, city_stats = await eventually(agreeing)
        assert (await operator.get("/v1/stats")).status_code == 403
    assert town_stats["area"] == {"town": "370784101"} and "counters" not in town_stats
    assert 0 < town_stats["open_cases"] < city_stats["open_cases"]
    assert sum(town_stats["open_by_colour"].values()) == town_stats["open_cases"]
    assert city_stats["area"] is None and city_stats["counters"]["signals:opened"] > 0


async def test_a_dead_letter_on_the_topic_carries_no_id_number_and_the_listing_no_phone(stack):
    full = id_number(871)
    body = call_body(event_id="privilege-dl-1", caller_phone="13912345678", subject={"id_number": full, "name": "死信"}, colour="blue")
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait("hotline.calls", orjson.dumps(body), key=full.encode())
    finally:
        await producer.stop()

    async def dead_letters() -> list:  # the read model is written before aid.deadletter: poll
        records = [record async for batch in read_log(stack.kafka, ["aid.deadletter"]) for record in batch]
        return [record for record in records if orjson.loads(record.value)["event_id"] == "privilege-dl-1"]

    (record,) = await eventually(dead_letters)
    letter = orjson.loads(record.value)
    assert full.encode() not in record.value and full.encode() not in record.key
    assert full not in base64.b64decode(letter["original_b64"]).decode()
    assert letter["key"] == masked(full) and masked(full) in letter["original"]
    async with stack.client("admin") as admin:
        (listed,) = [item for item in (await admin.get("/v1/deadletter")).json()["items"] if item["event_id"] == "privilege-dl-1"]
    assert "13912345678" not in orjson.dumps(listed).decode() and "139****5678" in listed["original"]


async def test_the_access_log_names_the_person_who_read_a_case(stack):
    case_id = await _open_case(stack, 881)
    async with stack.client("officer:town:370784101") as town, stack.client("admin") as admin, stack.client("hospital") as hospital:
        assert (await town.get(f"/v1/cases/{case_id}")).status_code == 200
        assert (await town.get(f"/v1/cases/{case_id}/timeline")).status_code == 200
        assert (await hospital.get(f"/v1/cases/{case_id}")).status_code == 403  # refused before reading: not a read
        log = (await admin.get("/v1/access-log", params={"case_id": case_id})).json()["items"]
        assert (await town.get("/v1/access-log")).status_code == 403
    assert [(e["name"], e["role"], e["read"], e["case_id"]) for e in log] == [
        ("张伟", "officer:town:370784101", "timeline", case_id),
        ("张伟", "officer:town:370784101", "case", case_id),
    ]
    assert log[0]["at"] >= log[1]["at"]


def test_every_process_of_the_stack_listens_on_loopback_only(stack):
    processes = psutil.Process(stack.launcher.pid).children(recursive=True)
    listening = [
        (process.name(), conn.laddr)
        for process in processes
        for conn in process.net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN
    ]
    ports = {address.port for _, address in listening}
    api_port, metrics_port = int(stack.api_url.rsplit(":", 1)[1]), int(stack.worker_metrics_url.split(":")[2].split("/")[0])
    kafka_port, redis_port = int(stack.kafka.rsplit(":", 1)[1]), int(stack.redis.rsplit(":", 1)[1].split("/")[0])
    assert {api_port, metrics_port, kafka_port, redis_port} <= ports and len(ports) >= 6  # and the worker's web port, Tansu's
    assert [(name, address) for name, address in listening if address.ip != "127.0.0.1"] == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/hotline/calls", call_body(subject={"id_number": "370784198001011235", "name": "校验位"})),
        ("POST", "/v1/hotline/calls", call_body(subject="370784198001011234")),
        ("POST", "/v1/hotline/calls", call_body(description=["370784198001011234"])),
        ("GET", "/v1/cases?town=370784198001011234", None),
        ("GET", "/v1/events/370784198001011234", None),
    ],
)
async def test_error_responses_never_echo_an_id_number(stack, method, path, body):
    async with stack.client("operator") as operator:
        response = await operator.request(method, path, json=body)
    assert 400 <= response.status_code < 500
    for full in ("370784198001011234", "370784198001011235"):
        assert full not in response.text, response.text
