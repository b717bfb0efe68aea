"""Finding a household from the board's search and reading its page, and the closed cases with reopen, in Chromium."""

import pytest

from tests.factories import call_body, id_number
from tests.integration.browser import needs_chromium, open_page, raw_keys
from tests.integration.helpers import processed

pytestmark = [pytest.mark.integration, needs_chromium]
CASH = {"aid_type": "cash", "amount_yuan": 600}


async def open_and_close(stack, name: str, number: str) -> dict:
    """A call about the named person, and its case delivered and closed by the city officer."""
    async with stack.client("operator") as operator, stack.client("officer") as officer:
        body = call_body(subject={"id_number": number, "name": name}, category="child_unattended")
        posted = await operator.post("/v1/hotline/calls", json=body)
        case = (await operator.get(f"/v1/cases/{(await processed(operator, posted.json()['event_id']))['case_id']}")).json()
        for action, body in (("deliver", CASH), ("close", {"outcome": CASH})):
            sent = await officer.post(f"/v1/cases/{case['case_id']}/{action}", json=body)
            assert (await processed(officer, sent.json()["command_id"]))["state"] == "processed"
    return case


async def test_an_officer_searches_a_name_on_the_board_and_opens_the_household(stack):
    number = id_number(11, born="20160914")
    case = await open_and_close(stack, "公孙月", number)
    household = case["household_id"]
    async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}") as page:
        await page.wait_for_selector("#live-state.live")
        await page.fill("#search-input", "公孙")
        await page.press("#search-input", "Enter")
        result = page.locator(f'#search-results li[data-household-id="{household}"]')
        await result.wait_for(timeout=5000)
        text = await result.inner_text()
        assert "公孙月" in text and "3707**********" + number[-4:] in text and number not in text
        assert "姓名开头" in text and "已办结" in text
        assert await raw_keys(page) == []
        await page.screenshot(path="/tmp/board-search.png")
        await result.locator("a").click()
        await page.wait_for_url(f"**/household?id={household}")
        await page.wait_for_selector("#members tbody tr")
        assert await page.inner_text("#heading") == "公孙月的家庭"  # by the people in it, not by its key
        body = await page.inner_text("body")
        assert "公孙月" in body and number not in body and "3707**********" + number[-4:] in body
        assert "以往救助 1 次" in body and "现金救助 1 次" in body and "热线来电 1 条" in body
        assert await page.locator("#chart circle.signal.hotline").count() == 1
        assert await page.locator("#chart rect.case").count() == 1
        assert await page.locator(f'#cases tr[data-case-id="{case["case_id"]}"]').inner_text() != ""
        assert await raw_keys(page) == []
        await page.screenshot(path="/tmp/household.png", full_page=True)
        await page.click("#language")
        await page.wait_for_function("document.querySelector('h1').textContent === 'Household record'")
        assert "Members" in await page.inner_text("body") and await page.inner_text("#heading") == "Household of 公孙月"
        assert await raw_keys(page) == []


async def test_closed_cases_are_listed_on_the_board_and_an_officer_reopens_one(stack):
    case = await open_and_close(stack, "令狐冲", id_number(12, born="20160914"))
    async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}") as page:
        await page.wait_for_selector("#live-state.live")
        await page.click("#tab-closed")
        item = page.locator(f'#closed-list li[data-case-id="{case["case_id"]}"]')
        await item.wait_for(timeout=5000)
        assert await page.locator("#board").is_hidden()
        assert "令狐冲" in await item.inner_text()
        assert await raw_keys(page) == []
        await item.locator("button", has_text="重新打开").click()
        await item.locator('input[name="reason"]').fill("家属再次来电")
        await item.locator('button[type="submit"]').click()
        await item.wait_for(state="detached", timeout=10000)
        await page.click("#tab-open")
        await page.locator(f'#board [data-case-id="{case["case_id"]}"]').wait_for(timeout=5000)
