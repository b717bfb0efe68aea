"""The live feed on a real API process: one Redis reader fanned out, reads never starved, a cap per token, resumable."""

import asyncio
import contextlib
import os
import subprocess
import sys

import httpx
import orjson
import pytest

from tests.factories import call_body, id_number
from tests.integration.conftest import free_port
from tests.integration.helpers import eventually, processed

pytestmark = pytest.mark.integration
CLIENTS = 150  # more than redis-py's default pool of 100 connections, which one reader per client used to exhaust


@pytest.fixture
def api(stack):
    """A second API process on the stack's Kafka and Redis, allowing CLIENTS + 1 live connections per token."""
    port = free_port()
    env = {
        **os.environ,
        "RAPIDAID_KAFKA": stack.kafka,
        "RAPIDAID_REDIS": stack.redis,
        "RAPIDAID_PORT": str(port),
        "RAPIDAID_TOKENS_FILE": str(stack.data_dir / "dev-tokens.json"),
        "RAPIDAID_LIVE_CONNECTIONS_PER_TOKEN": str(CLIENTS + 1),
    }
    process = subprocess.Popen([sys.executable, "-m", "streams", "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    async def up():
        try:
            return (await httpx.AsyncClient().get(f"{url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    asyncio.run(eventually(up, timeout_s=30))
    yield url
    process.terminate()
    process.wait(15)


async def _post_call(stack, serial: int) -> str:
    """Post a call that opens a case; return the case id."""
    body = call_body(category="child_unattended", subject={"id_number": id_number(serial, born="20180101"), "name": "赵小"})
    async with stack.client("operator") as operator:
        event_id = (await operator.post("/v1/hotline/calls", json=body)).json()["event_id"]
        return (await processed(operator, event_id))["case_id"]


async def _updates(response: httpx.Response):
    """(entry id, update) pairs of an open SSE response; an event's fields end at a blank line."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line:
            name, _, value = line.partition(": ")
            fields[name] = value
        elif "data" in fields:
            yield fields.get("id"), orjson.loads(fields["data"])
            fields = {}


async def _until_case(response: httpx.Response, case_id: asyncio.Future | str) -> str:
    """Read the feed until an update of the case arrives; return its entry id."""
    async for entry_id, update in _updates(response):
        if update["case"]["case_id"] == (case_id if isinstance(case_id, str) else await case_id):
            return entry_id
    raise AssertionError("the feed ended first")


async def test_many_clients_share_one_reader_and_reads_are_never_starved(stack, api):
    headers = {"Authorization": f"Bearer {stack.tokens['officer']}"}
    async with httpx.AsyncClient(base_url=api, headers=headers, limits=httpx.Limits(max_connections=CLIENTS + 10), timeout=60) as officer:
        connected: list[httpx.Response] = []
        case_id = asyncio.get_running_loop().create_future()

        async def listen() -> str:
            async with officer.stream("GET", "/v1/live") as response:
                assert response.status_code == 200
                connected.append(response)
                return await _until_case(response, case_id)

        listeners = [asyncio.create_task(listen()) for _ in range(CLIENTS)]

        async def all_connected():
            await asyncio.sleep(0.05)
            return len(connected) == CLIENTS

        await eventually(all_connected, timeout_s=60)
        # With every live client connected, reads and readiness still answer.
        assert (await officer.get("/v1/cases", params={"limit": 5})).status_code == 200
        assert (await officer.get("/readyz")).json()["checks"]["redis"] is True
        case_id.set_result(await _post_call(stack, 711))
        entry_ids = await asyncio.wait_for(asyncio.gather(*listeners), timeout=60)
    assert len(entry_ids) == CLIENTS and len(set(entry_ids)) == 1  # every client got the same update


async def test_a_token_may_hold_only_so_many_live_connections(stack):
    async with stack.client("officer:village:370784107201") as village, contextlib.AsyncExitStack() as held:
        for _ in range(10):  # RAPIDAID_LIVE_CONNECTIONS_PER_TOKEN's default
            response = await held.enter_async_context(village.stream("GET", "/v1/live"))
            assert response.status_code == 200
        refused = await village.get("/v1/live")
        async with stack.client("officer") as officer, officer.stream("GET", "/v1/live") as other:
            assert other.status_code == 200  # another token is not affected
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "10"


async def test_a_client_resumes_after_its_last_event_without_missing_one(stack):
    async with stack.client("officer") as officer:
        first = await _post_call(stack, 712)
        # Resuming from the stream's start replays the backlog: the first case's update is in it, whatever the timing.
        async with officer.stream("GET", "/v1/live", headers={"Last-Event-ID": "0-0"}) as response:
            seen = await asyncio.wait_for(_until_case(response, first), timeout=30)
        missed = await _post_call(stack, 713)  # while disconnected
        async with officer.stream("GET", "/v1/live", headers={"Last-Event-ID": seen}) as resumed:
            assert await asyncio.wait_for(_until_case(resumed, missed), timeout=30)
