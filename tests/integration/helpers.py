"""Polling helpers for tests that watch the system through its HTTP API, and a look at a consumer group's offsets."""

import asyncio
import time

import httpx
from aiokafka import AIOKafkaConsumer

from streams.plumbing.log import partitions_of


async def eventually(probe, timeout_s: float = 20, interval_s: float = 0.05):
    """Await probe() until it returns something truthy; fail after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(interval_s)


def wait_until(probe, timeout_s: float, what: str):
    """Call probe() until it returns something truthy (a connection refused counts as not yet); fail after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if value := probe():
                return value
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def processed(client: httpx.AsyncClient, event_id: str, timeout_s: float = 20, interval_s: float = 0.05) -> dict:
    """The event's result once the worker has processed or rejected it."""

    async def probe():
        response = await client.get(f"/v1/events/{event_id}")
        return response.json() if response.status_code == 200 and response.json()["state"] != "accepted" else None

    return await eventually(probe, timeout_s, interval_s)


async def committed_offsets(kafka: str, group: str, topic_names: list[str]) -> dict[str, int | None]:
    """The group's committed offset for every partition of the topics, as {"topic[partition]": offset}."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(kafka, topic_names)
        return {f"{tp.topic}[{tp.partition}]": await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()
