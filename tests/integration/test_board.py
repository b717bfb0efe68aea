"""The duty board in a real headless Chromium against the real stack (fast policy)."""

import time

import pytest

from tests.factories import call_body, id_number
from tests.integration.browser import needs_chromium, open_page
from tests.integration.helpers import processed

pytestmark = [pytest.mark.integration, needs_chromium]


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
        card = board.locator(f'[data-case-id]:has-text("{id_number(601)[-4:]}")')
        await card.wait_for(timeout=2000)
        shown_ms = (time.perf_counter() - posted) * 1000
        case_id = await card.get_attribute("data-case-id")
        assert (await operator.get(f"/v1/events/{response.json()['event_id']}")).json()["case_id"] == case_id
    text = await card.inner_text()
    assert "3707**********" in text and id_number(601) not in text  # masked ID only
    await board.wait_for_function(f"document.querySelector('[data-case-id=\"{case_id}\"]').dataset.tier === 'city'", timeout=6000)
    steps = [step.split()[1] for step in await board.evaluate("window.seen") if step.startswith(case_id)]
    assert steps == ["green", "yellow", "red"]
    assert "overdue" in await card.locator(".countdown").inner_text()
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
        lead = board.locator(f'[data-column="leads"] [data-case-id]:has-text("{id_number(602)[-4:]}")')
        await lead.wait_for(timeout=2000)
        result = await processed(operator, response.json()["event_id"])
    case_id = await lead.get_attribute("data-case-id")
    assert result["case_id"] == case_id
    assert await lead.get_attribute("data-track") == "standard"
    assert await board.locator(f'[data-column="green"] [data-case-id="{case_id}"]').count() == 0
