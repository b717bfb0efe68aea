"""可能是同一人 on the real stack: a call about someone nobody could identify, beside an open case nearby whose subject
may be the same person, shown on both cases; an officer dismisses one such match and confirms another (the cases merge)."""

import pytest

from tests.factories import AREA, call_body, id_number
from tests.integration.helpers import eventually, processed

pytestmark = pytest.mark.integration
OTHER_VILLAGE_SAME_TOWN = {"town": AREA["town"], "village": "370784101202"}


async def open_case(client, subject: dict, area: dict = AREA) -> dict:
    """A child-unattended call about the subject; the case it opened."""
    posted = await client.post("/v1/hotline/calls", json=call_body(subject=subject, category="child_unattended", area=dict(area)))
    assert posted.status_code == 202, posted.text
    case_id = (await processed(client, posted.json()["event_id"]))["case_id"]
    return (await client.get(f"/v1/cases/{case_id}")).json()


async def matches(client, case_id: str) -> list[dict]:
    return (await client.get(f"/v1/cases/{case_id}")).json()["possible_matches"]


async def test_an_unidentified_child_is_shown_beside_a_case_nearby_and_an_officer_dismisses_or_confirms(stack):
    async with stack.client("operator") as operator, stack.client("officer") as officer:
        known = await open_case(operator, {"id_number": id_number(881, "20180406"), "name": "欧阳明哲"})
        elsewhere = await open_case(
            operator, {"id_number": id_number(882, "20180406"), "name": "欧阳明哲"}, {"town": "370784107", "village": "370784107201"}
        )
        unknown = await open_case(operator, {"name": "明哲", "sex": "male", "approximate_age": 7, "description": "蓝外套，村口哭"})
        assert unknown["identity_verified"] is False

        async def listed():
            return (await matches(officer, unknown["case_id"])) and (await matches(officer, known["case_id"]))

        await eventually(listed)
        (on_unknown,) = await matches(officer, unknown["case_id"])
        assert on_unknown["case_id"] == known["case_id"] and on_unknown["name"] == "欧阳明哲"  # not the namesake in another town
        assert [r["code"] for r in on_unknown["reasons"]] == ["match.same_village", "match.name", "match.age", "match.sex"]
        (on_known,) = await matches(officer, known["case_id"])
        assert on_known["case_id"] == unknown["case_id"] and on_known["status"] == "open"
        assert await matches(officer, elsewhere["case_id"]) == []

        dismissed = await officer.post(f"/v1/cases/{unknown['case_id']}/matches/{known['case_id']}/dismiss", json={})
        assert dismissed.status_code == 202, dismissed.text
        assert (await processed(officer, dismissed.json()["command_id"]))["state"] == "processed"

        async def dismissed_on_both():
            both = [(await matches(officer, unknown["case_id"]))[0], (await matches(officer, known["case_id"]))[0]]
            return all(m["status"] == "dismissed" for m in both) and both

        for match in await eventually(dismissed_on_both):
            assert match["decided_by"]  # the officer, by name
        timeline = (await officer.get(f"/v1/cases/{unknown['case_id']}/timeline")).json()["timeline"]
        assert [e["actor_name"] for e in timeline if e["type"] == "match_dismissed"] == [match["decided_by"]]
        again = await officer.post(f"/v1/cases/{unknown['case_id']}/matches/{known['case_id']}/dismiss", json={})
        assert again.status_code == 409 and "可能是同一人" in again.json()["detail"]

        girl = await open_case(operator, {"id_number": id_number(882, "20161120"), "name": "上官若兰"}, OTHER_VILLAGE_SAME_TOWN)
        found = await open_case(operator, {"name": "上官若兰", "sex": "female", "approximate_age": 10, "description": "红书包"})
        await eventually(lambda: matches(officer, found["case_id"]))
        (match,) = await matches(officer, found["case_id"])
        assert match["case_id"] == girl["case_id"] and match["reasons"][0]["code"] == "match.same_town"
        confirmed = await officer.post(f"/v1/cases/{found['case_id']}/matches/{girl['case_id']}/confirm", json={})
        assert confirmed.status_code == 202, confirmed.text

        async def merged():
            doc = (await officer.get(f"/v1/cases/{found['case_id']}")).json()
            return doc.get("merged_into") and doc

        assert (await eventually(merged))["merged_into"] == girl["case_id"]  # the older case survives, in her household
        survivor = (await officer.get(f"/v1/cases/{girl['case_id']}")).json()
        assert survivor["household_id"] == girl["household_id"] and survivor["status"] != "closed"
