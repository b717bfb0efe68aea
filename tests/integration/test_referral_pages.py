"""Referrals in a real headless Chromium against the real stack: an officer refers a case to a charity on the board, the
charity declines on /partner, the officer re-refers to another partner, which accepts and reports; the card shows it all.
The case is then closed, and the call-back hears the person dissatisfied: the case is back on the board for the town."""

import pytest
from playwright.async_api import expect

from tests.factories import call_body, id_number
from tests.integration.browser import needs_chromium, open_page, raw_keys
from tests.integration.helpers import processed
from tests.integration.test_visit_pages import TOWN_OFFICER, call_back_on_the_page
from tests.integration.test_workflow import CASH, command

pytestmark = [pytest.mark.integration, needs_chromium]


async def refer_on_the_card(card, partner: str, request: str) -> None:
    await card.locator('.actions button[data-action="refer"]').click()
    await card.locator('select[name="partner"]').select_option(partner)
    await card.locator('input[name="request"]').fill(request)
    await card.locator('.action-form button[type="submit"]').click()


async def answer_on_the_partner_page(stack, role: str, case_id: str, actions: list[tuple[str, str | None, str]], shot: str) -> None:
    """Open /partner as the partner and answer the case's referral: each action with its text (None: a click) and the status
    it leads to."""
    async with open_page(f"{stack.api_url}/partner?token={stack.tokens[role]}") as page:
        mine = f'.referral[data-referral-id$="-{case_id}"]'
        await page.locator(f'{mine}[data-status="pending"]').wait_for(timeout=10_000)
        text = await page.locator(mine).inner_text()
        assert "孔繁华" in text and "*" in text and id_number(703) not in text and "13900000001" not in text
        assert await raw_keys(page) == []
        await page.click('[data-tab="all"]')  # an answered referral leaves the to-do list
        for action, words, status in actions:
            await page.locator(f'{mine} .actions button[data-action="{action}"]').click()
            if words:
                await page.locator(f"{mine} textarea").fill(words)
                await page.locator(f'{mine} form button[type="submit"]').click()
            await page.locator(f'{mine}[data-status="{status}"]').wait_for(timeout=10_000)
        await page.screenshot(path=shot)
        await page.click("#language")
        await page.wait_for_function("document.querySelector('h1').textContent === 'Referrals'")
        assert await raw_keys(page) == []


async def test_refer_decline_re_refer_accept_report_close_and_a_dissatisfied_call_back_reopens_for_the_town(stack):
    async with stack.client("operator") as operator:
        body = call_body(subject={"id_number": id_number(703), "name": "孔繁华"}, caller_phone="13900000001", description="独居老人断粮")
        response = await operator.post("/v1/hotline/calls", json=body)
        case_id = (await processed(operator, response.json()["event_id"]))["case_id"]
    async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}") as board:
        await board.wait_for_selector("#live-state.live")
        card = board.locator(f'[data-case-id="{case_id}"]')
        await card.wait_for(timeout=5000)
        await card.locator(".summary").click()
        await refer_on_the_card(card, "county-charity", "送米面油和棉被")
        referrals = card.locator(".referrals")
        await referrals.locator("li[data-status='pending']:has-text('县慈善总会')").wait_for(timeout=10_000)

        await answer_on_the_partner_page(
            stack, "partner:county-charity", case_id, [("decline", "本会本月物资已发完", "declined")], "/tmp/partner-declined.png"
        )
        declined = referrals.locator("li[data-status='declined']")
        # Read with retries: each live update of the case draws the card's referral list anew.
        await expect(declined).to_contain_text("已退回", timeout=10_000)
        await expect(declined).to_contain_text("本会本月物资已发完")
        await expect(card.locator(".referral-badge")).to_have_text("转介被退回 · 县慈善总会")
        async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}") as fresh:  # opened after the decline
            badge = fresh.locator(f'[data-case-id="{case_id}"] .referral-badge')
            await expect(badge).to_have_text("转介被退回 · 县慈善总会")  # the partner by name, not by its id

        await refer_on_the_card(card, "red-cross", "送医并垫付")
        await referrals.locator("li[data-status='pending']:has-text('县红十字会')").wait_for(timeout=10_000)
        assert await referrals.locator("li[data-status='pending'] button.revoke").count() == 1  # 撤回, with a reason
        await answer_on_the_partner_page(
            stack,
            "partner:red-cross",
            case_id,
            [("accept", None, "accepted"), ("report", "已送县医院，垫付 800 元", "delivered")],
            "/tmp/partner-delivered.png",
        )
        delivered = referrals.locator("li[data-status='delivered']")
        await expect(delivered).to_contain_text("县红十字会", timeout=10_000)
        await expect(delivered).to_contain_text("已送县医院，垫付 800 元")
        assert await card.locator(".referral-badge").is_hidden()
        await card.locator(".timeline summary").click()
        await card.locator(".timeline li[data-type='referral_delivered']").wait_for(timeout=10_000)
        timeline = await card.locator(".timeline").inner_text()
        assert "转介被退回" in timeline and "本会本月物资已发完" in timeline and "转介已反馈救助" in timeline
        assert await raw_keys(board) == []
        await card.scroll_into_view_if_needed()
        await board.screenshot(path="/tmp/board-referrals.png")

    async with stack.client("officer") as officer:
        assert (await command(officer, case_id, "deliver", CASH))["state"] == "processed"
        assert (await command(officer, case_id, "close", {"outcome": CASH}))["state"] == "processed"
    await call_back_on_the_page(stack, case_id, "dissatisfied", "红十字会来过，可米面一直没送到")
    async with open_page(f"{stack.api_url}/?token={stack.tokens[TOWN_OFFICER]}") as board:
        card = board.locator(f'[data-case-id="{case_id}"]')
        await card.wait_for(timeout=10_000)
        assert await card.get_attribute("data-tier") != "village"  # the town supervises, or higher if it had climbed
        assert await card.locator(".supervised-badge").inner_text() == "督办 · 回访不满意"
        assert (await card.locator(".due").inner_text()).startswith("督办")
        await card.locator(".summary").click()
        await card.locator(".timeline summary").click()
        reopened = card.locator(".timeline li[data-type='reopened']")
        await reopened.wait_for(timeout=10_000)
        assert "红十字会来过，可米面一直没送到" in await card.locator(".timeline").inner_text()
        await board.screenshot(path="/tmp/board-supervised.png")
