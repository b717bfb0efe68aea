"""Follow-up visits, satisfaction call-backs and the follow-ups list on the real stack (the fast policy: seconds)."""

import httpx
import pytest

from tests.factories import AREA
from tests.integration.helpers import eventually
from tests.integration.test_workflow import CASH, command, open_case

pytestmark = pytest.mark.integration
OUTSIDER = "officer:village:370784107201"  # a village of another town


async def household_of(officer: httpx.AsyncClient, household_id: str) -> dict:
    return (await officer.get(f"/v1/households/{household_id}")).json()


async def listed(client: httpx.AsyncClient, path: str = "/v1/follow-ups", **params) -> list[str]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return [item["visit"]["visit_id"] for item in response.json()["items"]]


async def delivered_and_closed(stack, serial: int) -> dict:
    case = await open_case(stack, serial)
    async with stack.client("officer") as officer:
        assert (await command(officer, case["case_id"], "deliver", CASH))["state"] == "processed"
        assert (await command(officer, case["case_id"], "close", {"outcome": CASH}))["state"] == "processed"
    return case


async def test_delivery_schedules_follow_ups_listed_by_area_a_visit_is_recorded_and_more_help_opens_a_new_case(stack):
    case = await open_case(stack, 921)
    case_id, household_id = case["case_id"], case["household_id"]
    async with stack.client("officer") as officer, stack.client("officer:town:370784101") as town, stack.client(OUTSIDER) as outsider:
        assert (await command(officer, case_id, "deliver", CASH))["state"] == "processed"
        visits = (await household_of(officer, household_id))["household"]["visits"]
        assert [(v["visit_id"], v["kind"], v["status"]) for v in visits] == [
            (f"F1-{case_id}", "follow_up", "green"), (f"F2-{case_id}", "follow_up", "green")
        ]  # fmt: skip
        assert f"F1-{case_id}" in await listed(officer) and f"F1-{case_id}" in await listed(town)
        assert f"F1-{case_id}" not in await listed(outsider)
        item = next(i for i in (await town.get("/v1/follow-ups")).json()["items"] if i["visit"]["visit_id"] == f"F1-{case_id}")
        assert item["town"] == {"code": AREA["town"], "name": item["town"]["name"]} and item["town"]["name"] != AREA["town"]
        assert item["person"]["name"] == "周九" and "*" in item["person"]["id_masked"]

        recorded = await command(officer, case_id, "visits", {"found": "老人已出院，家中有米有面"})
        assert recorded["state"] == "processed"
        visits = {v["visit_id"]: v for v in (await household_of(officer, household_id))["household"]["visits"]}
        assert visits[f"F1-{case_id}"]["status"] == "done" and visits[f"F1-{case_id}"]["found"] == "老人已出院，家中有米有面"
        assert f"F1-{case_id}" not in await listed(officer)

        assert (await command(officer, case_id, "close", {"outcome": CASH}))["state"] == "processed"
        assert f"B1-{case_id}" in await listed(officer)

        more = await command(officer, case_id, "visits", {"visit_id": f"F2-{case_id}", "found": "又断粮了", "more_help": True})
        assert more["state"] == "processed"

        async def new_case():
            cases = (await household_of(officer, household_id))["cases"]
            return next((c for c in cases if c["case_id"] != case_id and c["status"] != "closed"), None)

        opened = await eventually(new_case)
        detail = (await officer.get(f"/v1/cases/{opened['case_id']}")).json()
        assert detail["category"] == "visit.more_help" and detail["reports"][0]["text"] == "又断粮了"
        assert detail["reports"][0]["source"] == "visit"


async def test_a_dissatisfied_call_back_reopens_the_case_for_the_town_with_the_supervision_deadline_and_the_words(stack):
    case = await delivered_and_closed(stack, 922)
    async with stack.client("operator") as operator, stack.client("officer:town:370784101") as town:
        answer = await command(operator, case["case_id"], "satisfaction", {"rating": "dissatisfied", "text": "救助款到得太晚"})
        assert answer["state"] == "processed"
        reopened = (await town.get(f"/v1/cases/{case['case_id']}")).json()
        assert reopened["stage"] == "opened" and reopened["supervised"] is True and reopened["rating"] == "dissatisfied"
        assert reopened["tier"] in ("town", "city", "leadership") and reopened["due_deadline"] == "supervision"
        steps = [(e["type"], e["data"]) for e in reopened["timeline"] if e["type"] in ("satisfaction_recorded", "reopened")]
        assert [t for t, _ in steps] == ["satisfaction_recorded", "reopened"]
        assert steps[1][1] == {"reason": "dissatisfied", "text": "救助款到得太晚", "supervised": True}
        assert f"B1-{case['case_id']}" not in await listed(town)


async def test_reopening_withdraws_the_call_back_due_and_closing_again_lists_the_next(stack):
    case = await delivered_and_closed(stack, 926)
    case_id = case["case_id"]
    async with stack.client("officer") as officer:
        assert f"B1-{case_id}" in await listed(officer)
        assert (await command(officer, case_id, "reopen", {"reason": "家属又来电"}))["state"] == "processed"
        assert f"B1-{case_id}" not in await listed(officer)
        visits = {v["visit_id"]: v for v in (await household_of(officer, case["household_id"]))["household"]["visits"]}
        assert visits[f"B1-{case_id}"]["status"] == "withdrawn" and visits[f"B1-{case_id}"]["done_by"]
        assert (await command(officer, case_id, "deliver", CASH))["state"] == "processed"
        assert (await command(officer, case_id, "close", {"outcome": CASH}))["state"] == "processed"
        assert f"B2-{case_id}" in await listed(officer) and f"B1-{case_id}" not in await listed(officer)


async def test_a_satisfied_call_back_keeps_the_case_closed_and_a_second_rating_is_refused(stack):
    case = await delivered_and_closed(stack, 923)
    async with stack.client("officer") as officer:
        assert (await command(officer, case["case_id"], "satisfaction", {"rating": "satisfied", "text": "很满意"}))["state"] == "processed"
        closed = (await officer.get(f"/v1/cases/{case['case_id']}")).json()
        assert closed["stage"] == "closed" and closed["rating"] == "satisfied" and closed["supervised"] is False
        again = await command(officer, case["case_id"], "satisfaction", {"rating": "dissatisfied"})
        assert again["state"] == "rejected"
        early = await open_case(stack, 924)
        refused = await officer.post(f"/v1/cases/{early['case_id']}/satisfaction", json={"rating": "satisfied"})
        assert refused.status_code == 409 and "办结" in refused.json()["detail"]


async def test_visits_and_call_backs_keep_to_the_area_and_the_roles(stack):
    case = await open_case(stack, 925)
    async with stack.client(OUTSIDER) as outsider, stack.client("hospital") as hospital, stack.client("operator") as operator:
        assert (await outsider.post(f"/v1/cases/{case['case_id']}/visits", json={"found": "x"})).status_code == 403
        assert (await outsider.post(f"/v1/households/{case['household_id']}/visits", json={"found": "x"})).status_code == 403
        assert (await outsider.post(f"/v1/cases/{case['case_id']}/satisfaction", json={"rating": "satisfied"})).status_code == 403
        assert (await hospital.post(f"/v1/cases/{case['case_id']}/satisfaction", json={"rating": "satisfied"})).status_code == 403
        assert (await operator.post(f"/v1/cases/{case['case_id']}/visits", json={"found": "x"})).status_code == 403
        assert (await operator.get("/v1/watchlist")).status_code == 403
        bad = await operator.post(f"/v1/cases/{case['case_id']}/satisfaction", json={"rating": "so-so"})
        assert bad.status_code == 422 and "rating" in bad.text
