"""Watched households (分级分类探访) on the real stack: put on the list by a registry record and by an officer, a missed
visit turning red and climbing the ladder, taken off at a death."""

import httpx
import pytest

from tests.factories import change_body, id_number
from tests.integration.helpers import eventually, processed

pytestmark = pytest.mark.integration
ELDER = id_number(611, "19460303")


async def household_of(officer: httpx.AsyncClient, id_number: str) -> dict:
    """The household the ID number's person belongs to, as its page shows it."""
    found = (await officer.get("/v1/search", params={"q": id_number})).json()["items"]
    return (await officer.get(f"/v1/households/{found[0]['household_id']}")).json()


async def record(client: httpx.AsyncClient, department: str, change_type: str, **fields) -> None:
    body = change_body(change_type, department, subject={"id_number": ELDER, "name": "孙桂兰"}, **fields)
    response = await client.post(f"/v1/departments/{department}/changes", json=body)
    assert response.status_code == 202, response.text
    assert (await processed(client, response.json()["event_id"]))["state"] == "processed"


async def test_an_elder_registered_alone_is_visited_weekly_and_a_missed_visit_climbs_until_a_death_ends_it(stack):
    async with stack.client("admin") as admin, stack.client("officer") as officer:
        await record(admin, "public-security", "household.member_added", household_id="HH-WATCH-611")
        page = await household_of(officer, ELDER)
        household = page["household"]
        assert household["watch"]["categories"] == ["elderly_alone"]
        assert [(v["kind"], v["status"]) for v in household["visits"]] == [("watch", "green")]

        async def climbed():
            visit = (await household_of(officer, ELDER))["household"]["visits"][0]
            return visit if visit["tier"] == "leadership" else None

        visit = await eventually(climbed, timeout_s=30)  # the fast policy: due in 6 s, leadership 3 s after red
        assert visit["status"] == "red"
        steps = [(e["type"], e["data"].get("to")) for e in (await household_of(officer, ELDER))["timeline"]]
        assert [s for s in steps if s[0] == "visit_escalated"] == [
            ("visit_escalated", "town"), ("visit_escalated", "city"), ("visit_escalated", "leadership")
        ]  # fmt: skip

        answer = await officer.post(f"/v1/households/{household['household_id']}/watch", json={"categories": ["child_without_carer"]})
        assert answer.status_code == 202, answer.text
        assert (await processed(officer, answer.json()["command_id"]))["state"] == "processed"
        assert (await household_of(officer, ELDER))["household"]["watch"]["categories"] == ["child_without_carer", "elderly_alone"]
        refused = await officer.post(f"/v1/households/{household['household_id']}/unwatch", json={"categories": ["elderly_alone"]})
        assert (await processed(officer, refused.json()["command_id"]))["state"] == "rejected"

        await record(admin, "civil-affairs", "household.member_died", breadwinner=False)
        after = (await household_of(officer, ELDER))["household"]
        assert after["watch"] is None and [v for v in after["visits"] if v["status"] != "done"] == []


async def test_watch_commands_name_the_field_and_keep_to_the_area(stack):
    async with stack.client("officer:village:370784107201") as elsewhere, stack.client("officer") as officer:
        page = await household_of(officer, ELDER)
        household_id = page["household"]["household_id"]
        bad = await officer.post(f"/v1/households/{household_id}/watch", json={"categories": ["lonely"]})
        assert bad.status_code == 422 and "categories" in bad.text
        assert (await officer.post("/v1/households/HX-NONE/watch", json={"categories": ["elderly_alone"]})).status_code == 404
        outside = await elsewhere.post(f"/v1/households/{household_id}/watch", json={"categories": ["elderly_alone"]})
        assert outside.status_code == 403
