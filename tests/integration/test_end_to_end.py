"""The full path on the real broker and Redis, observed only through the HTTP API."""

import asyncio
import random
import shutil
import statistics
import subprocess
import time

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas.ids import check_digit
from streams.rules.normalise import offset_event_id
from tests.factories import call_body, id_number
from tests.integration.helpers import eventually, processed

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers]


def unique_subject(rng: random.Random) -> dict:
    first17 = f"370784{rng.randrange(1950, 2010)}0{rng.randrange(1, 10)}1{rng.randrange(0, 10)}{rng.randrange(1000):03d}"
    return {"id_number": first17 + check_digit(first17), "name": "李四"}


async def test_critical_call_runs_green_yellow_red_city_leadership(stack):
    async with stack.client("operator") as operator, stack.client("officer") as officer:
        response = await operator.post(
            "/v1/hotline/calls", json=call_body(subject={"id_number": id_number(501), "name": "王五"}, flags={"children": 3})
        )
        assert response.status_code == 202
        result = await processed(operator, response.json()["event_id"])
        assert result["state"] == "processed" and result["urgency"] >= 80
        case_id = result["case_id"]
        seen: list[tuple[str, str]] = []

        async def reached_leadership():
            case = (await officer.get(f"/v1/cases/{case_id}")).json()
            step = (case["status"], case["tier"])
            if not seen or seen[-1] != step:
                seen.append(step)
            return case if case["tier"] == "leadership" else None

        case = await eventually(reached_leadership, timeout_s=15, interval_s=0.05)
    assert seen == [("green", "town"), ("yellow", "town"), ("red", "city"), ("red", "leadership")]
    assert case["priority"] == "P1" and case["subject"]["id_masked"] == "3707**********" + id_number(501)[-4:]
    assert {f["code"] for f in case["factors"]} == {"hotline:medical_emergency", "household:children", "household:dependency_ratio"}
    assert case["urgency"] == sum(f["points"] for f in case["factors"])
    assert [e["type"] for e in case["timeline"]] == ["opened", "status_changed", "status_changed", "escalated", "escalated"]
    assert [e["data"].get("to") for e in case["timeline"][1:]] == ["yellow", "red", "city", "leadership"]
    assert all(e["actor"] == "system:deadlines" for e in case["timeline"][1:])


async def test_live_feed_streams_case_events(stack):
    officer, operator = stack.client("officer"), stack.client("operator")
    async with officer, operator, officer.stream("GET", "/v1/live", timeout=20) as live:
        assert live.headers["content-type"].startswith("text/event-stream")
        response = await operator.post("/v1/hotline/calls", json=call_body(subject={"id_number": id_number(502), "name": "赵六"}))
        event_id = response.json()["event_id"]
        async for line in live.aiter_lines():
            if line.startswith("data:"):
                update = orjson.loads(line[5:])
                if event_id in update["case"]["signal_ids"]:
                    assert update["type"] == "opened"
                    assert update["case"]["subject"]["id_masked"] == "3707**********" + id_number(502)[-4:]
                    break


async def test_bad_calls_are_refused_naming_the_field(stack):
    async with stack.client("operator") as operator, stack.client("hospital") as hospital:
        bad_id = call_body(subject={"id_number": "370784198001011235", "name": "x"})
        response = await operator.post("/v1/hotline/calls", json=bad_id)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "subject", "id_number"]
        assert response.json()["detail"][0]["msg"] == "身份证号（subject.id_number）：校验码不正确"
        assert response.json()["detail"][0]["input"] == "3707**********1235"
        response = await operator.post("/v1/hotline/calls", json={**call_body(), "colour": "blue"})
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "colour"]
        assert (await hospital.post("/v1/hotline/calls", json=call_body())).status_code == 403
        assert (await operator.post("/v1/hotline/calls", json=call_body(), headers={"Authorization": "Bearer nope"})).status_code == 401
        async with stack.client("operator") as anonymous:
            anonymous.headers.pop("Authorization")
            assert (await anonymous.get("/v1/cases")).status_code == 401


async def test_events_produced_straight_to_kafka_are_validated_and_dead_lettered(stack):
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
    await producer.start()
    try:
        good = await producer.send_and_wait(
            "hotline.calls",
            orjson.dumps(call_body(event_id="direct-ok-1", subject={"id_number": id_number(503), "name": "孙七"})),
            key=b"k",
        )
        garbage = await producer.send_and_wait("hotline.calls", b"{not json", key=b"k")
        bad_digit = await producer.send_and_wait(
            "hotline.calls",
            orjson.dumps(call_body(event_id="direct-bad-1", subject={"id_number": "370784198001011235", "name": "x"})),
            key=b"k",
        )
    finally:
        await producer.stop()
    async with stack.client("admin") as admin:
        assert (await processed(admin, "direct-ok-1"))["state"] == "processed"
        rejected = await processed(admin, offset_event_id("hotline.calls", garbage.partition, garbage.offset))
        assert rejected["state"] == "rejected" and rejected["reason"].startswith("不是有效的 JSON")
        rejected = await processed(admin, "direct-bad-1")
        assert rejected["state"] == "rejected" and "subject.id_number" in rejected["reason"]
        assert good.partition == bad_digit.partition  # same key, same partition: the partition kept moving past the bad ones
        metrics = (await admin.get("/metrics")).text
        assert 'rapidaid_deadletters_total{topic="hotline.calls"}' in metrics


async def test_idempotency_key_returns_the_same_event_and_one_case(stack):
    body = call_body(subject={"id_number": id_number(504), "name": "周八"})
    async with stack.client("operator") as operator:
        first = await operator.post("/v1/hotline/calls", json=body, headers={"Idempotency-Key": "retry-504"})
        second = await operator.post("/v1/hotline/calls", json=body, headers={"Idempotency-Key": "retry-504"})
        assert first.status_code == second.status_code == 202
        assert first.json()["event_id"] == second.json()["event_id"]
        result = await processed(operator, first.json()["event_id"])
        cases = (await operator.get("/v1/cases", params={"limit": 500})).json()["items"]
        assert [c["case_id"] for c in cases if first.json()["event_id"] in c["signal_ids"]] == [result["case_id"]]


async def test_case_list_filters_and_metrics(stack):
    async with stack.client("operator") as operator:
        response = await operator.post(
            "/v1/hotline/calls",
            json=call_body(subject={"id_number": id_number(505), "name": "吴九"}, area={"town": "370784107", "village": "370784107201"}),
        )
        case_id = (await processed(operator, response.json()["event_id"]))["case_id"]
        listed = (await operator.get("/v1/cases", params={"town": "370784107"})).json()
        assert case_id in [c["case_id"] for c in listed["items"]]  # other tests may open cases in this town too
        assert {c["area"]["town"] for c in listed["items"]} == {"370784107"}
        # Other tests may open standard-track (P3) cases there: the filter gives those, not this emergency.
        p3 = (await operator.get("/v1/cases", params={"town": "370784107", "priority": "P3"})).json()["items"]
        assert case_id not in [c["case_id"] for c in p3]
        assert all(c["priority"] == "P3" and c["area"]["town"] == "370784107" for c in p3)
        assert (await operator.get("/v1/cases", params={"status": "purple"})).status_code == 422
        assert (await operator.get("/v1/cases/C000000000000")).status_code == 404
        assert (await operator.get("/v1/cases/NOPE")).status_code == 422
        assert (await operator.get("/metrics")).status_code == 403  # not public: a metrics or admin token
    async with stack.client("metrics") as scraper:
        metrics = (await scraper.get("/metrics")).text
    async with stack.client("operator") as operator:
        for name in ('rapidaid_events_total{source="hotline"}', "rapidaid_cases_opened_total{", 'rapidaid_open_cases{colour="red"}'):
            assert name in metrics
        schema = (await operator.get("/v1/schemas/hotline-call")).json()
        assert {"subject", "area", "category", "caller_phone"} <= set(schema["properties"])


async def test_end_to_end_latency_over_200_calls(stack):
    """Every one of 200 calls becomes a readable case; prints p50 / p99 from POST to readable case."""
    rng = random.Random(7)
    latencies: list[float] = []
    async with stack.client("operator") as operator:

        async def one_call() -> None:
            started = time.perf_counter()
            response = await operator.post("/v1/hotline/calls", json=call_body(subject=unique_subject(rng), flags={"children": 2}))
            result = await processed(operator, response.json()["event_id"], timeout_s=30, interval_s=0.005)
            assert (await operator.get(f"/v1/cases/{result['case_id']}")).status_code == 200
            latencies.append(time.perf_counter() - started)

        tasks = []
        for _ in range(200):
            tasks.append(asyncio.create_task(one_call()))
            await asyncio.sleep(0.02)  # 50 calls per second offered
        await asyncio.gather(*tasks)
    latencies.sort()
    p50, p99 = statistics.median(latencies) * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"\nend-to-end POST → case readable over {len(latencies)} calls at 50/s: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    assert len(latencies) == 200


async def test_board_and_its_assets_are_served(stack):
    async with stack.client("officer") as officer:
        page = await officer.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for asset in ("/static/board.js", "/static/board.css"):
            assert asset in page.text
            assert (await officer.get(asset)).status_code == 200


@pytest.mark.skipif(not shutil.which("kcat"), reason="kcat is not installed (make test installs Debian's kcat as root)")
async def test_kcat_produces_straight_to_the_embedded_broker(stack):
    """Debian's kcat (librdkafka 2.0) talks to the broker: Tansu through the launcher's proxy, Apache Kafka directly."""
    call = orjson.dumps(call_body(event_id="kcat-0001", subject={"id_number": id_number(506), "name": "郑一"}))
    produce = ["kcat", "-P", "-b", stack.kafka, "-t", "hotline.calls", "-k", id_number(506)]
    done = subprocess.run(produce, input=call, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr.decode()
    async with stack.client("operator") as operator:
        assert (await processed(operator, "kcat-0001"))["state"] == "processed"
    listed = subprocess.run(["kcat", "-L", "-b", stack.kafka, "-t", "aid.case-events"], capture_output=True, timeout=30, text=True)
    assert 'topic "aid.case-events" with 4 partitions' in listed.stdout


async def test_the_log_is_kept_forever_and_changelogs_compacted(stack):
    """A broker's default retention (7 days on Kafka) would cut the history a rebuild and a table recovery start from."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka)
    await admin.start()
    try:
        names = ["aid.case-events", "hotline.calls", "rapidaid-households-changelog"]
        described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
    finally:
        await admin.close()
    configs = {res[3]: {c[0]: c[1] for c in res[4]} for response in described for res in response.resources}
    assert configs["aid.case-events"]["retention.ms"] == configs["hotline.calls"]["retention.ms"] == "-1"
    assert configs["rapidaid-households-changelog"]["cleanup.policy"] == "compact"
