"""Tokens of named people on the real stack: added with the CLI, in force at once, named on the timeline, revoked; and /docs offline."""

import hashlib
import os
import re
import subprocess
import sys

import httpx
import pytest

from tests.integration.browser import needs_chromium, open_page
from tests.integration.helpers import eventually
from tests.integration.test_workflow import command, open_case

pytestmark = pytest.mark.integration


def tokens_cli(stack, *args: str) -> str:
    """Run `python -m streams tokens ...` against the stack's data directory; its output."""
    env = {**os.environ, "RAPIDAID_DATA_DIR": str(stack.data_dir)}
    done = subprocess.run([sys.executable, "-m", "streams", "tokens", *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_person_added_with_the_cli_acts_within_seconds_is_named_on_the_timeline_and_once_revoked_gets_401(stack):
    token = tokens_cli(stack, "add", "--role", "officer:town:370784101", "--name", "张伟").splitlines()[-1]
    async with httpx.AsyncClient(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as zhang:

        async def me():
            response = await zhang.get("/v1/me")
            return response.json() if response.status_code == 200 else None

        assert await eventually(me, timeout_s=15) == {"role": "officer:town:370784101", "name": "张伟"}
        case = await open_case(stack, 861)
        assert (await command(zhang, case["case_id"], "acknowledge", {}))["state"] == "processed"
        timeline = (await zhang.get(f"/v1/cases/{case['case_id']}/timeline")).json()["timeline"]
        named = [(e["type"], e["actor"], e["actor_name"]) for e in timeline]
        assert ("acknowledged", "officer:town:370784101", "张伟") in named
        assert named[0] == ("opened", "system:triage", None)
        assert timeline[0]["data"]["reporter"] == "陈静"  # the hotline operator the launcher names (streams.devtools.dev)

        digest_prefix = hashlib.sha256(token.encode()).hexdigest()[:12]
        assert digest_prefix in tokens_cli(stack, "list")
        # By digest: the launcher's own town officer is called 张伟 too.
        assert "已吊销 张伟" in tokens_cli(stack, "revoke", digest_prefix)

        async def refused():
            return (await zhang.get("/v1/me")).status_code == 401

        await eventually(refused, timeout_s=15)


async def test_docs_use_only_local_assets_and_declare_bearer_auth(stack):
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as client:
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            assert "http" not in html, f"{page} refers to another site"
            assets = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert len(assets) >= 2
            for asset in assets:
                assert (await client.get(asset)).status_code == 200, asset
        spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert [(s["type"], s["scheme"]) for s in schemes.values()] == [("http", "bearer")]
    assert spec["paths"]["/v1/cases"]["get"]["security"] == [{name: []} for name in schemes]
    assert "security" not in spec["paths"]["/healthz"]["get"]


@needs_chromium
async def test_the_docs_page_renders_with_an_authorize_button_loading_nothing_from_elsewhere(stack):
    async with open_page(f"{stack.api_url}/docs") as page:
        await page.wait_for_selector("button.authorize", timeout=20_000)
        await page.wait_for_selector(".opblock-tag", timeout=20_000)
        loaded = await page.evaluate("performance.getEntriesByType('resource').map(entry => entry.name)")
    assert loaded and all(url.startswith(stack.api_url) for url in loaded), loaded


@needs_chromium
async def test_a_named_town_officer_acts_from_the_board_and_the_timeline_names_them(stack):
    token = tokens_cli(stack, "add", "--role", "officer:town:370784101", "--name", "王建国").splitlines()[-1]

    async def in_force():
        async with httpx.AsyncClient(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}) as officer:
            return (await officer.get("/v1/me")).status_code == 200

    await eventually(in_force, timeout_s=15)
    async with open_page(f"{stack.api_url}/?token={token}") as board:
        await board.wait_for_selector("#live-state.live")
        assert "王建国" in await board.inner_text("header")
        case = await open_case(stack, 862, description="老人摔倒在家起不来，身边没人")
        card = board.locator(f'[data-case-id="{case["case_id"]}"]')
        await card.wait_for(timeout=5000)
        assert "景芝" in await card.inner_text()  # the village by name, not its code
        await card.locator(".summary").click()
        assert "老人摔倒在家起不来" in await card.inner_text()  # the caller's words
        await card.locator('button[data-action="acknowledge"]').click()
        await card.locator('button[data-action="acknowledge"]').wait_for(state="detached", timeout=5000)
        await card.locator(".timeline summary").click()
        acknowledged = card.locator('.timeline li[data-type="acknowledged"]')
        await acknowledged.wait_for(timeout=5000)
        assert "王建国（景芝镇值班）" in await acknowledged.inner_text()
