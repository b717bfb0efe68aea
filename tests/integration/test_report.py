"""The monthly report on the real stack: its figures match counts made here, independently, from aid.case-events; the CSV
opens with its BOM; a rebuild of the read model from the log gives the same figures."""

import asyncio
import csv
import io
import math
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
import pytest
from redis.asyncio import Redis

from schemas import readmodel, topics
from streams.config import WorkerSettings
from streams.plumbing.log import read_log
from streams.plumbing.rebuild import rebuild_read_model
from tests.factories import admission_body, call_body, change_body, id_number
from tests.integration.browser import needs_chromium, open_page, raw_keys
from tests.integration.helpers import eventually, processed
from tests.integration.test_workflow import CASH, command

pytestmark = pytest.mark.integration
TOWN, OTHER_TOWN = "370784101", "370784107"
OTHER_AREA = {"town": OTHER_TOWN, "village": "370784107201"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def this_month() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m")


def month(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m")


def minutes(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 60


async def logged_events(kafka: str) -> list[dict]:
    """Every case event on the log now, decoded."""
    return [orjson.loads(record.value) async for batch in read_log(kafka, [topics.CASE_EVENTS]) for record in batch]


def count(events: list[dict], period: str, town: str | None) -> dict:
    """The figures the test checks, counted plainly from the log's events: the period's, in the town (None: all)."""

    latest = {}  # household id → its latest view on the log: where a household event naming no place counts
    for event in events:
        view = event.get("household")
        if view and view["version"] >= latest.get(view["household_id"], {"version": -1})["version"]:
            latest[view["household_id"]] = view

    def town_of(event):
        if event.get("case"):
            return event["case"]["area"]["town"]
        area = event.get("area") or (event.get("household") or latest.get(event["household_id"]) or {}).get("area")
        return (area or {}).get("town")

    here = [e for e in events if town is None or town_of(e) == town]
    happened = [e for e in here if month(e["at"]) == period]
    opened = {e["case_id"]: e["case"] for e in here if e["type"] == "opened" and month(e["case"]["opened_at"]) == period}
    by_source = {"hotline": 0, "hospital": 0, "department": 0, "visit": 0}
    for e in happened:
        if e["type"] in ("opened", "signal_attached", "signal_recorded"):
            by_source[e["data"]["source"]] += 1
    by_priority = {"P1": 0, "P2": 0, "P3": 0}
    for case in opened.values():
        by_priority[case["priority"]] += 1
    breaches = [e for e in happened if e["type"] in ("status_changed", "visit_status_changed") and e["data"]["to"] == "red"]
    escalated = {"town": 0, "city": 0, "leadership": 0}
    for e in happened:
        if e["type"] in ("escalated", "visit_escalated"):
            escalated[e["data"]["to"]] += 1
    first_response, first_aid = {}, {}
    for e in here:  # the log keeps each case's events in order
        if e.get("case_id") in opened and e["type"] in ("acknowledged", "assigned", "aid_delivered"):
            first_response.setdefault(e["case_id"], minutes(opened[e["case_id"]]["opened_at"], e["at"]))
        if e.get("case_id") in opened and e["type"] == "aid_delivered":
            first_aid.setdefault(e["case_id"], e)
    emergency = [case_id for case_id, case in opened.items() if case["track"] == "emergency"]
    in_time = [c for c in emergency if c in first_aid and first_aid[c]["at"] <= opened[c]["deadlines"]["aid"]["due_at"]]
    acks = sorted(first_response.values())
    answers = [e for e in happened if e["type"] in ("referral_accepted", "referral_declined")]
    accepted_in = {e["data"]["referral_id"]: month(e["at"]) for e in here if e["type"] == "referral_accepted"}
    delivered = [e for e in here if e["type"] == "referral_delivered" and accepted_in.get(e["data"]["referral_id"]) == period]
    visits = {"follow_up": [0, 0], "callback": [0, 0], "watch": [0, 0]}
    for e in here:
        if e["type"] == "visit_recorded" and month(e["data"]["done_at"]) == period:
            visits[e["data"]["kind"]][0] += 1
            visits[e["data"]["kind"]][1] += bool(e["data"]["on_time"])
    ratings = {"satisfied": 0, "basically_satisfied": 0, "dissatisfied": 0}
    for e in happened:
        if e["type"] == "satisfaction_recorded":
            ratings[e["data"]["rating"]] += 1
            visits["callback"][0] += 1
            visits["callback"][1] += bool(e["data"]["on_time"])
    return {
        "events_by_source": by_source,
        "cases_opened": sum(by_priority.values()),
        "by_priority": by_priority,
        "emergency": (len(emergency), len(in_time)),
        "acknowledged": len(acks),
        "ack_p90": round(acks[math.ceil(0.9 * len(acks)) - 1], 1) if acks else None,
        "breaches": len(breaches),
        "escalations": escalated,
        "closed": sum(1 for e in happened if e["type"] == "closed"),
        "referrals": (
            len(answers),
            sum(1 for e in answers if e["type"] == "referral_accepted" and e["data"]["on_time"]),
            sum(1 for e in delivered if e["data"]["on_time"]),
        ),
        "visits": {kind: tuple(done) for kind, done in visits.items()},
        "ratings": ratings,
    }


def shown(figures: dict) -> dict:
    """The same figures as the report answers them."""
    return {
        "events_by_source": figures["events_by_source"],
        "cases_opened": figures["cases_opened"]["total"],
        "by_priority": figures["cases_opened"]["by_priority"],
        "emergency": (figures["emergency_aid"]["cases"], figures["emergency_aid"]["aided_on_time"]),
        "acknowledged": figures["time_to_acknowledge"]["count"],
        "ack_p90": figures["time_to_acknowledge"]["p90"],
        "breaches": figures["breaches"]["total"],
        "escalations": figures["escalations"]["by_tier"],
        "closed": figures["cases_closed"],
        "referrals": tuple(figures["referrals"][name] for name in ("answered", "accepted_on_time", "delivered_on_time")),
        "visits": {kind: (done["done"], done["on_time"]) for kind, done in figures["visits"].items()},
        "ratings": figures["satisfaction"]["by_rating"],
    }


async def drive(stack) -> list[str]:
    """Calls in two towns, a hospital admission on one case, a department record, and officers acting on some cases."""
    async with stack.client("operator") as operator, stack.client("hospital") as hospital:
        bodies = [
            call_body(subject={"id_number": id_number(941), "name": "赵一"}),
            call_body(subject={"id_number": id_number(942), "name": "钱二"}, category="no_food_or_shelter"),
            call_body(subject={"id_number": id_number(943), "name": "孙三"}, area=OTHER_AREA),
            call_body(subject={"id_number": id_number(944), "name": "李四"}, area=OTHER_AREA, category="loss_of_income", flags={}),
        ]
        sent = [(await operator.post("/v1/hotline/calls", json=body)).json()["event_id"] for body in bodies]
        cases = [(await processed(operator, event_id))["case_id"] for event_id in sent]
        admitted = (await hospital.post("/v1/hospital/admissions", json=admission_body(subject=bodies[0]["subject"]))).json()
        await processed(hospital, admitted["event_id"])
    async with stack.client("department:civil-affairs") as department:
        change = change_body("lowincome.enrolled", "civil-affairs", subject={"id_number": id_number(945), "name": "周五"})
        recorded = (await department.post("/v1/departments/civil-affairs/changes", json=change)).json()
        await processed(department, recorded["event_id"])
    async with stack.client("officer") as officer:
        for action, body in (("acknowledge", {}), ("deliver", CASH), ("close", {"outcome": CASH})):
            assert (await command(officer, cases[0], action, body))["state"] == "processed"
        assert (await command(officer, cases[2], "assign", {"assignee": "孙村委"}))["state"] == "processed"

        async def climbed():  # cases[1] waits: it goes yellow, then red, and climbs the ladder to the city
            return (await officer.get(f"/v1/cases/{cases[1]}")).json()["tier"] in ("city", "leadership")

        await eventually(climbed, timeout_s=30)
    return cases


async def test_the_report_matches_counts_made_from_the_log_and_a_rebuild_gives_the_same_figures(stack):
    await drive(stack)
    period = this_month()
    async with stack.client("officer") as city:
        # Time keeps acting on the open cases (colours, rungs): compare once the log and the report agree, or show how not.
        for _ in range(120):
            events = await logged_events(stack.kafka)
            county = (await city.get("/v1/reports", params={"period": period})).json()
            town = (await city.get("/v1/reports", params={"period": period, "town": TOWN})).json()
            counted = count(events, period, None), count(events, period, TOWN), count(events, period, OTHER_TOWN)
            other = next(t for t in county["towns"] if t["code"] == OTHER_TOWN)
            answered = shown(county["figures"]), shown(town["figures"]), shown(other["figures"])
            if counted == answered:
                break
            await asyncio.sleep(0.5)
        assert answered == counted
        assert counted[0]["breaches"] >= 1 and counted[0]["escalations"]["city"] >= 1 and counted[1]["closed"] >= 1
        assert counted[1]["events_by_source"]["hospital"] >= 1 and counted[0]["events_by_source"]["department"] >= 1
        assert county["area"] == {"level": "county", "code": "370784", "name": "安丘市"} and town["area"]["name"] == "景芝镇"
        assert county["period"] == period and county["months"] == [period]

        csv_answer = await city.get("/v1/reports", params={"period": period, "format": "csv"})
        assert csv_answer.headers["content-type"].startswith("text/csv") and csv_answer.content.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig"))))
        assert table[0][:3] == ["指标", "代码", "安丘市"] and "景芝镇" in table[0]
        by_code = {row[1]: row for row in table[1:]}
        assert by_code["events_total"][0] == "受理事件合计" and by_code["events_total"][2] == str(county["figures"]["events_total"])
        assert by_code["cases_opened.total"][2] == str(counted[0]["cases_opened"])
        assert by_code["cases_opened.total"][table[0].index("景芝镇")] == str(counted[1]["cases_opened"])

        # Rebuild the read model from the log into another database: the same facts. Time keeps acting on the stack's
        # open cases and visits meanwhile, so the rebuild holds every fact live held before it, and live after it holds
        # every fact the rebuild made, each the same.
        live = Redis.from_url(stack.redis)
        rebuilt = Redis.from_url(stack.redis.rsplit("/", 1)[0] + "/1")
        try:
            key = readmodel.report_key(period)
            before = await live.hgetall(key)
            await rebuild_read_model(WorkerSettings(kafka=stack.kafka, redis=stack.redis), stack.redis.rsplit("/", 1)[0] + "/1")
            rebuilt_facts, after = await rebuilt.hgetall(key), await live.hgetall(key)
            assert before.items() <= rebuilt_facts.items() <= after.items() and len(before) >= 10
        finally:
            await rebuilt.flushdb()
            await live.aclose()
            await rebuilt.aclose()


async def test_officers_see_their_own_towns_report_and_a_bad_period_is_named(stack):
    async with stack.client("officer:town:370784101") as town, stack.client("officer:village:370784107201") as village:
        own = await town.get("/v1/reports", params={"period": "2026-Q4"})
        assert own.status_code == 200 and own.json()["area"]["code"] == TOWN and "towns" not in own.json()
        assert own.json()["months"] == ["2026-10", "2026-11", "2026-12"]
        other = await town.get("/v1/reports", params={"town": OTHER_TOWN})
        assert other.status_code == 403
        assert other.json()["detail"] == f"角色 officer:town:{TOWN} 只能查看本乡镇的统计报表，不能查看乡镇 {OTHER_TOWN}"
        assert (await village.get("/v1/reports")).status_code == 403
    async with stack.client("admin") as admin, stack.client("operator") as operator:
        for bad in ("2026-13", "2026-Q5", "Nov-26"):
            refused = await admin.get("/v1/reports", params={"period": bad})
            assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "period"]
            assert refused.json()["detail"][0]["msg"] == "统计期（period）：须为月份（如 2026-11）或季度（如 2026-Q4）"
        unknown = await admin.get("/v1/reports", params={"town": "370784999"})
        assert unknown.status_code == 422 and "370784999" in unknown.json()["detail"]
        assert (await operator.get("/v1/reports")).status_code == 403


@needs_chromium
async def test_the_reports_page_shows_the_figures_and_charts_in_chinese_and_downloads_the_csv(stack):
    async with stack.client("operator") as operator, stack.client("officer") as officer:
        body = call_body(subject={"id_number": id_number(946), "name": "吴六"}, category="child_unattended")
        case_id = (await processed(operator, (await operator.post("/v1/hotline/calls", json=body)).json()["event_id"]))["case_id"]
        for action, sent in (("deliver", CASH), ("close", {"outcome": CASH})):
            assert (await command(officer, case_id, action, sent))["state"] == "processed"
        period = this_month()
        expected = (await officer.get("/v1/reports", params={"period": period})).json()["figures"]
    async with open_page(f"{stack.api_url}/reports?token={stack.tokens['officer']}") as page:
        await page.wait_for_selector("#report:not([hidden]) #figures tbody tr")
        heading = await page.inner_text("#heading")
        assert heading.startswith("安丘市 · ") and "年" in heading and "月" in heading
        total = page.locator('#figures tr[data-figure="events_total"] td')
        assert await total.nth(0).inner_text() == "受理事件合计"
        assert int(await total.nth(1).inner_text()) >= expected["events_total"]
        assert await page.inner_text("#cases-total") != "" and "%" in await page.inner_text("#share-2h")
        text = await page.inner_text("body")
        for words in ("急难案件 2 小时内救助到位率", "满意率", "事件来源", "立案优先级", "热线来电", "P1 危急", "市级", "景芝镇"):
            assert words in text, words
        assert await page.locator("#chart-sources rect.bar").count() == 4
        assert await page.locator("#chart-priority rect.bar").count() == 3
        assert await page.locator("#chart-tiers rect.bar").count() == 8
        assert await raw_keys(page) == []
        await page.screenshot(path="/tmp/reports.png")
        async with page.expect_download() as downloading:
            await page.click("#download")
        saved = await (await downloading.value).path()
        with open(saved, "rb") as file:
            assert file.read(3) == b"\xef\xbb\xbf"
        await page.select_option("#town", TOWN)
        await page.wait_for_function("document.querySelector('#heading').textContent.startsWith('景芝镇')")
        assert await page.locator("#figures thead th").count() == 2
        await page.click("#language")
        await page.wait_for_function("document.querySelector('h1').textContent === 'Monthly and quarterly report'")
        assert "Events by source" in await page.inner_text("body") and await raw_keys(page) == []
    town_token = stack.tokens[f"officer:town:{TOWN}"]
    async with open_page(f"{stack.api_url}/reports?token={town_token}") as page:
        await page.wait_for_selector("#report:not([hidden]) #figures tbody tr")
        assert (await page.inner_text("#heading")).startswith("景芝镇 · ")
        assert await page.locator("#town option").all_inner_texts() == ["景芝镇"]
