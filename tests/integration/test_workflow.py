"""Duty officers' commands, the escalation ladder's notices and the audit log, on the real stack."""

import asyncio
import os
import subprocess
import sys
from urllib.parse import urlparse

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from redis.asyncio import Redis

from schemas import readmodel
from tests.factories import call_body, id_number
from tests.integration.helpers import eventually, processed

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers]
CASH = {"aid_type": "cash", "amount_yuan": 2000}


async def open_case(stack, serial: int, **overrides) -> dict:
    async with stack.client("operator") as operator:
        response = await operator.post(
            "/v1/hotline/calls", json=call_body(subject={"id_number": id_number(serial), "name": "周九"}, **overrides)
        )
        result = await processed(operator, response.json()["event_id"])
        return (await operator.get(f"/v1/cases/{result['case_id']}")).json()


async def command(client, case_id: str, action: str, body: dict) -> dict:
    """Send an officer command, wait for the worker's verdict, return it."""
    response = await client.post(f"/v1/cases/{case_id}/{action}", json=body)
    assert response.status_code == 202, response.text
    return await processed(client, response.json()["command_id"])


async def test_an_officer_takes_a_case_from_call_to_closure(stack):
    case = await open_case(stack, 801)
    async with stack.client("officer") as officer:
        for action, body, stage in (
            ("acknowledge", {}, "acknowledged"),
            ("assign", {"assignee": "张村委", "note": "lives next door"}, "assigned"),
            ("deliver", {**CASH, "note": "cash handed over"}, "aid_delivered"),
            ("notes", {"text": "paperwork started"}, "aid_delivered"),
            ("close", {"outcome": CASH}, "closed"),
        ):
            assert (await command(officer, case["case_id"], action, body))["state"] == "processed"
            assert (await officer.get(f"/v1/cases/{case['case_id']}")).json()["stage"] == stage
        closed = (await officer.get(f"/v1/cases/{case['case_id']}")).json()
        timeline = (await officer.get(f"/v1/cases/{case['case_id']}/timeline")).json()["timeline"]
        closed_list = (await officer.get("/v1/cases", params={"state": "closed"})).json()["items"]
    assert closed["status"] == "closed" and closed["outcome"]["amount_yuan"] == 2000 and closed["assignee"] == "张村委"
    assert "paperwork" in closed["deadlines"] and all(d["met_at"] for d in closed["deadlines"].values())
    officer_steps = [(e["type"], e["actor"]) for e in timeline if e["actor"].startswith("officer")]
    assert officer_steps == [
        ("acknowledged", "officer:city:*"),
        ("assigned", "officer:city:*"),
        ("aid_delivered", "officer:city:*"),
        ("note_added", "officer:city:*"),
        ("closed", "officer:city:*"),
    ]
    assert [e["version"] for e in timeline] == sorted(e["version"] for e in timeline)
    assert case["case_id"] in [c["case_id"] for c in closed_list]


async def test_refusals_are_readable_at_once_or_on_the_timeline(stack):
    case = await open_case(stack, 802)
    async with stack.client("officer") as officer:
        response = await officer.post(f"/v1/cases/{case['case_id']}/close", json={"outcome": CASH})
        assert response.status_code == 409
        assert response.json()["detail"] == "请先登记救助到位再办结，或以转介其他部门办结"
        english = await officer.post(f"/v1/cases/{case['case_id']}/close", json={"outcome": CASH}, headers={"Accept-Language": "en-GB,en"})
        assert english.status_code == 409 and english.json()["detail"].startswith("record the aid as delivered before closing")
        response = await officer.post(f"/v1/cases/{case['case_id']}/deliver", json={"aid_type": "cash"})
        assert response.status_code == 422 and response.json()["detail"][0]["msg"] == "请求体：现金救助须填写金额（amount_yuan）"
        response = await officer.post(f"/v1/cases/{case['case_id']}/assign", json={"assignee": ""})
        assert response.status_code == 422 and response.json()["detail"][0]["msg"] == "承办人（assignee）：至少 1 个字符"
        response = await officer.post(f"/v1/cases/{case['case_id']}/assign", json={}, headers={"Accept-Language": "en"})
        assert response.json()["detail"][0]["msg"] == "assignee: required"
        # A command that passed the API's check but is stale by the time the worker sees it.
        stale = {
            "type": "close",
            "household_id": case["household_id"],
            "case_id": case["case_id"],
            "issued_at": case["opened_at"],
            "actor": "officer:city:*",
            "command_id": "stale-close-802",
            "outcome": CASH,
        }
        producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
        await producer.start()
        await producer.send_and_wait("aid.case-commands", orjson.dumps(stale), key=case["household_id"].encode())
        await producer.stop()
        result = await processed(officer, "stale-close-802")
        timeline = (await officer.get(f"/v1/cases/{case['case_id']}/timeline")).json()["timeline"]
    assert result["state"] == "rejected" and result["reason"] == "请先登记救助到位再办结，或以转介其他部门办结"
    rejected = [e for e in timeline if e["type"] == "command_rejected"]
    assert rejected and rejected[0]["data"]["reason"] == result["reason"] and rejected[0]["actor"] == "officer:city:*"
    assert rejected[0]["data"]["reason_key"] == "refusal.deliver_before_close" and rejected[0]["data"]["reason_params"] == {}


async def test_officers_see_and_act_only_in_their_own_area(stack):
    inside = await open_case(stack, 803)  # town 370784101
    outside = await open_case(stack, 804, area={"town": "370784107", "village": "370784107201"})
    async with stack.client("officer:town:370784101") as town, stack.client("officer:village:370784107201") as village:
        town_cases = {c["case_id"] for c in (await town.get("/v1/cases", params={"limit": 500})).json()["items"]}
        village_cases = {c["case_id"] for c in (await village.get("/v1/cases", params={"limit": 500})).json()["items"]}
        assert inside["case_id"] in town_cases and outside["case_id"] not in town_cases
        assert outside["case_id"] in village_cases and inside["case_id"] not in village_cases
        assert (await town.get(f"/v1/cases/{outside['case_id']}")).status_code == 403
        assert (await village.post(f"/v1/cases/{inside['case_id']}/acknowledge", json={})).status_code == 403
        assert (await command(village, outside["case_id"], "acknowledge", {}))["state"] == "processed"
    async with stack.client("operator") as operator:
        assert (await operator.post(f"/v1/cases/{inside['case_id']}/acknowledge", json={})).status_code == 403
        assert (await operator.get("/v1/me")).json() == {"role": "operator", "name": "陈静"}


async def test_escalations_reach_the_notifications_topic(stack):
    case = await open_case(stack, 805, flags={})  # a P2 case opens at the village tier

    async def reached_leadership():
        async with stack.client("officer") as officer:
            return (await officer.get(f"/v1/cases/{case['case_id']}")).json()["tier"] == "leadership"

    await eventually(reached_leadership, timeout_s=15)
    consumer = AIOKafkaConsumer("aid.notifications", bootstrap_servers=stack.kafka, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    notices = []
    try:
        while batches := await consumer.getmany(timeout_ms=1000, max_records=10000):
            for messages in batches.values():
                notices += [(m.key.decode(), orjson.loads(m.value)) for m in messages]
    finally:
        await consumer.stop()
    # Keys spread notices over partitions; the case version in each notification id restores their order.
    notices.sort(key=lambda keyed: int(keyed[1]["notification_id"].rsplit(":", 1)[1]))
    mine = [(key, n["kind"], n["recipient"]) for key, n in notices if n["case_id"] == case["case_id"]]
    assert mine == [
        ("village:370784101201", "opened", "村级救助专干"),
        ("village:370784101201", "status_changed", "村级救助专干"),
        ("town:370784101", "escalated", "镇（街道）值班督办"),
        ("town:370784101", "status_changed", "镇（街道）值班督办"),
        ("city:370784", "escalated", "市级值班中心"),
        ("leadership:370784", "escalated", "市领导"),
    ]
    [last] = [n for _, n in notices if n["case_id"] == case["case_id"]][-1:]
    assert last["message"].startswith("【P2 紧急】景芝镇 景芝村 突发疾病：已超时，升级至市领导，") and "（北京时间）" in last["message"]


async def test_the_log_rebuilds_a_read_model_equal_to_the_live_one(stack):
    await open_case(stack, 806)
    live_url = urlparse(stack.redis)
    rebuilt_url = f"redis://{live_url.hostname}:{live_url.port}/1"
    done = subprocess.run(
        [sys.executable, "-m", "streams", "rebuild-read-model", "--redis", rebuilt_url],
        env={**os.environ, "RAPIDAID_KAFKA": stack.kafka},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    live, rebuilt = Redis.from_url(stack.redis), Redis.from_url(rebuilt_url)
    try:
        case_ids = await rebuilt.zrange(readmodel.OPEN_CASES, 0, -1) + await rebuilt.zrange(readmodel.CLOSED_CASES, 0, -1)
        assert len(case_ids) >= 5
        same = changed_since = 0
        for case_id in (c.decode() for c in case_ids):
            ours = await rebuilt.hgetall(readmodel.case_key(case_id))
            theirs = await live.hgetall(readmodel.case_key(case_id))
            if ours == theirs:
                assert await rebuilt.lrange(readmodel.timeline_key(case_id), 0, -1) == await live.lrange(
                    readmodel.timeline_key(case_id), 0, -1
                )
                same += 1
            else:  # only a case that moved on after the replay's end offsets may differ
                assert int(theirs[b"version"]) > int(ours[b"version"]), case_id
                changed_since += 1
        assert same >= len(case_ids) - changed_since and same > changed_since
        for colour in ("green", "yellow", "red", "closed"):
            key = readmodel.index_key("status", colour)
            if not changed_since:
                assert await rebuilt.smembers(key) == await live.smembers(key)
        assert await rebuilt.hget(readmodel.STATS, "deadletters:hotline.calls") == await live.hget(
            readmodel.STATS, "deadletters:hotline.calls"
        )
    finally:
        await rebuilt.flushdb()
        await live.aclose()
        await rebuilt.aclose()
    await asyncio.sleep(0)


async def test_the_worker_exports_its_own_prometheus_metrics(stack):
    case, left_alone = await open_case(stack, 807), await open_case(stack, 808)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
    await producer.start()
    await producer.send_and_wait("hotline.calls", b"{not json", key=b"x")
    await producer.stop()
    async with stack.client("officer") as officer:
        await command(officer, case["case_id"], "acknowledge", {})
        await command(officer, case["case_id"], "deliver", CASH)

        async def red():
            return (await officer.get(f"/v1/cases/{left_alone['case_id']}")).json()["status"] == "red"

        await eventually(red, timeout_s=10)
    async with httpx.AsyncClient() as client:
        text = (await client.get(stack.worker_metrics_url)).text
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("rapidaid_worker_")}
    assert samples['rapidaid_worker_events_in_total{source="hotline"}'] >= 1
    assert samples['rapidaid_worker_signals_total{outcome="opened"}'] >= 1
    assert samples['rapidaid_worker_cases_opened_total{priority="P1",track="emergency"}'] >= 1
    assert samples["rapidaid_worker_time_to_acknowledge_seconds_count"] >= 1
    assert samples["rapidaid_worker_time_to_aid_seconds_count"] >= 1
    assert samples["rapidaid_worker_processing_latency_seconds_count"] >= 1
    assert samples['rapidaid_worker_validation_failures_total{reason="malformed_json",topic="hotline.calls"}'] >= 1
    assert any(name.startswith("rapidaid_worker_sla_breaches_total{") for name in samples)
    faust = {line.split("{")[0] for line in text.splitlines() if line.startswith("rapidaid_faust_")}
    assert {"rapidaid_faust_topic_partition_end_offset", "rapidaid_faust_topic_partition_offset_commited"} <= faust
