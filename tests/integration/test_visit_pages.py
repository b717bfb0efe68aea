"""In headless Chromium, the /visits page: a watched elder's missed weekly visit red on the watch boards of the village
and the town, a village assistant recording the visit there, and a call-back recorded dissatisfied reopening the case."""

import pytest

from tests.factories import change_body, id_number
from tests.integration.browser import needs_chromium, open_page, raw_keys
from tests.integration.helpers import processed
from tests.integration.test_followups import delivered_and_closed

pytestmark = [pytest.mark.integration, needs_chromium]
ELDER = id_number(612, "19460505")  # 80 years old
HOUSEHOLD = "HH-VISIT-612"
VILLAGE_OFFICER = "officer:village:370784101201"  # 王芳, of the factories' village
TOWN_OFFICER = "officer:town:370784101"  # 张伟, of its town
SCREENSHOTS = "/tmp/rapidaid-visits"


async def test_a_missed_weekly_visit_is_red_on_the_village_and_town_watch_boards_and_the_assistant_records_it(stack):
    body = change_body("household.member_added", "public-security", subject={"id_number": ELDER, "name": "孙秀英"}, household_id=HOUSEHOLD)
    async with stack.client("admin") as admin:
        response = await admin.post("/v1/departments/public-security/changes", json=body)
        assert (await processed(admin, response.json()["event_id"]))["state"] == "processed"
    first = f"W1-{HOUSEHOLD}"
    async with open_page(f"{stack.api_url}/visits?tab=watch&token={stack.tokens[TOWN_OFFICER]}") as town:
        red = town.locator(f'li.visit.red[data-visit-id="{first}"]')
        await red.wait_for(timeout=20000)  # the fast policy: a weekly visit is 6 s
        text = await red.inner_text()
        assert "孙秀英" in text and "红灯" in text and "已超时" in text and "独居老人" in text and "景芝" in text, text
        assert ELDER not in text and ELDER[:4] + "*" * 10 + ELDER[-4:] in text
        await town.screenshot(path=f"{SCREENSHOTS}-town.png")
        assert await raw_keys(town) == []

    async with open_page(f"{stack.api_url}/visits?tab=watch&token={stack.tokens[VILLAGE_OFFICER]}") as village:
        row = village.locator(f'li.visit.red[data-visit-id="{first}"]')
        await row.wait_for(timeout=10000)
        await village.screenshot(path=f"{SCREENSHOTS}-village.png")
        await row.locator("button.record").click()
        await village.fill("#found", "老人身体尚好，屋里暖和，有人送饭")
        await village.screenshot(path=f"{SCREENSHOTS}-form.png")
        await village.click("#record-submit")
        await village.locator(f'li.visit[data-visit-id="{first}"]').wait_for(state="detached", timeout=15000)
        await village.locator(f'li.visit[data-visit-id="W2-{HOUSEHOLD}"]').wait_for(timeout=10000)
        assert await raw_keys(village) == []
    async with stack.client("officer") as officer:
        visits = {v["visit_id"]: v for v in (await officer.get(f"/v1/households/{HOUSEHOLD}")).json()["household"]["visits"]}
        assert visits[first]["status"] == "done" and visits[first]["done_by"] == "王芳"


async def call_back_on_the_page(stack, case_id: str, rating: str, words: str) -> None:
    """As the hotline operator on /visits, record the closed case's call-back: the rating and the person's words."""
    async with open_page(f"{stack.api_url}/visits?token={stack.tokens['operator']}") as page:
        row = page.locator(f'li.visit[data-visit-id="B1-{case_id}"]')
        await row.wait_for(timeout=10000)
        assert "好差评回访" in await row.inner_text()
        await row.locator("button.record").click()
        await page.check(f'input[name="rating"][value="{rating}"]')
        await page.fill("#words", words)
        await page.screenshot(path=f"{SCREENSHOTS}-callback.png")
        await page.click("#record-submit")
        await row.wait_for(state="detached", timeout=15000)
        assert await raw_keys(page) == []


async def test_a_call_back_recorded_dissatisfied_on_the_page_reopens_the_case_for_the_town(stack):
    case = await delivered_and_closed(stack, 933)
    async with open_page(f"{stack.api_url}/visits?token={stack.tokens['operator']}") as page:
        follow_up = page.locator(f'li.visit[data-visit-id="F2-{case["case_id"]}"]')
        await follow_up.wait_for(timeout=10000)
        assert await follow_up.locator("button.record").count() == 0  # operators only call back
    await call_back_on_the_page(stack, case["case_id"], "dissatisfied", "救助款过了很久才到")
    async with stack.client(TOWN_OFFICER) as town:
        reopened = (await town.get(f"/v1/cases/{case['case_id']}")).json()
    assert reopened["stage"] == "opened" and reopened["supervised"] is True and reopened["due_deadline"] == "supervision"
    (why,) = [e["data"] for e in reopened["timeline"] if e["type"] == "reopened"]
    assert why == {"reason": "dissatisfied", "text": "救助款过了很久才到", "supervised": True}


async def test_the_board_links_to_the_visits_page_from_its_header(stack):
    async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}") as board:
        await board.wait_for_selector("body:not(.loading)")
        link = board.locator('header a[href="/visits"]')
        assert await link.inner_text() == "回访与探访" and await link.is_visible()
        await board.screenshot(path=f"{SCREENSHOTS}-board.png")
        await link.click()
        await board.wait_for_selector("body:not(.loading)")
        assert board.url.endswith("/visits") and await board.locator("h1").inner_text() == "回访与探访"
        await board.click("#language")
        await board.wait_for_function("document.querySelector('h1').textContent === 'Follow-ups and watch visits'")
        await board.screenshot(path=f"{SCREENSHOTS}-english.png")
        assert await raw_keys(board) == []
        await board.click("#language")  # back to Chinese, which the browser remembers for the other tests
        await board.wait_for_function("document.querySelector('h1').textContent === '回访与探访'")
