"""Hospitals and departments as first-class producers: one household seen through all three sources."""

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from tests.factories import admission_body, call_body, change_body, id_number
from tests.integration.helpers import processed

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers]
HOUSEHOLD = "HH-370784-0001"
DAD, MUM, KID = id_number(701, "19790305"), id_number(702, "19810812"), id_number(703, "20150101")


async def produce(stack, topic: str, body: dict) -> None:
    """Send one event straight to Kafka, as a department's own system would."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, orjson.dumps(body), key=body["subject"]["id_number"].encode())
    finally:
        await producer.stop()


def person(id_no: str, name: str) -> dict:
    return {"id_number": id_no, "name": name}


async def test_one_household_through_all_three_topics_becomes_one_case(stack):
    async with (
        stack.client("operator") as operator,
        stack.client("hospital") as hospital,
        stack.client("department:civil-affairs") as civil,
    ):
        # The household registry, produced straight to the topic: links three people to one household.
        for event_id, id_no, name in (("reg-1", DAD, "刘强"), ("reg-2", MUM, "王芳"), ("reg-3", KID, "刘小明")):
            body = change_body(
                "household.member_added", "public-security", event_id=event_id, subject=person(id_no, name), household_id=HOUSEHOLD
            )
            await produce(stack, "department.changes", body)
            assert (await processed(operator, event_id))["state"] == "processed"
        # Civil affairs through the API, naming no household: resolved from the registry.
        enrolled = change_body("lowincome.enrolled", "civil-affairs", subject=person(MUM, "王芳"), programme="lowincome")
        enrolled.pop("department")
        response = await civil.post("/v1/departments/civil-affairs/changes", json=enrolled)
        assert response.status_code == 202, response.text
        assert (await processed(operator, response.json()["event_id"]))["case_id"] is None
        # The hospital: an ICU stay with a high self-pay share opens an emergency case.
        response = await hospital.post("/v1/hospital/admissions", json=admission_body(subject=person(DAD, "刘强")))
        assert response.status_code == 202, response.text
        opened = await processed(operator, response.json()["event_id"])
        case_id = opened["case_id"]
        assert case_id and opened["urgency"] >= 60
        # Human resources, produced straight to the topic: the mother loses her job; priority goes up.
        await produce(
            stack, "department.changes", change_body("employment.lost", "human-resources", event_id="hr-1", subject=person(MUM, "王芳"))
        )
        assert (await processed(operator, "hr-1"))["case_id"] == case_id
        # A hotline call about the child attaches to the same case.
        response = await operator.post("/v1/hotline/calls", json=call_body(subject=person(KID, "刘小明"), category="child_unattended"))
        assert (await processed(operator, response.json()["event_id"]))["case_id"] == case_id
        case = (await operator.get(f"/v1/cases/{case_id}")).json()
    assert case["household_id"] == HOUSEHOLD
    assert case["priority"] == "P1"
    codes = {f["code"] for f in case["factors"]}
    assert {"enrolment:lowincome", "household:children", "compounding:recent_signals", "compounding:independent_sources"} <= codes
    assert [e["type"] for e in case["timeline"]][:3] == ["opened", "signal_attached", "rescored"]
    sources = [e["data"]["source"] for e in case["timeline"] if e["type"] in ("opened", "signal_attached")]
    assert sources[:3] == ["hospital", "department", "hotline"]
    async with stack.client("officer") as officer:
        listed = (await officer.get("/v1/cases", params={"limit": 500})).json()["items"]
    assert [c["case_id"] for c in listed if c["household_id"] == HOUSEHOLD] == [case_id]


async def test_a_breadwinner_death_opens_an_emergency_case_with_no_call(stack):
    household = "HH-370784-0002"
    dad, mum, kid1, kid2 = (id_number(n, born) for n, born in ((711, "19780101"), (712, "19800202"), (713, "20120303"), (714, "20160404")))
    async with stack.client("department:civil-affairs") as civil, stack.client("operator") as operator:
        for n, id_no in enumerate((dad, mum, kid1, kid2)):
            body = change_body(
                "household.member_added", "public-security", event_id=f"reg2-{n}", subject=person(id_no, "家人"), household_id=household
            )
            await produce(stack, "department.changes", body)
            await processed(operator, f"reg2-{n}")
        enrolled = change_body("lowincome.enrolled", "civil-affairs", event_id="la-2", subject=person(mum, "家人"))
        await produce(stack, "department.changes", enrolled)
        assert (await processed(operator, "la-2"))["case_id"] is None
        died = change_body("household.member_died", "civil-affairs", subject=person(dad, "家人"), breadwinner=True)
        response = await civil.post("/v1/departments/civil-affairs/changes", json=died)
        result = await processed(operator, response.json()["event_id"])
        case = (await operator.get(f"/v1/cases/{result['case_id']}")).json()
    assert case["household_id"] == household and case["track"] == "emergency" and case["priority"] == "P1"
    assert {"household:breadwinner", "household:children", "enrolment:lowincome"} <= {f["code"] for f in case["factors"]}


async def test_departments_may_publish_only_their_own_types(stack):
    async with stack.client("department:civil-affairs") as civil, stack.client("operator") as operator:
        wrong_type = change_body("employment.lost", "civil-affairs")
        response = await civil.post("/v1/departments/civil-affairs/changes", json=wrong_type)
        assert response.status_code == 403 and response.json()["detail"].startswith("部门 民政 不能报送 employment.lost；可报送：")
        response = await civil.post("/v1/departments/education/changes", json=change_body("education.enrolled_college", "education"))
        assert response.status_code == 403 and "department:civil-affairs" in response.json()["detail"]
        response = await civil.post("/v1/departments/civil-affairs/changes", json=change_body("lowincome.enrolled", "housing"))
        assert response.status_code == 403 and response.json()["detail"] == "请求体中的部门 housing 与网址中的部门 civil-affairs 不一致"
        response = await civil.post("/v1/departments/civil-affairs/changes", json=change_body("ufo.landed", "civil-affairs"))
        assert response.status_code == 422 and "type" in str(response.json()["detail"][0])
        response = await operator.post("/v1/hospital/admissions", json=admission_body())
        assert response.status_code == 403
        for name in ("hotline-call", "hospital-admission", "department-change"):
            assert (await operator.get(f"/v1/schemas/{name}")).status_code == 200
        assert "household.member_died" in (await operator.get("/v1/schemas/department-change")).text


async def test_direct_producers_get_the_same_rules_and_admins_see_masked_dead_letters(stack):
    unknown = change_body("ufo.landed", "civil-affairs", event_id="dl-type")
    not_theirs = change_body("asset.property_bought", "civil-affairs", event_id="dl-dept", value_yuan=1)
    bad_digit = admission_body(event_id="dl-digit", subject=person("370784198001011235", "x"))
    await produce(stack, "department.changes", unknown)
    await produce(stack, "department.changes", not_theirs)
    await produce(stack, "hospital.admissions", bad_digit)
    async with stack.client("admin") as admin, stack.client("officer") as officer:
        assert "变动类型（type）：未知类型 ufo.landed" in (await processed(admin, "dl-type"))["reason"]
        assert "部门 民政 不能报送 asset.property_bought" in (await processed(admin, "dl-dept"))["reason"]
        assert (await processed(admin, "dl-digit"))["reason"] == "身份证号（subject.id_number）：校验码不正确"
        letters = (await admin.get("/v1/deadletter")).json()["items"]
        assert (await officer.get("/v1/deadletter")).status_code == 403
        metrics = (await admin.get("/metrics")).text
    mine = {letter["event_id"]: letter for letter in letters if letter["event_id"] in ("dl-type", "dl-dept", "dl-digit")}
    assert set(mine) == {"dl-type", "dl-dept", "dl-digit"}
    assert mine["dl-digit"]["source_topic"] == "hospital.admissions" and "partition" in mine["dl-digit"] and "offset" in mine["dl-digit"]
    assert "370784198001011234" not in orjson.dumps(letters).decode()
    assert "3707**********1234" in mine["dl-type"]["original"]
    assert 'rapidaid_deadletters_total{topic="department.changes"}' in metrics
    assert 'rapidaid_deadletters_total{topic="hospital.admissions"}' in metrics


async def test_the_readme_producer_script_works(stack):
    """The ten-line aiokafka script in the README, run as written against the embedded broker."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    after_marker = readme.split("<!-- direct-producer-script", 1)[1]
    script = after_marker.split("```python\n", 1)[1].split("```", 1)[0]
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "RAPIDAID_KAFKA": stack.kafka}, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    async with stack.client("operator") as operator:
        assert (await processed(operator, "hr-2026-000123"))["state"] == "processed"


async def test_college_lead_asset_purchase_and_repeat_calls_through_the_api(stack):
    student, parent = id_number(721, "20080909"), id_number(722, "19750505")
    household = "HH-370784-0003"
    async with stack.client("admin") as admin, stack.client("operator") as operator:
        for n, id_no in enumerate((parent, student)):
            body = change_body(
                "household.member_added", "public-security", event_id=f"reg3-{n}", subject=person(id_no, "学生家"), household_id=household
            )
            await produce(stack, "department.changes", body)
            await processed(operator, f"reg3-{n}")
        # Events about different people of one household are ordered only by when they are processed.
        enrol = change_body("lowincome.enrolled", "civil-affairs", subject=person(parent, "学生家"))
        response = await admin.post("/v1/departments/civil-affairs/changes", json=enrol)
        await processed(operator, response.json()["event_id"])
        college = change_body("education.enrolled_college", "education", subject=person(student, "学生"), grant_claimed=False)
        response = await admin.post("/v1/departments/education/changes", json=college)
        result = await processed(operator, response.json()["event_id"])
        assert result["case_id"], result
        lead = (await operator.get(f"/v1/cases/{result['case_id']}")).json()
        assert (lead["track"], lead["priority"], lead["urgency"]) == ("standard", "P3", 40)
        assert set(lead["deadlines"]) == {"acknowledge", "complete"}

        caller = {"caller_phone": "13912345678"}
        first = await operator.post("/v1/hotline/calls", json=call_body(subject=person(id_number(731), "陈一"), **caller))
        again = await operator.post("/v1/hotline/calls", json=call_body(subject=person(id_number(731), "陈一"), **caller))
        one = await processed(operator, first.json()["event_id"])
        two = await processed(operator, again.json()["event_id"])
        assert one["case_id"] == two["case_id"]
        case = (await operator.get(f"/v1/cases/{one['case_id']}")).json()
        assert [e["type"] for e in case["timeline"]][:2] == ["opened", "signal_attached"] and "rescored" not in [
            e["type"] for e in case["timeline"]
        ]

        vehicle = change_body(
            "asset.vehicle_bought", "public-security", event_id="car-1", subject=person(id_number(731), "陈一"), value_yuan=90000
        )
        await produce(stack, "department.changes", vehicle)
        assert (await processed(operator, "car-1"))["case_id"] == case["case_id"]
        after = (await operator.get(f"/v1/cases/{case['case_id']}")).json()
    assert (after["priority"], after["urgency"]) == (case["priority"], case["urgency"])
    assert after["status"] != "closed"
    vehicle_factor = next(f for f in after["factors"] if f["code"] == "department:asset.vehicle_bought")
    assert vehicle_factor["points"] == -10 and vehicle_factor["applied"] is False
