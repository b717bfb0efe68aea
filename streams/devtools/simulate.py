"""Synthetic traffic for demos and load: the generator's events sent the way each source sends them.

Hotline calls and hospital admissions go through the API with their roles' tokens; departments
produce straight to `department.changes`, as their own systems would.
"""

import asyncio
import random

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from schemas.departments import Departments
from schemas.register import Register
from streams.devtools.generator import Generator

API_ROUTES = {"hotline.calls": ("/v1/hotline/calls", "operator"), "hospital.admissions": ("/v1/hospital/admissions", "hospital")}


async def send_traffic(
    api_url: str,
    kafka: str,
    tokens: dict[str, str],
    departments: Departments,
    register: Register,
    rate: float,
    count: int | None,
    seed: int | None = None,
    burst_every: int = 0,
    unidentified_calls: float = 0.0,
) -> dict[str, int]:
    """Send about `rate` events per second until `count` (forever if None); every `burst_every` events a town has a disaster;
    `unidentified_calls` of the calls are about someone whose ID number the caller does not know."""
    generator = Generator(departments, seed=seed, register=register, unidentified_calls=unidentified_calls)
    rng = random.Random(seed)
    sent: dict[str, int] = {}
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
            for n, (topic, body) in enumerate(generator):
                if count is not None and n >= count:
                    break
                if burst_every and n and n % burst_every == 0:
                    generator.burst(size=rng.randint(5, 15))
                if topic in API_ROUTES:
                    path, role = API_ROUTES[topic]
                    await client.post(path, json=body, headers={"Authorization": f"Bearer {tokens[role]}"})
                else:
                    await producer.send_and_wait(topic, orjson.dumps(body), key=body["subject"]["id_number"].encode())
                sent[topic] = sent.get(topic, 0) + 1
                await asyncio.sleep(rng.expovariate(rate))
    finally:
        await producer.stop()
    return sent


# What a simulated duty officer does next at each stage, with the request body.
NEXT_STEP = {
    "opened": ("acknowledge", {}),
    "acknowledged": ("assign", {"assignee": "村委会值班组"}),
    "assigned": ("deliver", {"aid_type": "cash", "amount_yuan": 2000}),
    "aid_delivered": ("close", {"outcome": {"aid_type": "cash", "amount_yuan": 2000}}),
}


async def act_as_officers(api_url: str, token: str, share: float, interval_s: float, seed: int | None = None) -> None:
    """Forever: every interval, move about `share` of the open cases one step along acknowledge → assign → deliver → close."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        while True:
            await asyncio.sleep(interval_s)
            cases = (await client.get("/v1/cases", params={"limit": 500})).json()["items"]
            for case in rng.sample(cases, k=int(len(cases) * share)):
                action, body = NEXT_STEP[case["stage"]]
                await client.post(f"/v1/cases/{case['case_id']}/{action}", json=body)
