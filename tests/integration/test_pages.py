"""The operator's intake page and the officer's actions on the board, in headless Chromium (zh-CN)."""

import asyncio
import json
import time

import pytest

from streams.devtools.bench.board import canned_register
from tests.factories import id_number
from tests.integration.browser import needs_chromium, open_page, raw_keys
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


async def type_with_ime(page, selector: str, composing: str, chosen: str) -> None:
    """Type as a pinyin input method does: letters while composing, then the characters chosen at compositionend."""
    await page.eval_on_selector(
        selector,
        """(input, [composing, chosen]) => {
          input.focus();
          window.errorBeforeComposing = document.getElementById("error-" + input.name).textContent;
          input.dispatchEvent(new CompositionEvent("compositionstart", {bubbles: true}));
          input.value = composing;
          input.dispatchEvent(new InputEvent("input", {bubbles: true, isComposing: true, data: composing}));
          window.errorWhileComposing = document.getElementById("error-" + input.name).textContent;
          input.value = chosen;
          input.dispatchEvent(new CompositionEvent("compositionend", {bubbles: true, data: chosen}));
        }""",
        [composing, chosen],
    )


async def test_operator_picks_town_and_village_by_name_and_reads_the_result_in_chinese(stack):
    async with open_page(f"{stack.api_url}/intake?token={stack.tokens['operator']}") as page:
        await page.wait_for_selector("body:not(.loading)")
        assert await page.inner_text("h1") == "12349 热线受理"
        town = next(town for town in canned_register()["towns"] if town["code"] == CALL["area"]["town"])
        village = town["villages"][0]
        await page.fill('[name="caller_phone"]', "138 0536 1234")
        await page.fill('[name="subject.name"]', "黄小红")
        await page.fill('[name="subject.id_number"]', id_number(904))
        # A village typed first brings its town along.
        await page.fill('[name="area.village"]', village["code"])
        assert await page.input_value('[name="area.town"]') == town["name"]
        await page.fill('[name="area.town"]', "")
        await type_with_ime(page, '[name="area.town"]', "jingzhi", town["name"])
        assert await page.evaluate("window.errorWhileComposing === window.errorBeforeComposing")
        assert await page.inner_text('[id="hint-area.town"]') == f"✓ {town['name']} · {town['code']}"
        # The villages offered are the chosen town's, by name.
        offered = await page.eval_on_selector_all("#village-choices option", "(options) => options.map((o) => o.value)")
        assert offered == [v["name"] for v in town["villages"]]
        await page.fill('[name="area.village"]', village["name"])
        assert await page.inner_text('[id="hint-area.village"]') == f"✓ {village['name']} · {village['code']}"
        await page.select_option('[name="category"]', "child_unattended")
        assert await page.inner_text('[name="category"] option:checked') == "儿童无人照料"
        await page.fill('[name="flags.children"]', "2")
        await page.screenshot(path="/tmp/intake-form.png")
        await page.click("#submit-call")
        await page.locator('#result [data-field="case_id"]').wait_for(timeout=10000)
        await page.wait_for_function("document.querySelector('#result .factors').children.length > 0", timeout=5000)
        assert (await page.inner_text("#result .summary")).startswith("已立案")
        assert await page.inner_text('#result [data-field="priority"]') == "P1 危急"
        assert await page.inner_text('#result [data-field="status"]') in ("绿灯", "黄灯", "红灯")
        assert await page.inner_text('#result [data-field="place"]') == f"{town['name']} · {village['name']}"
        assert "前" in await page.inner_text('#result [data-field="due"]')
        assert await raw_keys(page) == []
        await page.screenshot(path="/tmp/intake.png")


async def test_operator_submits_a_call_by_codes_and_sees_its_case_and_factors(stack):
    async with open_page(f"{stack.api_url}/intake?token={stack.tokens['operator']}") as page:
        await page.wait_for_selector("body:not(.loading)")
        await page.fill('[name="subject.id_number"]', id_number(901)[:-1] + ("0" if id_number(901)[-1] != "0" else "1"))
        await page.locator('[name="subject.id_number"]').blur()
        assert "校验位" in await page.inner_text('[id="error-subject.id_number"]')
        assert await page.is_disabled("#submit-call")
        await fill_call(page, id_number(901))
        assert await page.inner_text('[id="error-subject.id_number"]') == ""
        await page.click("#submit-call")
        case_id = page.locator('#result [data-field="case_id"]')
        await case_id.wait_for(timeout=10000)
        assert (await case_id.inner_text()).startswith("C")
        assert (await page.inner_text('#result [data-field="priority"]')).startswith("P1")
        assert int(await page.inner_text('#result [data-field="urgency"]')) >= 80
        factors = await page.locator("#result ul.factors li").all_inner_texts()
        assert factors and all("+" in factor or "−" in factor for factor in factors)
        # The same result in English, and the choice kept for the next visit.
        await page.click("#language")
        await page.wait_for_function("document.querySelector('h1').textContent === '12349 hotline intake'")
        assert (await page.inner_text("#result .summary")).startswith("Emergency case opened")
        assert await raw_keys(page) == []
        await page.reload()
        await page.wait_for_selector("body:not(.loading)")
        assert await page.inner_text("h1") == "12349 hotline intake"
        assert json.loads(await page.evaluate("JSON.stringify(localStorage.getItem('rapidaid.language'))")) == "en"


async def test_officer_acknowledges_from_the_board_and_sees_a_refusal(stack):
    async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}") as board:
        await board.wait_for_selector("#live-state.live")
        async with stack.client("operator") as operator:
            body = {**CALL, "subject": {"id_number": id_number(902), "name": "林一"}}
            result = await processed(operator, (await operator.post("/v1/hotline/calls", json=body)).json()["event_id"])
        card = board.locator(f'[data-case-id="{result["case_id"]}"]')
        await card.wait_for(timeout=2000)
        await card.locator(".summary").click()
        clicked = time.perf_counter()
        await card.locator('button[data-action="acknowledge"]').click()
        await card.locator('button[data-action="acknowledge"]').wait_for(state="detached", timeout=3000)
        shown_ms = (time.perf_counter() - clicked) * 1000
        assert "已受理" in await card.locator(".stage-text").inner_text()
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
        assert (await refusal.inner_text()).strip()
        # The timeline says who acknowledged it.
        await card.locator(".timeline summary").click()
        acknowledged = card.locator('.timeline li[data-type="acknowledged"]')
        await acknowledged.wait_for(timeout=3000)
        # The officer's name (the dev token's here) with the role's place: "张伟（安丘市值班）".
        assert "（安丘市值班）" in (await acknowledged.inner_text()).split(" 受理 · ", 1)[1]


async def test_a_form_opened_while_the_last_command_is_decided_survives_its_outcome(stack):
    async def hold_outcomes(page):
        # The board learns a command's outcome by polling; hold each answer so the stage change arrives live first.
        async def late(route):
            await asyncio.sleep(1.5)
            await route.continue_()

        await page.route("**/v1/events/*", late)

    async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}", setup=hold_outcomes) as board:
        await board.wait_for_selector("#live-state.live")
        async with stack.client("operator") as operator:
            body = {**CALL, "subject": {"id_number": id_number(905), "name": "林三"}}
            result = await processed(operator, (await operator.post("/v1/hotline/calls", json=body)).json()["event_id"])
        card = board.locator(f'[data-case-id="{result["case_id"]}"]')
        await card.locator(".summary").click()
        await card.locator('button[data-action="acknowledge"]').click()
        await card.locator('button[data-action="acknowledge"]').wait_for(state="detached", timeout=10_000)
        await card.locator('button[data-action="note"]').click()
        await card.locator('input[name="text"]').fill("已电话联系家属")
        await card.locator(".pending").wait_for(state="hidden", timeout=20_000)  # the acknowledgement's outcome is in
        assert await card.locator('input[name="text"]').input_value() == "已电话联系家属"


async def test_filters_hide_cards_outside_the_choice(stack):
    async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}", 1920, 1080) as board:
        await board.wait_for_selector("#live-state.live")
        async with stack.client("operator") as operator:
            lead = {**CALL, "subject": {"id_number": id_number(903), "name": "林二"}, "category": "loss_of_income"}
            result = await processed(operator, (await operator.post("/v1/hotline/calls", json=lead)).json()["event_id"])
        await board.locator(f'[data-case-id="{result["case_id"]}"]').wait_for(timeout=3000)
        await board.select_option("#filter-priority", "P3")
        visible = await board.locator("[data-case-id]:visible").all()
        assert visible
        for card in visible:
            assert await card.get_attribute("data-priority") == "P3"
        assert "筛选后" in await board.inner_text("#total")


# Each page with a token of someone who uses it.
PAGES = {"/": "officer", "/intake": "operator", "/partner": "partner:county-charity", "/visits": "officer", "/reports": "officer"}


@pytest.mark.parametrize("path", list(PAGES))
async def test_each_page_loads_without_a_failed_request_or_a_script_error(stack, path):
    problems = []

    async def watch(page):
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))

    async with open_page(f"{stack.api_url}{path}?token={stack.tokens[PAGES[path]]}", setup=watch) as page:
        await page.wait_for_selector("body:not(.loading)")
        await page.wait_for_timeout(1000)  # the requests the page makes once its texts are in
    assert problems == []  # a missing favicon was one: every page asked for /favicon.ico and got a 404
