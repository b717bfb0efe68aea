"""Synthetic hotline traffic for demos and load: valid, varied calls posted to the API."""

import asyncio
import random
from datetime import date, timedelta

import httpx

from schemas.ids import check_digit
from schemas.intake import CallCategory

COUNTY = "370784"  # Anqiu, the seed's three-tier network (seed 000)
TOWNS = [f"{COUNTY}{n:03d}" for n in range(101, 115)]  # 14 towns
CATEGORY_WEIGHTS = {
    CallCategory.MEDICAL_EMERGENCY: 5,
    CallCategory.ACCIDENT_OR_DISASTER: 2,
    CallCategory.NO_FOOD_OR_SHELTER: 2,
    CallCategory.CHILD_UNATTENDED: 1,
    CallCategory.ELDERLY_OR_DISABLED_UNATTENDED: 2,
    CallCategory.LOSS_OF_INCOME: 3,
    CallCategory.OTHER: 3,
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"


# Birth years that fit a call's category: children left alone are children, and so on.
BIRTH_YEARS = {
    CallCategory.CHILD_UNATTENDED: (2012, 2021),
    CallCategory.ELDERLY_OR_DISABLED_UNATTENDED: (1932, 1962),
}


def fake_id_number(rng: random.Random, years: tuple[int, int] = (1945, 2005)) -> str:
    """A resident ID number with a valid check digit for a person of the county born in the given years."""
    born = date(years[0], 1, 1) + timedelta(days=rng.randrange((years[1] - years[0]) * 365))
    first17 = f"{COUNTY}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + check_digit(first17)


def fake_call(rng: random.Random) -> dict:
    """One plausible hotline call."""
    town = rng.choice(TOWNS)
    village = f"{town}{rng.randrange(200, 260):03d}"
    categories = list(CATEGORY_WEIGHTS)
    category = rng.choices(categories, weights=list(CATEGORY_WEIGHTS.values()))[0]
    return {
        "caller_phone": f"13{rng.randrange(10**9):09d}",
        "subject": {
            "id_number": fake_id_number(rng, BIRTH_YEARS.get(category, (1945, 2005))),
            "name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
        },
        "area": {"town": town, "village": village, "grid": f"{village}-{rng.randrange(1, 12):02d}"},
        "category": category.value,
        "description": "demo call",
        "flags": {
            "children": rng.choice((0, 0, 1, 2, 3)),
            "elderly_alone": rng.random() < 0.15,
            "disabled": rng.random() < 0.1,
            "pregnant": rng.random() < 0.05,
        },
    }


async def post_calls(api_url: str, token: str, rate: float, count: int | None, seed: int | None = None) -> int:
    """Post calls at about rate per second until count are sent (forever if None); return how many were accepted."""
    rng = random.Random(seed)
    sent = accepted = 0
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        while count is None or sent < count:
            response = await client.post("/v1/hotline/calls", json=fake_call(rng))
            sent += 1
            accepted += response.status_code == 202
            await asyncio.sleep(rng.expovariate(rate))
    return accepted


# What a simulated duty officer does next at each stage, with the request body.
NEXT_STEP = {
    "opened": ("acknowledge", {}),
    "acknowledged": ("assign", {"assignee": "村委会 duty team"}),
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
