"""The caller's words reach the officer: reports on the case, the phone for calling back, ID numbers masked in free text."""

import pytest

from tests.factories import admission_body, call_body, id_number
from tests.integration.helpers import eventually, processed
from tests.integration.test_workflow import command

pytestmark = pytest.mark.integration
CHILD = id_number(611, born="20190305")
WORDS = "7岁男孩独自在家两天，邻居听见哭声。孩子父亲身份证 370784 19800101 1234 已联系不上"


async def test_the_callers_words_and_phone_are_on_the_case_for_the_area_and_masked_for_others(stack):
    body = call_body(
        category="child_unattended", caller_phone="13912345678", description=WORDS, subject={"id_number": CHILD, "name": "王小明"}
    )
    async with stack.client("operator") as operator:
        event_id = (await operator.post("/v1/hotline/calls", json=body)).json()["event_id"]
        case_id = (await processed(operator, event_id))["case_id"]
        async with stack.client("hospital") as hospital:
            admission = admission_body(subject={"id_number": CHILD, "name": "王小明"}, admission_type="emergency")
            admitted = (await hospital.post("/v1/hospital/admissions", json=admission)).json()["event_id"]
            assert (await processed(hospital, admitted))["case_id"] == case_id
        seen_by_operator = (await operator.get(f"/v1/cases/{case_id}")).json()
    async with stack.client("officer:town:370784101") as town_officer:
        seen_by_officer = (await town_officer.get(f"/v1/cases/{case_id}")).json()
        listed = (await town_officer.get("/v1/cases", params={"town": "370784101", "limit": 500})).json()["items"]

    call, admission_report = seen_by_officer["reports"]
    assert call["source"] == "hotline" and call["kind"] == "child_unattended" and call["phone"] == "13912345678"
    assert call["text"].startswith("7岁男孩独自在家两天") and "19800101" not in call["text"] and "3707" in call["text"]
    assert admission_report["source"] == "hospital" and admission_report["reporter"] == "安丘市人民医院"
    assert admission_report["details"]["estimated_cost_yuan"] == 40000 and seen_by_officer["reports_total"] == 2
    assert next(c for c in listed if c["case_id"] == case_id)["reports"][0]["phone"] == "13912345678"
    assert seen_by_operator["reports"][0]["phone"] == "139****5678"  # only the area's officers call back
    opened = next(e for e in seen_by_officer["timeline"] if e["type"] == "opened")
    assert opened["data"]["text"] == call["text"]


async def test_an_id_number_typed_into_a_note_is_masked_before_it_is_stored(stack):
    async with stack.client("operator") as operator:
        event_id = (await operator.post("/v1/hotline/calls", json=call_body(subject={"id_number": id_number(612), "name": "李四"}))).json()
        case_id = (await processed(operator, event_id["event_id"]))["case_id"]
    async with stack.client("officer") as officer:
        verdict = await command(officer, case_id, "notes", {"text": "已核实，户主 370784198001011234 同意救助"})
        assert verdict["state"] == "processed"

        async def note():
            timeline = (await officer.get(f"/v1/cases/{case_id}/timeline")).json()["timeline"]
            return next((e for e in timeline if e["type"] == "note_added"), None)

        added = await eventually(note)
    assert added["data"]["text"] == "已核实，户主 3707**********1234 同意救助"
