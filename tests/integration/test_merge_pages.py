"""In headless Chromium: a call about a child with no ID number recorded at the intake page, the case shown 身份待核实
on the board, and an officer identifying the child from the card."""

import pytest

from tests.factories import id_number
from tests.integration.browser import needs_chromium, open_page, raw_keys
from tests.integration.helpers import eventually

pytestmark = [pytest.mark.integration, needs_chromium]


async def test_an_operator_records_a_child_with_no_id_number_and_an_officer_identifies_them(stack):
    child = id_number(871, "20180303")
    async with open_page(f"{stack.api_url}/intake?token={stack.tokens['operator']}") as page:
        await page.wait_for_selector("body:not(.loading)")
        await page.fill('[name="caller_phone"]', "13700008710")
        await page.check('[name="id_unknown"]')
        assert (
            await page.is_hidden('[name="subject.id_number"]')
            and await page.inner_text('[id="label-subject.name"]') == "当事人姓名（可不填）"
        )
        await page.fill('[name="area.town"]', "370784101")
        await page.fill('[name="area.village"]', "370784101201")
        await page.select_option('[name="category"]', "child_unattended")
        assert "性别" in await page.inner_text("#form-hint") and await page.is_disabled("#submit-call")
        await page.select_option('[name="subject.sex"]', "male")
        assert await page.inner_text('[name="subject.sex"] option:checked') == "男"
        await page.fill('[name="subject.approximate_age"]', "6")
        await page.fill('[name="subject.description"]', "蓝色外套，独自在村口")
        await page.click("#submit-call")
        await page.locator('#result [data-field="case_id"]').wait_for(timeout=10000)
        await page.wait_for_function("document.querySelector('#result .summary').textContent.includes('身份待核实')", timeout=5000)
        case_id = await page.inner_text('#result [data-field="case_id"]')
        assert await raw_keys(page) == []

    async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}#{case_id}") as board:
        card = board.locator(f'[data-case-id="{case_id}"]')
        await card.wait_for(timeout=5000)
        # Read as text, not as rendered: a card off screen is not laid out (content-visibility) until scrolled to.
        badge = card.locator(".unverified")
        assert await badge.get_attribute("hidden") is None and await badge.text_content() == "身份待核实"
        assert "男，约 6 岁" in await card.locator(".id-masked").text_content()
        await card.locator('button[data-action="identify"]').click()
        form = card.locator("form")
        await form.locator('[name="id_number"]').fill(child)
        await form.locator('[name="name"]').fill("刘小虎")
        await form.locator('[type="submit"]').click()
        await card.locator(".unverified").wait_for(state="hidden", timeout=10000)
        assert await card.locator(".id-masked").text_content() == child[:4] + "*" * 10 + child[-4:]
        assert await card.locator(".name").text_content() == "刘小虎"

        async def moved():
            await card.locator(".timeline summary").click() if not await card.locator(".timeline").get_attribute("open") else None
            return await card.locator('.timeline li[data-type="taken_over"]').count()

        await eventually(moved, timeout_s=10)
        texts = await card.locator(".timeline li").all_inner_texts()
        assert any("移交他户" in text and "身份已核实" in text and "王" not in text for text in texts), texts
        assert any("转入本户" in text for text in texts)
        assert await raw_keys(board) == []
