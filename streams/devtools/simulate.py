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
DEMO_PARTNER = "county-charity"
# The roles the demo acts as: the city duty officer (who sees every case), the hotline operator, the charity's clerk;
# `rapidaid dev` gives each a named person, so the audit trail names people, not roles.
DEMO_ROLES = ("officer:city:*", "operator", f"partner:{DEMO_PARTNER}")
REFERRED_SHARE = 0.3  # of the acknowledged cases moved on, those also referred to the charity for goods
DECLINED_SHARE = 0.2  # of the referrals, those the charity declines
VISITED_SHARE = 0.6  # of the visits due, those made each round: the rest run late, so the lists show yellow and red
RATINGS = {"satisfied": 7, "basically_satisfied": 2, "dissatisfied": 1}


async def act_as_officers(api_url: str, tokens: dict[str, str], share: float, interval_s: float, seed: int | None = None) -> None:
    """Forever: every interval, move about `share` of the open cases one step along acknowledge → assign → deliver → close,
    refer some to the charity, answer its referrals as the charity, make most visits due and the call-backs."""
    rng = random.Random(seed)
    clients = {
        role: httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {tokens[role]}"}, timeout=10) for role in DEMO_ROLES
    }
    officer, operator, partner = clients.values()
    try:
        while True:
            await asyncio.sleep(interval_s)
            await move_cases(officer, rng, share)
            await answer_referrals(partner, rng)
            await make_visits(officer, operator, rng)
    finally:
        for client in clients.values():
            await client.aclose()


async def move_cases(officer: httpx.AsyncClient, rng: random.Random, share: float) -> None:
    """Move a share of the open cases one step on; refer some acknowledged ones to the charity as well."""
    cases = (await officer.get("/v1/cases", params={"limit": 500})).json()["items"]
    for case in rng.sample(cases, k=int(len(cases) * share)):
        if case["stage"] == "acknowledged" and not case.get("referrals") and rng.random() < REFERRED_SHARE:
            await officer.post(f"/v1/cases/{case['case_id']}/refer", json={"partner": DEMO_PARTNER, "request": "送米面油和棉被"})
        action, body = NEXT_STEP[case["stage"]]
        await officer.post(f"/v1/cases/{case['case_id']}/{action}", json=body)


async def answer_referrals(partner: httpx.AsyncClient, rng: random.Random) -> None:
    """As the charity: accept or decline what waits for an answer, report the help on what was accepted."""
    for referral in (await partner.get("/v1/referrals", params={"status": "pending"})).json()["items"]:
        if rng.random() < DECLINED_SHARE:
            await partner.post(f"/v1/referrals/{referral['referral_id']}/decline", json={"reason": "本月物资已发完"})
        else:
            await partner.post(f"/v1/referrals/{referral['referral_id']}/accept", json={})
    for referral in (await partner.get("/v1/referrals", params={"status": "accepted"})).json()["items"]:
        await partner.post(f"/v1/referrals/{referral['referral_id']}/report", json={"report": "已送米面油一份、棉被两床"})


async def make_visits(officer: httpx.AsyncClient, operator: httpx.AsyncClient, rng: random.Random) -> None:
    """Make most follow-up and watch visits due, and call back most closed cases, the rating mostly satisfied."""
    due = [*(await officer.get("/v1/follow-ups")).json()["items"], *(await officer.get("/v1/watchlist")).json()["items"]]
    for item in due:
        visit = item["visit"]
        if rng.random() >= VISITED_SHARE:
            continue
        if visit["kind"] == "callback":
            rating = rng.choices(list(RATINGS), weights=list(RATINGS.values()))[0]
            body = {"rating": rating, "text": "救助款到得慢" if rating == "dissatisfied" else "很及时，谢谢"}
            await operator.post(f"/v1/cases/{visit['case_id']}/satisfaction", json=body)
        elif visit["kind"] == "follow_up":
            await officer.post(f"/v1/cases/{visit['case_id']}/visits", json={"visit_id": visit["visit_id"], "found": "家中情况稳定"})
        else:
            body = {"visit_id": visit["visit_id"], "found": "老人身体尚好，有人照看"}
            await officer.post(f"/v1/households/{item['household_id']}/visits", json=body)
