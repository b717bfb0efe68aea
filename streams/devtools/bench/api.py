"""The API under load: accept-to-visible latency at a fixed offered rate, and intake throughput against a no-op route."""

import asyncio
import re
import statistics
import time
import uuid
from contextlib import contextmanager

import httpx
import orjson

from schemas.departments import Departments
from schemas.intake import CallCategory
from streams.devtools.bench.stack import HOST, BenchStack
from streams.devtools.dev import wait_for_port, write_dev_tokens
from streams.devtools.generator import Generator

CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)
# Categories whose calls always open or join a case, so each one becomes visible on a case.
CASE_CATEGORIES = [CallCategory.MEDICAL_EMERGENCY, CallCategory.CHILD_UNATTENDED, CallCategory.NO_FOOD_OR_SHELTER]


@contextmanager
def api_server(stack: BenchStack, **overrides: str):
    """Run the API on a free port against the stack (with RAPIDAID_* overrides); yield its base URL and the tokens."""
    tokens_file = stack.supervisor.log_dir / "tokens.json"
    tokens = write_dev_tokens(tokens_file)
    (port,) = stack.free_ports(1)
    server = stack.start_module("api", "streams", "api", port=str(port), tokens_file=str(tokens_file), **overrides)
    try:
        wait_for_port(HOST, port, "the API")
        yield f"http://{HOST}:{port}", tokens
    finally:
        stack.stop(server)


async def _watch_live(client: httpx.AsyncClient, seen: dict[str, float], connected: asyncio.Event) -> None:
    """Record when each signal id first appears on a case pushed by GET /v1/live."""
    async with client.stream("GET", "/v1/live") as response:
        connected.set()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                arrived = time.perf_counter()
                for event_id in orjson.loads(line[5:])["case"]["signal_ids"]:
                    seen.setdefault(event_id, arrived)


async def _until_seen(client: httpx.AsyncClient, generator: Generator, seen: dict[str, float], timeout_s: float = 60) -> None:
    """Warm up: post a call each second until one shows on the live feed (the worker has joined and recovered)."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        response = await client.post("/v1/hotline/calls", json=generator.call(generator.new_household(), CASE_CATEGORIES[0])[1])
        await asyncio.sleep(1)
        if response.json()["event_id"] in seen:
            return
    raise RuntimeError("no call reached the live feed: the worker did not start")


async def e2e_latency_ms(url: str, tokens: dict[str, str], departments: Departments, rate: float, seconds: float) -> list[float]:
    """Offer hotline calls at a fixed rate (open loop); for each, accept (202) to its case arriving on the live feed."""
    generator = Generator(departments, seed=11)
    bodies = [generator.call(generator.new_household(), CASE_CATEGORIES[n % 3])[1] for n in range(int(rate * seconds))]
    accepted: dict[str, float] = {}
    seen: dict[str, float] = {}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    headers = {"Authorization": f"Bearer {tokens['operator']}"}
    async with (
        httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=None) as watcher,
    ):
        connected = asyncio.Event()
        watching = asyncio.create_task(_watch_live(watcher, seen, connected))
        await connected.wait()
        await _until_seen(client, generator, seen)

        async def post(body: dict, retries: int = 3) -> None:
            # As a real client would: on a broken connection, retry with the same Idempotency-Key.
            key = {"Idempotency-Key": str(uuid.uuid4())}
            for attempt in range(retries):
                try:
                    response = await client.post("/v1/hotline/calls", json=body, headers=key)
                    break
                except httpx.TransportError:
                    if attempt == retries - 1:
                        raise
            if response.status_code == 202:
                accepted[response.json()["event_id"]] = time.perf_counter()

        started = time.perf_counter()
        posts = []
        for n, body in enumerate(bodies):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            posts.append(asyncio.create_task(post(body)))
        await asyncio.gather(*posts)
        deadline = time.perf_counter() + 10
        while not accepted.keys() <= seen.keys() and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        watching.cancel()
    if len(accepted) < len(bodies) or not accepted.keys() <= seen.keys():
        raise RuntimeError(f"{len(bodies)} calls offered, {len(accepted)} accepted, {len(seen.keys() & accepted.keys())} seen on a case")
    return [(seen[event_id] - at) * 1000 for event_id, at in accepted.items()]


async def _hammer(url: str, request: bytes, connections: int, seconds: float) -> float:
    """Requests per second answered 2xx over keep-alive connections, each sending its next request on the last answer."""
    host, port = url.removeprefix("http://").split(":")
    stop_at = time.perf_counter() + seconds

    async def connection() -> int:
        reader, writer = await asyncio.open_connection(host, int(port))
        answered = 0
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(int(CONTENT_LENGTH.search(head).group(1)))
            if not head.startswith(b"HTTP/1.1 2"):
                raise RuntimeError(f"benchmark request refused: {head.splitlines()[0].decode()}")
            answered += 1
        writer.close()
        return answered

    started = time.perf_counter()
    async with asyncio.timeout(seconds + 30):  # a server that stops answering fails the run instead of hanging it
        answered = sum(await asyncio.gather(*(connection() for _ in range(connections))))
    return answered / (time.perf_counter() - started)


def http_request(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    """One raw HTTP/1.1 keep-alive request."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def api_rates(url: str, tokens: dict[str, str], departments: Departments, connections: int, seconds: float) -> tuple[float, float]:
    """Requests per second for POST /v1/hotline/calls and for the no-op GET /healthz, same server, same client."""
    _, body = Generator(departments, seed=5).call(Generator(departments, seed=5).new_household(), CallCategory.MEDICAL_EMERGENCY)
    intake = http_request("POST", "/v1/hotline/calls", tokens["operator"], orjson.dumps(body))
    noop = http_request("GET", "/healthz", tokens["operator"])
    asyncio.run(_hammer(url, noop, connections, 1))  # warm-up
    return asyncio.run(_hammer(url, intake, connections, seconds)), asyncio.run(_hammer(url, noop, connections, seconds))


def percentile(values: list[float], pct: int) -> float:
    """The pct-th percentile (1..99) of values."""
    return statistics.quantiles(values, n=100)[pct - 1]
