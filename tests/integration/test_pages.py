"""The operator's intake page and the officer's actions on the board, in headless Chromium."""

import time

import pytest

from tests.factories import id_number
from tests.integration.browser import needs_chromium, open_page
from tests.integration.helpers import processed

pytestmark = [pytest.mark.integration, needs_chromium]
CALL = {"caller_phone": "13700002222", "area": {"town": "370784101", "village": "370784101201"}, "category": "medical_emergency"}


async def fill_call(page, id_no: str, town: str = "370784101", village: str = "370784101203") -> None:
    await page.fill('[name="caller_phone"]', "13700001111")
    await page.fill('[name="subject.name"]', "黄小红")
    await page.fill('[name="subject.id_number"]', id_no)
    await page.fill('[name="area.town"]', town)
    await page.fill('[name="area.village"]', village)
    await page.select_option('[name="category"]', "child_unattended")
    await page.fill('[name="flags.children"]', "2")


async def test_operator_submits_a_call_and_sees_its_case_and_factors(stack):
    async with open_page(f"{stack.api_url}/intake?token={stack.tokens['operator']}") as page:
        await page.fill('[name="subject.id_number"]', id_number(901)[:-1] + ("0" if id_number(901)[-1] != "0" else "1"))
        await page.locator('[name="subject.id_number"]').blur()
        assert "check digit" in (await page.inner_text('[id="error-subject.id_number"]')).lower()
        assert await page.is_disabled("#submit-call")
        await fill_call(page, id_number(901))
        assert await page.inner_text('[id="error-subject.id_number"]') == ""
        await page.click("#submit-call")
        case_id = page.locator('#result [data-field="case_id"]')
        await case_id.wait_for(timeout=10000)
        assert (await case_id.inner_text()).startswith("C")
        assert await page.inner_text('#result [data-field="priority"]') == "P1"
        assert int(await page.inner_text('#result [data-field="urgency"]')) >= 80
        factors = await page.locator("#result ul.factors li").all_inner_texts()
        assert any("hotline:child_unattended" in f for f in factors)


async def test_officer_acknowledges_from_the_board_and_sees_a_refusal(stack):
    async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}") as board:
        await board.wait_for_selector("#live-state.live")
        async with stack.client("operator") as operator:
            body = {**CALL, "subject": {"id_number": id_number(902), "name": "林一"}}
            result = await processed(operator, (await operator.post("/v1/hotline/calls", json=body)).json()["event_id"])
        card = board.locator(f'[data-case-id="{result["case_id"]}"]')
        await card.wait_for(timeout=2000)
        clicked = time.perf_counter()
        await card.locator('button[data-action="acknowledge"]').click()
        await card.locator('button[data-action="acknowledge"]').wait_for(state="detached", timeout=3000)
        shown_ms = (time.perf_counter() - clicked) * 1000
        assert "acknowledged" in (await card.inner_text()).lower()
        print(f"\nclick → acknowledged on the board in {shown_ms:.0f} ms")
        async with stack.client("officer") as officer:
            case = (await officer.get(f"/v1/cases/{result['case_id']}")).json()
        assert case["stage"] == "acknowledged" and case["deadlines"]["acknowledge"]["met_at"]
        # Closing before aid is delivered is refused, and the board says why.
        await card.locator('button[data-action="close"]').click()
        form = card.locator("form")
        await form.locator('[name="aid_type"]').select_option("cash")
        await form.locator('[name="amount_yuan"]').fill("500")
        await form.locator('[type="submit"]').click()
        refusal = card.locator(".refusal")
        await refusal.wait_for(timeout=3000)
        assert "record the aid as delivered before closing" in await refusal.inner_text()


async def test_filters_hide_cards_outside_the_choice(stack):
    async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}", 1920, 1080) as board:
        await board.wait_for_selector("#live-state.live")
        async with stack.client("operator") as operator:
            lead = {**CALL, "subject": {"id_number": id_number(903), "name": "林二"}, "category": "loss_of_income"}
            await operator.post("/v1/hotline/calls", json=lead)
        await board.locator(f'[data-case-id]:has-text("{id_number(903)[-4:]}")').wait_for(timeout=3000)
        await board.select_option("#filter-priority", "P3")
        visible = await board.locator("[data-case-id]:visible").all()
        assert visible
        for card in visible:
            assert "P3" in await card.locator(".priority").inner_text()
