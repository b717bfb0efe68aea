"""In headless Chromium: a call about a child with no ID number recorded at the intake page, the case shown 身份待核实
on the board, and an officer identifying the child from the card; issue 14's scenario from the intake page to the merged
household's page."""

import pytest

from tests.factories import call_body, change_body, id_number
from tests.integration.browser import needs_chromium, open_page, raw_keys
from tests.integration.helpers import eventually, processed
from tests.integration.test_sources import produce

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


VILLAGE_OFFICER = "officer:village:370784101201"  # 王芳, a development officer of the factories' village


async def registered_household_with_an_open_case(stack, household: str, mother: str, child: str) -> str:
    """The registry's household of a mother and her son, and the mother's own case (she lost her income); its id."""
    async with stack.client("operator") as operator:
        for n, (id_no, name) in enumerate(((mother, "孙秀英"), (child, "孙小明"))):
            subject = {"id_number": id_no, "name": name}
            link = change_body("household.member_added", "public-security", event_id=f"scenario-{n}", subject=subject)
            await produce(stack, "department.changes", {**link, "household_id": household})
            await processed(operator, f"scenario-{n}")
        body = call_body(
            category="loss_of_income", subject={"id_number": mother, "name": "孙秀英"}, flags={}, description="在厂里被辞退，三个月没有收入"
        )
        response = await operator.post("/v1/hotline/calls", json={**body, "caller_phone": "13900000872"})
        return (await processed(operator, response.json()["event_id"]))["case_id"]


async def test_a_village_officer_finds_a_child_called_in_without_an_id_number_identifies_him_and_sees_one_merged_case(stack):
    household, mother, child = "HH-370784-SCENARIO", id_number(872, "19900412"), id_number(873, "20190101")
    older = await registered_household_with_an_open_case(stack, household, mother, child)

    # The operator takes the neighbour's call: a boy of about seven, alone, whose ID number nobody knows.
    async with open_page(f"{stack.api_url}/intake?token={stack.tokens['operator']}") as intake:
        await intake.wait_for_selector("body:not(.loading)")
        await intake.fill('[name="caller_phone"]', "13700008720")
        await intake.check('[name="id_unknown"]')
        await intake.fill('[name="subject.name"]', "小明")
        await intake.select_option('[name="subject.sex"]', "male")
        await intake.fill('[name="subject.approximate_age"]', "7")
        await intake.fill('[name="subject.description"]', "穿红色毛衣，个子不高，说妈妈两天没回家")
        await intake.fill('[name="area.town"]', "370784101")
        await intake.fill('[name="area.village"]', "370784101201")
        await intake.select_option('[name="category"]', "child_unattended")
        await intake.fill('[name="description"]', "邻居说孩子一个人在家两天了")
        await intake.click("#submit-call")
        await intake.locator('#result [data-field="case_id"]').wait_for(timeout=10000)
        await intake.wait_for_function("document.querySelector('#result .summary').textContent.includes('身份待核实')", timeout=5000)
        newer = await intake.inner_text('#result [data-field="case_id"]')
        assert await raw_keys(intake) == []

    async with open_page(f"{stack.api_url}/?token={stack.tokens[VILLAGE_OFFICER]}") as board:
        await board.wait_for_selector("#live-state.live")
        assert "王芳" in await board.inner_text("header")
        await board.fill("#search-input", "小明")
        await board.press("#search-input", "Enter")
        found = board.locator("#search-results li", has_text="身份待核实")
        await found.wait_for(timeout=5000)
        assert "小明 男，约 7 岁 身份待核实" in await found.inner_text()
        # Both the caller's 小明 and the registry's 孙小明 are found; the officer opens the unidentified boy's case.
        assert await board.locator(f'#search-results li[data-household-id="{household}"]').count() == 1
        record = await found.locator("a", has_text="家庭档案").get_attribute("href")
        async with open_page(f"{stack.api_url}{record}&token={stack.tokens[VILLAGE_OFFICER]}") as provisional:
            row = provisional.locator("#members tbody tr")
            await row.wait_for(timeout=5000)
            assert (await row.inner_text()).split("\t")[:4] == ["小明", "身份待核实", "约 7 岁", "男"]
        await found.locator(f'a.case-chip[href="#{newer}"]').click()
        card = board.locator(f'[data-case-id="{newer}"].target.open')
        await card.wait_for(timeout=5000)
        assert await card.locator(".unverified").text_content() == "身份待核实"
        assert "男，约 7 岁 · 穿红色毛衣" in await card.locator(".id-masked").text_content()
        assert await raw_keys(board) == []
        await card.locator('button[data-action="identify"]').click()
        await card.locator('form [name="id_number"]').fill(child)
        await card.locator('form [type="submit"]').click()
        # The boy's case is absorbed by his mother's, older one: the board takes the officer there.
        survivor = board.locator(f'[data-case-id="{older}"].target.open')
        await survivor.wait_for(timeout=15000)
        assert await board.locator(f'[data-case-id="{newer}"]').count() == 0
        assert await survivor.locator(".priority").text_content() == "P1"
        async with board.expect_navigation():
            await survivor.locator(".household-link").click()
        await board.wait_for_url(f"**/household?id={household}")
        cases = board.locator("#cases tbody tr")
        await board.locator(f'#cases tr[data-case-id="{newer}"] .status', has_text="已并入").wait_for(timeout=5000)
        await board.locator("#timeline li", has_text="儿童无人照料").first.wait_for(timeout=5000)
        rows = {await row.get_attribute("data-case-id"): await row.inner_text() for row in await cases.all()}
        assert set(rows) == {older, newer}
        assert f"已并入案件 {older}" in rows[newer] and "已办结" not in rows[older] and "红灯" in rows[older]
        assert await board.locator(f'#cases tr[data-case-id="{older}"] a[href="/#{older}"]').count() == 1
        members = await board.locator("#members tbody").inner_text()
        assert "孙小明" in members and child[:4] + "*" * 10 + child[-4:] in members
        text = await board.inner_text("body")
        html = await board.content()
        assert child not in html and mother not in html
        assert "热线来电 2 条" in text and await board.locator("#chart circle.signal.hotline").count() == 2
        assert "立案 · 热线来电：儿童无人照料" in text and "合并案件" in text and "并入其他案件" in text
        assert await raw_keys(board) == []
        await board.screenshot(path="/tmp/merged-household.png", full_page=True)
        print(f"\n--- the household page of {household}, as the village officer sees it ---\n{text}\n---")
