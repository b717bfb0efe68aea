"""The live feed under many clients: how late case events reach each of them."""

import asyncio
import time

import httpx

from schemas.departments import Departments
from streams.devtools.bench.api import CASE_CATEGORIES, percentile
from streams.devtools.generator import Generator

ID_FIELD = b"\nid: "


async def _client(host: str, port: int, token: str, lags_ms: list[float], connected: asyncio.Event) -> None:
    """A minimal SSE client: for every event id it reads, how long after Redis stamped the entry it arrived."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /v1/live HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"live feed refused: {head.splitlines()[0].decode()}")
    connected.set()
    try:
        while chunk := await reader.read(1 << 16):
            now_ms = time.time() * 1000
            at = chunk.find(ID_FIELD)
            while at >= 0:
                # A stream entry id is "<Redis time in ms>-<sequence>": the moment the projection wrote the update.
                lags_ms.append(now_ms - int(chunk[at + 5 : chunk.index(b"-", at)]))
                at = chunk.find(ID_FIELD, at + 5)
    finally:
        writer.close()


async def live_lag_ms(
    url: str, token: str, operator: str, departments: Departments, clients: int, rate: float, seconds: float
) -> tuple[float, int]:
    """Connect `clients` live readers, offer case-opening calls at `rate` per second: the p99 lag and updates received."""
    host, port = url.removeprefix("http://").split(":")
    lags: list[float] = []
    connected = [asyncio.Event() for _ in range(clients)]
    readers = [asyncio.create_task(_client(host, int(port), token, lags, event)) for event in connected]
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in connected)), 60)
    generator = Generator(departments, seed=13)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {operator}"}, timeout=30) as client:
        started = time.perf_counter()
        posts = []
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            body = generator.call(generator.new_household(), CASE_CATEGORIES[n % len(CASE_CATEGORIES)])[1]
            posts.append(asyncio.create_task(client.post("/v1/hotline/calls", json=body)))
        await asyncio.gather(*posts)
    await asyncio.sleep(2)  # the last updates reach every reader
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    if not lags:
        raise RuntimeError("no live update reached any reader")
    return percentile(lags, 99), len(lags)
