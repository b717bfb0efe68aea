"""The duty board in a real headless Chromium: against the real stack (fast policy), and at scale with canned cases."""

import time
from datetime import UTC, datetime

import pytest

from streams.devtools.bench.board import ORIGIN, CannedBoard, canned_cases, canned_register
from tests.factories import call_body, id_number
from tests.integration.browser import needs_chromium, open_page, raw_keys
from tests.integration.helpers import processed

pytestmark = [pytest.mark.integration, needs_chromium]
RANK = {"P1": 0, "P2": 1, "P3": 2}


@pytest.fixture
async def board(stack):
    async with open_page(f"{stack.api_url}/?token={stack.tokens['officer']}") as page:
        await page.wait_for_selector("#live-state.live")
        yield page


# Records every (case, column) a card is seen in, so fast colour changes cannot slip between polls.
WATCH_COLUMNS = """
window.seen = [];
new MutationObserver(() => {
  for (const card of document.querySelectorAll("[data-case-id]")) {
    const step = card.dataset.caseId + " " + card.closest("[data-column]").dataset.column;
    if (!window.seen.includes(step)) window.seen.push(step);
  }
}).observe(document.getElementById("board"), {subtree: true, childList: true, attributes: true});
"""


async def test_a_new_case_appears_then_turns_yellow_and_red_without_reload(stack, board):
    assert "token=" not in board.url
    await board.evaluate(WATCH_COLUMNS)
    async with stack.client("operator") as operator:
        posted = time.perf_counter()
        response = await operator.post("/v1/hotline/calls", json=call_body(subject={"id_number": id_number(601), "name": "钱十"}))
        event_id = response.json()["event_id"]
        case_id = (await processed(operator, event_id))["case_id"]
        card = board.locator(f'[data-case-id="{case_id}"]')
        await card.wait_for(timeout=2000)
        shown_ms = (time.perf_counter() - posted) * 1000
    await card.locator(".summary").click()
    text = await card.inner_text()
    assert "3707**********" in text and id_number(601) not in text  # masked ID only
    await board.wait_for_function(f"document.querySelector('[data-case-id=\"{case_id}\"]').dataset.tier === 'city'", timeout=6000)
    steps = [step.split()[1] for step in await board.evaluate("window.seen") if step.startswith(case_id)]
    assert steps == ["green", "yellow", "red"]
    assert "已超时" in await card.locator(".countdown").inner_text()
    assert int(await board.inner_text('[data-count="red"]')) >= 1
    print(f"\ncall posted → card on the board in {shown_ms:.0f} ms")


async def test_a_wrong_token_shows_the_token_form(stack):
    async with open_page(f"{stack.api_url}/?token=not-a-token") as page:
        await page.wait_for_selector("#token-form:not([hidden])")
        assert "401" in await page.inner_text("#token-message")


async def test_standard_track_leads_have_their_own_column(stack, board):
    async with stack.client("operator") as operator:
        body = call_body(subject={"id_number": id_number(602), "name": "孙丽"}, category="loss_of_income", flags={})
        response = await operator.post("/v1/hotline/calls", json=body)
        result = await processed(operator, response.json()["event_id"])
    lead = board.locator(f'[data-column="leads"] [data-case-id="{result["case_id"]}"]')
    await lead.wait_for(timeout=2000)
    assert await lead.get_attribute("data-track") == "standard"


async def column_order(page) -> dict[str, list[str]]:
    """The case ids of each column, top to bottom."""
    return await page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('[data-column]')].map("
        "(c) => [c.dataset.column, [...c.querySelectorAll('[data-case-id]')].map((card) => card.dataset.caseId)]))"
    )


async def test_150_open_cases_in_chinese_then_english():
    register = canned_register()
    cases = canned_cases(150, register, datetime.now(UTC))
    board = CannedBoard(cases, register, {"role": "officer:city:*", "name": "张伟"})
    async with open_page(None, setup=board.install) as page:
        await page.goto(f"{ORIGIN}/?token=canned")
        await page.wait_for_function("document.querySelectorAll('.card').length === 150")
        assert await page.inner_text("h1") == "救急难值班看板"
        assert await page.inner_text("#total") == "在办 150 件"

        # P1 first, then the least time left; a red lead sits (and counts) among the reds.
        order = await column_order(page)
        for ids in order.values():
            keys = [(RANK[board.cases[i]["priority"]], board.cases[i]["due_at"]) for i in ids]
            assert keys == sorted(keys)
        reds = [case for case in cases if case["status"] == "red"]
        red_lead = next(case for case in reds if case["track"] == "standard")
        assert sorted(order["red"]) == sorted(case["case_id"] for case in reds)
        assert int(await page.inner_text('[data-count="red"]')) == len(reds)
        assert sum([int(await page.inner_text(f'[data-count="{column}"]')) for column in order]) == 150
        lead_card = page.locator(f'[data-case-id="{red_lead["case_id"]}"]')
        # Cards out of view are not rendered (content-visibility), so their texts are read from the DOM.
        assert await lead_card.locator(".lead-badge").text_content() == "线索"
        assert (await lead_card.locator(".countdown").text_content()).startswith("已超时")
        village = next(v for town in register["towns"] for v in town["villages"] if v["code"] == red_lead["area"]["village"])
        assert await lead_card.locator(".village").text_content() == village["name"]

        # Only the actions the case's stage allows, in Chinese.
        for stage in ("opened", "acknowledged"):
            case = next(case for case in cases if case["stage"] == stage)
            card = page.locator(f'[data-case-id="{case["case_id"]}"]')
            await card.locator(".summary").click()
            buttons = card.locator(".actions button")
            assert [await b.get_attribute("data-action") for b in await buttons.all()] == case["allowed_actions"]
            assert ("受理" in await buttons.all_inner_texts()) == (stage == "opened")
        assert await raw_keys(page) == []
        await page.screenshot(path="/tmp/board.png")

        # A note shows at once as being sent, and as the officer's once the timeline holds it.
        case = next(case for case in cases if case["stage"] == "acknowledged")
        card = page.locator(f'[data-case-id="{case["case_id"]}"]')
        await card.locator('button[data-action="note"]').click()
        await card.locator('input[name="text"]').fill("已电话联系村医，十分钟到")
        await card.locator('button[type="submit"]').click()
        note = card.locator(".notes li").last
        await note.locator("text=已电话联系村医").wait_for(timeout=3000)
        assert "发送中" in await note.inner_text()
        note_event = {"type": "note_added", "version": case["version"] + 1, "at": datetime.now(UTC).isoformat()}
        note_event |= {"actor": "officer:city:*", "actor_name": "张伟", "data": {"command_id": "K1", "text": "已电话联系村医，十分钟到"}}
        board.timelines[case["case_id"]] = [note_event]
        await board.push({**case, "version": case["version"] + 1})
        await page.wait_for_function(
            f"!document.querySelector('[data-case-id=\"{case['case_id']}\"] .notes').innerText.includes('发送中')", timeout=3000
        )
        assert "张伟（安丘市值班）" in await card.locator(".notes").inner_text()

        # English on request, remembered on the next visit.
        await page.click("#language")
        await page.wait_for_function("document.querySelector('h1').textContent === 'Emergency aid duty board'")
        assert await page.inner_text('[data-column="red"] h2 span') == "Red"
        assert "overdue" in await lead_card.locator(".countdown").text_content()
        assert await raw_keys(page) == []
        await page.reload()
        await page.wait_for_function("document.querySelectorAll('.card').length === 150")
        assert await page.inner_text("h1") == "Emergency aid duty board"
        await page.click("#language")
        await page.wait_for_function("document.querySelector('h1').textContent === '救急难值班看板'")
