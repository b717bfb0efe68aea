"""Search over a county's households: p50 / p99 of `GET /v1/search` with 100,000 households in a real Redis.

The households are the generator's (registry members with names and ID numbers, a hotline call each, one in five
opening a case), their case events made by the real rules and written by the real projection; the queries, mixed
as officers would type them, go through the real API in this process (no network hop), as the city, a town and a
village officer.
"""

import asyncio
import dataclasses
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from redis.asyncio import Redis

from api.config import ApiSettings
from api.main import create_app
from schemas.departments import BUNDLED, Departments, load_departments
from schemas.ids import age_on, mask_id_number
from schemas.intake import CallCategory, HotlineCall
from streams.devtools.bench.api import percentile
from streams.devtools.bench.stack import BenchStack, bench_stack
from streams.devtools.dev import write_dev_tokens
from streams.devtools.generator import Generator, Household
from streams.plumbing.readmodel import ReadModelWriter
from streams.policies import load_policy
from streams.rules.cases import Outcome, apply_signal
from streams.rules.household import HouseholdState, Member
from streams.rules.household_view import with_household
from streams.rules.normalise import pseudonym, signal_from_event
from streams.rules.search import name_initials

SECRET = "bench-search-secret"
START = datetime(2026, 11, 1, tzinfo=UTC)
WRITE_BATCH = 2000


def called(generator: Generator, home: Household, n: int, secret: bytes, policy) -> tuple[Outcome, dict, datetime]:
    """The rules' outcome of one household (its members on record) getting a hotline call, the call, and when it came."""
    at = START + timedelta(seconds=n)
    members = {
        pseudonym(p.id_number, secret): Member(
            age=age_on(p.id_number, at.date()), name=p.name, id_masked=mask_id_number(p.id_number), registered=True
        )
        for p in home.members
    }
    state = HouseholdState(household_id=home.household_id, members=members)
    category = CallCategory.MEDICAL_EMERGENCY if n % 5 == 0 else CallCategory.OTHER
    _, body = generator.call(home, category)
    call = HotlineCall.model_validate(body)
    signal = signal_from_event(call, home.household_id, f"bench-{n}", at, secret)
    return apply_signal(state, signal, at, policy), body, at


def household_events(generator: Generator, home: Household, n: int, secret: bytes, policy) -> tuple[list[bytes], dict]:
    """The case events of one household (its members on record, then a hotline call), and what to search it by."""
    outcome, body, at = called(generator, home, n, secret, policy)
    events = with_household(outcome.events, outcome.state, at, policy)
    case_id = outcome.state.open_case.case_id if outcome.state.open_case else None
    person = generator.rng.choice(home.members)
    facts = {"name": person.name, "id_number": person.id_number, "phone": body["caller_phone"], "case_id": case_id, "village": home.village}
    return [event.model_dump_json().encode() for event in events], facts


async def load(redis_url: str, departments: Departments, households: int, seed: int) -> tuple[list[dict], float]:
    """Write the households' case events into Redis through the projection; what each can be found by, and the seconds it took."""
    generator = Generator(departments, seed=seed)
    policy = load_policy("default")
    redis = Redis.from_url(redis_url)
    writer = ReadModelWriter(redis, result_ttl_s=86400, live_length=1000, guarded=False)
    facts: list[dict] = []
    started = time.perf_counter()
    batch: list[tuple[str, bytes]] = []
    for n in range(households):
        home = dataclasses.replace(generator.new_household(), household_id=f"HH-{n:06d}")  # the generator numbers by its pool
        events, found_by = household_events(generator, home, n, SECRET.encode(), policy)
        facts.append(found_by)
        batch += [("aid.case-events", event) for event in events]
        if len(batch) >= WRITE_BATCH:
            await writer.apply(batch)
            batch = []
    if batch:
        await writer.apply(batch)
    await redis.aclose()
    return facts, time.perf_counter() - started


def mixed_queries(facts: list[dict], count: int, seed: int) -> list[tuple[str, str]]:
    """(role, query) pairs as officers would type them: names whole and in part, initials, ID numbers, phones, case ids."""
    rng = random.Random(seed)
    cases = [f for f in facts if f["case_id"]]  # an officer asks about a case of the area
    kinds = ("name", "surname_given", "given", "initials", "id_number", "phone", "case_id", "miss")
    queries = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        fact = rng.choice(cases if kind == "case_id" and cases else facts)
        name = fact["name"]
        query = {
            "name": name,
            "surname_given": name[:2],
            "given": name[1:],
            "initials": (name_initials(name) or ["wx"])[0],
            "id_number": fact["id_number"],
            "phone": fact["phone"],
            "case_id": fact["case_id"] or name,
            "miss": "欧阳不存在",
        }[kind]
        role = ("officer:city:*", f"officer:town:{fact['village'][:9]}", f"officer:village:{fact['village']}")[n % 3]
        queries.append((role, query))
    return queries


async def timed_queries(settings: ApiSettings, tokens: dict[str, str], queries: list[tuple[str, str]]) -> tuple[list[float], int]:
    """Each query's time through the API in this process, in milliseconds, and how many found something."""
    app = create_app(settings)
    latencies: list[float] = []
    found = 0
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for role, query in queries[:50]:  # warm up: scripts loaded, caches filled
                await client.get("/v1/search", params={"q": query}, headers={"Authorization": f"Bearer {tokens[role]}"})
            for role, query in queries:
                headers = {"Authorization": f"Bearer {tokens[role]}"}
                started = time.perf_counter()
                response = await client.get("/v1/search", params={"q": query}, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                found += bool(response.json()["items"])
    return latencies, found


def search_figures(stack: BenchStack, departments: Departments, households: int, queries: int, seed: int) -> dict:
    """Load the households, run the mixed queries; p50 and p99 in milliseconds and the sizes used."""
    facts, load_s = asyncio.run(load(stack.redis, departments, households, seed))
    roles = sorted({role for role, _ in mixed_queries(facts, queries, seed)} | {"officer:city:*"})
    tokens_file = Path(stack.supervisor.log_dir) / "search-tokens.json"
    tokens = write_dev_tokens(tokens_file, tuple(roles))
    settings = ApiSettings(
        redis=stack.redis, kafka=stack.kafka, tokens_file=tokens_file, data_dir=Path(stack.supervisor.log_dir), pseudonym_secret=SECRET
    )
    latencies, found = asyncio.run(timed_queries(settings, tokens, mixed_queries(facts, queries, seed)))
    return {
        "search_p50_ms": percentile(latencies, 50),
        "search_p99_ms": percentile(latencies, 99),
        "search_households": households,
        "search_queries": len(latencies),
        "search_found": found,
        "search_load_s": round(load_s, 1),
    }


if __name__ == "__main__":
    with bench_stack(1) as bench:
        figures = search_figures(bench, load_departments(BUNDLED), int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, 2000, seed=7)
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
