"""People without an ID number, identified later, and one household however it is learned, on the real stack."""

import pytest

from tests.factories import admission_body, call_body, change_body, id_number
from tests.integration.helpers import eventually, processed
from tests.integration.test_sources import produce

pytestmark = pytest.mark.integration
OFFICER = "officer:town:370784101"  # the town of the factories' area
DESCRIBED = {"sex": "male", "approximate_age": 7, "description": "穿蓝色外套，约一米二，独自在家两天"}


async def unidentified_call(operator, **subject) -> dict:
    """A call about a child nobody can name by ID number; the case it opened."""
    body = call_body(category="child_unattended", subject={**DESCRIBED, **subject}, flags={}, description="邻居说孩子两天没见大人")
    response = await operator.post("/v1/hotline/calls", json=body)
    assert response.status_code == 202, response.text
    result = await processed(operator, response.json()["event_id"])
    assert result["case_id"], result
    return (await operator.get(f"/v1/cases/{result['case_id']}")).json()


async def identify(officer, case_id: str, id_no: str, **extra) -> dict:
    response = await officer.post(f"/v1/cases/{case_id}/identify", json={"id_number": id_no, **extra})
    assert response.status_code == 202, response.text
    return await processed(officer, response.json()["command_id"])


async def case_where(client, case_id: str, condition) -> dict:
    """The case once the condition holds of it (a move takes a second hop through Kafka)."""

    async def probe():
        case = (await client.get(f"/v1/cases/{case_id}")).json()
        return case if condition(case) else None

    return await eventually(probe)


async def test_a_call_with_no_id_number_opens_an_unverified_child_case_and_identifying_keeps_its_id(stack):
    child = id_number(861, "20190505")
    async with stack.client("operator") as operator, stack.client(OFFICER) as officer:
        case = await unidentified_call(operator)
        assert case["identity_verified"] is False and case["subject"]["id_masked"] is None
        assert case["household_id"].startswith("U") and case["priority"] in ("P1", "P2") and case["track"] == "emergency"
        assert "household:children" in {f["code"] for f in case["factors"]} and "identify" in case["allowed_actions"]
        listed = (await officer.get("/v1/cases", params={"limit": 500})).json()["items"]
        assert next(c for c in listed if c["case_id"] == case["case_id"])["identity_verified"] is False

        bad = await officer.post(
            f"/v1/cases/{case['case_id']}/identify", json={"id_number": child[:-1] + ("0" if child[-1] != "0" else "1")}
        )
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "id_number"]
        assert "校验码" in bad.json()["detail"][0]["msg"]

        result = await identify(officer, case["case_id"], child, name="王小明")
        assert result["state"] == "processed" and result["case_id"] == case["case_id"]
        moved = await case_where(officer, case["case_id"], lambda c: not c["household_id"].startswith("U"))
        timeline = (await officer.get(f"/v1/cases/{case['case_id']}/timeline")).json()["timeline"]
        again = await officer.post(f"/v1/cases/{case['case_id']}/identify", json={"id_number": child})
    assert moved["case_id"] == case["case_id"] and moved["identity_verified"] is True
    assert moved["subject"] == {
        "id_masked": child[:4] + "*" * 10 + child[-4:],
        "name": "王小明",
        "sex": None,
        "approximate_age": None,
        "description": None,
    }
    assert moved["household_id"].startswith("P") and moved["status"] != "closed"
    # The versions go on across the move (the fast policy's deadline ticks may add some of their own in between).
    versions = {event["type"]: event["version"] for event in timeline}
    assert case["version"] < versions["handed_over"] < versions["taken_over"] <= moved["version"]
    steps = [e["type"] for e in moved["timeline"]]
    assert steps[-2:] == ["handed_over", "taken_over"] and moved["timeline"][-2]["actor_name"]
    assert again.status_code == 409 and "已核实" in again.json()["detail"]
    assert child not in str(moved)


async def test_identifying_into_a_household_with_an_open_case_leaves_one_case_the_older(stack):
    household = "HH-370784-MERGE-1"
    mother, child = id_number(862, "19880808"), id_number(863, "20180606")
    async with stack.client("operator") as operator, stack.client(OFFICER) as officer:
        for n, (id_no, name) in enumerate(((mother, "李梅"), (child, "李小宝"))):
            link = change_body(
                "household.member_added", "public-security", event_id=f"merge-reg-{n}", subject={"id_number": id_no, "name": name}
            )
            await produce(stack, "department.changes", {**link, "household_id": household})
            await processed(operator, f"merge-reg-{n}")
        # The household's own case first: the mother lost her income (a standard-track lead).
        response = await operator.post(
            "/v1/hotline/calls",
            json=call_body(category="loss_of_income", subject={"id_number": mother, "name": "李梅"}, flags={}, caller_phone="13900000862"),
        )
        older = (await operator.get(f"/v1/cases/{(await processed(operator, response.json()['event_id']))['case_id']}")).json()
        assert older["household_id"] == household
        newer = await unidentified_call(operator, name="小宝")
        await identify(officer, newer["case_id"], child)
        absorbed = await case_where(officer, newer["case_id"], lambda c: c.get("merged_into"))
        survivor = await case_where(officer, older["case_id"], lambda c: c["version"] > older["version"])
        open_cases = (await officer.get("/v1/cases", params={"limit": 500})).json()["items"]
    assert absorbed["merged_into"] == older["case_id"] and absorbed["status"] == "closed" and absorbed["household_id"] == household
    assert absorbed["allowed_actions"] == [] and absorbed["timeline"][-1]["type"] == "merged_into"
    assert [c["case_id"] for c in open_cases if c["household_id"] == household] == [older["case_id"]]
    assert survivor["household_id"] == household and survivor["timeline"][-1]["type"] == "merged"
    assert survivor["timeline"][-1]["data"]["absorbed"] == newer["case_id"]
    # Tightened, never loosened: the child's emergency clocks and priority now run on the older case.
    assert survivor["track"] == "emergency" and survivor["priority"] == newer["priority"] and survivor["urgency"] >= newer["urgency"]
    assert survivor["deadlines"]["aid"]["due_at"] == newer["deadlines"]["aid"]["due_at"]
    assert survivor["deadlines"]["acknowledge"]["due_at"] <= older["deadlines"]["acknowledge"]["due_at"]
    assert survivor["deadlines"]["acknowledge"]["due_at"] <= newer["deadlines"]["acknowledge"]["due_at"]
    assert set(newer["signal_ids"]) | set(older["signal_ids"]) == set(survivor["signal_ids"]) and survivor["reports_total"] == 2
    # Commands sent to the absorbed case are refused with the survivor's id.
    async with stack.client(OFFICER) as officer:
        refused = await officer.post(f"/v1/cases/{newer['case_id']}/notes", json={"text": "还在吗"})
    assert refused.status_code == 409 and older["case_id"] in refused.json()["detail"]


async def test_a_registry_link_after_a_hospital_admission_moves_the_admission_case_into_the_registry_household(stack):
    household = "HH-370784-MERGE-2"
    patient = id_number(864, "19700707")
    async with stack.client("hospital") as hospital, stack.client("operator") as operator:
        response = await hospital.post("/v1/hospital/admissions", json=admission_body(subject={"id_number": patient, "name": "赵大"}))
        case = (await operator.get(f"/v1/cases/{(await processed(operator, response.json()['event_id']))['case_id']}")).json()
        assert case["household_id"].startswith("P")
        link = change_body(
            "household.member_added", "public-security", event_id="merge-reg-late", subject={"id_number": patient, "name": "赵大"}
        )
        await produce(stack, "department.changes", {**link, "household_id": household})
        await processed(operator, "merge-reg-late")
        moved = await case_where(operator, case["case_id"], lambda c: c["household_id"] == household)
        # What arrives later about the patient joins the same case in the registry household.
        response = await hospital.post(
            "/v1/hospital/admissions", json=admission_body(subject={"id_number": patient, "name": "赵大"}, admission_type="emergency")
        )
        later = await processed(operator, response.json()["event_id"])
    assert moved["status"] != "closed" and [e["type"] for e in moved["timeline"]][-2:] == ["handed_over", "taken_over"]
    assert later["case_id"] == case["case_id"]


async def test_an_unidentified_admission_and_what_the_intake_refuses(stack):
    async with (
        stack.client("hospital") as hospital,
        stack.client("operator") as operator,
        stack.client("department:civil-affairs") as civil,
    ):
        response = await hospital.post(
            "/v1/hospital/admissions",
            json=admission_body(subject={"sex": "female", "approximate_age": 60, "description": "昏迷，灰色外套"}),
        )
        assert response.status_code == 202, response.text
        result = await processed(operator, response.json()["event_id"])
        case = (await operator.get(f"/v1/cases/{result['case_id']}")).json()
        assert case["identity_verified"] is False and case["subject"]["sex"] == "female"
        missing = await operator.post("/v1/hotline/calls", json=call_body(subject={"sex": "male", "approximate_age": 30}))
        english = await operator.post(
            "/v1/hotline/calls", json=call_body(subject={"sex": "male", "approximate_age": 30}), headers={"Accept-Language": "en"}
        )
        no_id = await civil.post(
            "/v1/departments/civil-affairs/changes", json=change_body("lowincome.enrolled", "civil-affairs", subject={"name": "某"})
        )
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "subject", "description"]
    assert missing.json()["detail"][0]["msg"] == "外貌特征（subject.description）：身份证号不详时必填"
    assert "required when the ID number is not known" in english.json()["detail"][0]["msg"]
    assert no_id.status_code == 422 and "id_number" in no_id.json()["detail"][0]["loc"]
