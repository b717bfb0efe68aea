"""Finding anyone, a household's page and the closed cases, on the real stack: scoped by area, ID numbers never in clear."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
from redis.asyncio import Redis

from schemas import readmodel
from schemas.ids import age_on
from streams.rules.search import name_tokens
from tests.factories import AREA, call_body, change_body, id_number
from tests.integration.helpers import processed

pytestmark = pytest.mark.integration
OTHER_VILLAGE = {"town": "370784107", "village": "370784107201"}  # another town's village: its officer has a token
CASH = {"aid_type": "cash", "amount_yuan": 800}


async def call(stack, name: str, number: str, phone: str, area: dict = AREA, category: str = "child_unattended") -> dict:
    """Post a call about the named person; the case it opened (or None) and its household id."""
    async with stack.client("operator") as operator:
        body = call_body(subject={"id_number": number, "name": name}, caller_phone=phone, area=dict(area), category=category)
        response = await operator.post("/v1/hotline/calls", json=body)
        result = await processed(operator, response.json()["event_id"])
        case = (await operator.get(f"/v1/cases/{result['case_id']}")).json()
    return case


async def search(stack, role: str, query: str) -> list[dict]:
    async with stack.client(role) as client:
        response = await client.get("/v1/search", params={"q": query})
        assert response.status_code == 200, response.text
        return response.json()["items"]


async def command(client, case_id: str, action: str, body: dict) -> None:
    response = await client.post(f"/v1/cases/{case_id}/{action}", json=body)
    assert response.status_code == 202, response.text
    assert (await processed(client, response.json()["command_id"]))["state"] == "processed"


async def test_anyone_is_found_by_name_part_initials_id_number_phone_and_case_id(stack):
    number = id_number(1, born="20160914")
    case = await call(stack, "欧阳小雨", number, "13912340914")
    household = case["household_id"]
    for query, match in (
        ("欧阳小雨", "name"),
        ("欧阳", "name_prefix"),
        ("阳小雨", "name_part"),
        ("oyxy", "initials"),
        (number, "id_number"),
        (number.lower(), "id_number"),
        ("139 1234 0914", "phone"),
        ("+8613912340914", "phone"),
        (case["case_id"].lower(), "case_id"),
    ):
        items = await search(stack, "officer", query)
        hit = next(item for item in items if item["household_id"] == household)
        assert hit["match"] == match, query
        assert hit["cases"][0]["case_id"] == case["case_id"] and hit["cases_total"] == 1
        if match not in ("phone", "case_id"):
            assert hit["matched_members"] == ["欧阳小雨"], query
        assert hit["members"][0]["id_masked"] == "3707**********" + number[-4:]
    async with stack.client("officer") as officer:
        text = (await officer.get("/v1/search", params={"q": number})).text
        assert number not in text and "person_key" not in text and "caller_keys" not in text
        wrong = number[:-1] + ("1" if number[-1] != "1" else "2")
        refused = (await officer.get("/v1/search", params={"q": wrong})).json()
        assert refused["items"] == [] and refused["notice"] == "这个身份证号校验不通过，请核对号码"
        assert (await officer.get("/v1/search")).status_code == 422
    async with stack.client("operator") as operator:
        assert (await operator.get("/v1/search", params={"q": "欧阳小雨"})).status_code == 403


async def test_best_matches_come_first(stack):
    whole = await call(stack, "司马光", id_number(2, born="20160914"), "13912342914")
    longer = await call(stack, "司马光明", id_number(3, born="20160914"), "13912343914")
    order = [item["household_id"] for item in await search(stack, "officer", "司马光")]
    assert order.index(whole["household_id"]) < order.index(longer["household_id"])
    items = await search(stack, "officer", "司马光明")
    assert items[0]["household_id"] == longer["household_id"] and items[0]["match"] == "name"


async def test_an_officer_finds_only_the_households_of_the_area(stack):
    here = await call(stack, "诸葛青", id_number(4, born="20160914"), "13912344914")
    there = await call(stack, "诸葛蓝", id_number(5, born="20160914"), "13912345914", area=OTHER_VILLAGE)
    village_officer, town_officer = "officer:village:370784107201", "officer:town:370784101"
    found = {item["household_id"] for item in await search(stack, village_officer, "诸葛")}
    assert there["household_id"] in found and here["household_id"] not in found
    assert await search(stack, village_officer, here["case_id"]) == []
    assert await search(stack, village_officer, id_number(4, born="20160914")) == []
    found = {item["household_id"] for item in await search(stack, town_officer, "zgq")} | {
        item["household_id"] for item in await search(stack, town_officer, "诸葛")
    }
    assert here["household_id"] in found and there["household_id"] not in found


async def test_a_household_page_is_masked_scoped_and_its_reads_logged(stack):
    number = id_number(6, born="20160914")
    case = await call(stack, "上官燕", number, "13912346914")
    household = case["household_id"]
    async with stack.client("officer") as officer:
        await command(officer, case["case_id"], "deliver", CASH)
        await command(officer, case["case_id"], "close", {"outcome": CASH})
        async with stack.client("department:civil-affairs") as civil_affairs:
            subject = {"id_number": number, "name": "上官燕"}
            body = change_body("lowincome.enrolled", "civil-affairs", subject=subject, programme="lowincome")
            enrolled = await civil_affairs.post("/v1/departments/civil-affairs/changes", json=body)
            await processed(civil_affairs, enrolled.json()["event_id"])
        response = await officer.get(f"/v1/households/{household}")
        assert response.status_code == 200
        page = response.json()
    assert number not in response.text and "person_key" not in response.text and "caller_keys" not in response.text
    view = page["household"]
    age = age_on(number, datetime.now(UTC).date())
    assert [(m["name"], m["id_masked"], m["age"]) for m in view["members"]] == [("上官燕", "3707**********" + number[-4:], age)]
    # One version a signal, and one more for each change of its visits (the follow-ups and the call-back scheduled, their lights).
    assert view["signals_by_source"] == {"hotline": 1, "department": 1} and view["signals_total"] == 2 and view["version"] >= 4
    assert view["programme"] == "lowincome"
    assert view["reported"]["children"] == 2 and view["dependants"] == 2
    assert [c["case_id"] for c in page["cases"]] == [case["case_id"]] and page["cases"][0]["status"] == "closed"
    assert page["aid_history"] == {"times": 1, "by_type": {"cash": 1}, "cash_yuan": 800.0}
    types = [entry["type"] for entry in page["timeline"]]
    # The fast policy's visits due change colour meanwhile: the household's own steps, among its signals and cases.
    steps = [entry for entry in page["timeline"] if not entry["type"].startswith("visit")]
    assert types[0] == "opened" and "aid_delivered" in types and "closed" in types and steps[-1]["type"] == "signal_recorded"
    assert steps[-1]["data"]["kind"] == "lowincome.enrolled" and page["timeline_total"] == len(types)
    async with stack.client("officer:village:370784107201") as outsider, stack.client("operator") as operator:
        outside = await outsider.get(f"/v1/households/{household}")
        assert outside.status_code == 403 and outside.json()["detail"] == f"家庭 {household} 不在 officer:village:370784107201 的辖区内"
        assert (await outsider.get("/v1/households/HH-nobody")).status_code == 404
        assert (await operator.get(f"/v1/households/{household}")).status_code == 403
    async with stack.client("officer:town:370784101") as town:
        assert (await town.get(f"/v1/households/{household}")).status_code == 200
    async with stack.client("admin") as admin:
        log = (await admin.get("/v1/access-log", params={"household_id": household})).json()["items"]
    readers = [(entry["role"], entry["read"]) for entry in log]
    assert ("officer:town:370784101", "household") in readers and ("officer:city:*", "household") in readers
    assert ("officer:village:370784107201", "household") in readers  # a refused read is on record too


async def test_closed_cases_are_listed_newest_first_in_the_area_and_can_be_reopened(stack):
    first = await call(stack, "东方白", id_number(7, born="20160914"), "13912347914")
    second = await call(stack, "东方红", id_number(8, born="20160914"), "13912348914")
    async with stack.client("officer:town:370784101") as town:
        for case in (first, second):
            await command(town, case["case_id"], "deliver", CASH)
            await command(town, case["case_id"], "close", {"outcome": CASH})
        closed = (await town.get("/v1/cases", params={"state": "closed", "limit": 500})).json()["items"]
        ids = [doc["case_id"] for doc in closed]
        assert ids.index(second["case_id"]) < ids.index(first["case_id"])
        assert [doc["closed_at"] for doc in closed] == sorted((doc["closed_at"] for doc in closed), reverse=True)
        assert all(doc["area"]["town"] == "370784101" for doc in closed)
        async with stack.client("officer:village:370784107201") as outsider:
            theirs = (await outsider.get("/v1/cases", params={"state": "closed", "limit": 500})).json()["items"]
            assert first["case_id"] not in {doc["case_id"] for doc in theirs}
        await command(town, first["case_id"], "reopen", {"reason": "家属来电：救助金不够"})
        assert (await town.get(f"/v1/cases/{first['case_id']}")).json()["status"] == "green"
        closed = (await town.get("/v1/cases", params={"state": "closed", "limit": 500})).json()["items"]
        assert first["case_id"] not in {doc["case_id"] for doc in closed}


async def test_the_log_rebuilds_households_and_their_index(stack):
    case = await call(stack, "慕容雪", id_number(9, born="20160914"), "13912349914")
    household = case["household_id"]
    live_url = urlparse(stack.redis)
    rebuilt_url = f"redis://{live_url.hostname}:{live_url.port}/2"
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
        assert await rebuilt.hgetall(readmodel.household_key(household)) == await live.hgetall(readmodel.household_key(household))
        # The fast policy's clocks move the case on meanwhile: the live timeline may only have grown since.
        timeline = readmodel.household_timeline_key(household)
        replayed = await rebuilt.zrange(timeline, 0, -1)
        assert replayed and (await live.zrange(timeline, 0, -1))[: len(replayed)] == replayed
        cases = readmodel.household_cases_key(household)
        assert await rebuilt.zrange(cases, 0, -1, withscores=True) == await live.zrange(cases, 0, -1, withscores=True)
        for token in name_tokens("慕容雪"):
            assert await rebuilt.zscore(readmodel.search_key(token), household) == await live.zscore(readmodel.search_key(token), household)
        assert await rebuilt.sismember(readmodel.households_in_key("village", AREA["village"]), household)
    finally:
        await rebuilt.flushdb()
        await live.aclose()
        await rebuilt.aclose()


async def test_a_case_shows_its_households_programme_check_to_officers_of_its_area_only(stack):
    case = await call(stack, "赵多事", id_number(987), "13900009870", category="no_food_or_shelter")
    async with stack.client("officer:town:370784101") as officer:
        response = await officer.get(f"/v1/cases/{case['case_id']}/programmes")
    assert response.status_code == 200, response.text
    advice = {one["programme"]: one for one in response.json()["programmes"]}
    assert list(advice) == ["lowincome", "extreme_poverty", "marginal", "temporary", "serious_illness", "education"]
    assert advice["temporary"]["verdict"] == "likely"  # no food or shelter: a sudden hardship
    assert "income" in advice["lowincome"]["missing"]
    async with stack.client("operator") as operator:
        assert (await operator.get(f"/v1/cases/{case['case_id']}/programmes")).status_code == 403
    async with stack.client("officer:village:370784107201") as elsewhere:
        assert (await elsewhere.get(f"/v1/cases/{case['case_id']}/programmes")).status_code == 403
