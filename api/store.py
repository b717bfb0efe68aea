"""Reads of the Redis read model; the API never writes case state."""

import orjson
from redis.asyncio import Redis

from schemas import readmodel
from schemas.case import Colour, Tier
from schemas.ids import mask_id_numbers_in

CaseFilters = dict[str, str]


async def get_case(redis: Redis, case_id: str) -> dict | None:
    """A case document with its timeline, or None."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hget(readmodel.case_key(case_id), "doc")
        pipe.lrange(readmodel.timeline_key(case_id), 0, -1)
        doc, timeline = await pipe.execute()
    if doc is None:
        return None
    return {**orjson.loads(doc), "timeline": [orjson.loads(entry) for entry in timeline]}


async def list_cases(redis: Redis, closed: bool, filters: CaseFilters, offset: int, limit: int) -> tuple[list[dict], int]:
    """A page of open (by next deadline) or closed (latest first) cases matching every filter, and the total."""
    ordered = readmodel.CLOSED_CASES if closed else readmodel.OPEN_CASES
    index_keys = [readmodel.index_key(field, value) for field, value in filters.items()]
    if index_keys:
        ids = await redis.zinter([ordered, *index_keys], aggregate="MIN")
        if closed:
            ids.reverse()
        total, page = len(ids), ids[offset : offset + limit]
    else:
        total = await redis.zcard(ordered)
        page = await redis.zrange(ordered, offset, offset + limit - 1, desc=closed)
    if not page:
        return [], total
    return await _docs(redis, page), total


async def _docs(redis: Redis, case_ids: list[bytes]) -> list[dict]:
    async with redis.pipeline(transaction=False) as pipe:
        for case_id in case_ids:
            pipe.hget(readmodel.case_key(case_id.decode()), "doc")
        return [orjson.loads(doc) for doc in await pipe.execute() if doc is not None]


async def event_result(redis: Redis, event_id: str) -> dict | None:
    """The processing result of an intake event, or None if unknown."""
    result = await redis.hgetall(readmodel.event_key(event_id))
    if not result:
        return None
    fields = {k.decode(): v.decode() for k, v in result.items()}
    return {
        "event_id": event_id,
        "state": fields["state"],
        "case_id": fields.get("case_id") or None,
        "urgency": int(fields["urgency"]) if fields.get("urgency") else None,
        "reason": fields.get("reason") or None,
    }


async def claim(redis: Redis, key: str, value: str, ttl_s: int) -> str | None:
    """Set key to value unless it holds one, atomically; None when this call set it, else the value it already held."""
    earlier = await redis.set(key, value, nx=True, get=True, ex=ttl_s)
    return None if earlier is None else earlier.decode()


# One round trip: set "accepted" with a time to live, unless the worker has already written the result.
_MARK_ACCEPTED = """
if redis.call('HSETNX', KEYS[1], 'state', 'accepted') == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
"""


async def mark_accepted(redis: Redis, event_id: str, ttl_s: int) -> None:
    """Record that an event was handed to Kafka, unless the worker has already recorded its result."""
    await redis.eval(_MARK_ACCEPTED, 1, readmodel.event_key(event_id), ttl_s)


async def stats(redis: Redis) -> dict:
    """Counters kept by the projection and exact open-case counts per colour and tier."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(readmodel.STATS)
        pipe.zcard(readmodel.OPEN_CASES)
        for colour in Colour:
            pipe.scard(readmodel.index_key("status", colour.value))
        for tier in Tier:
            pipe.zintercard(2, [readmodel.OPEN_CASES, readmodel.index_key("tier", tier.value)])
        counters, open_total, *counts = await pipe.execute()
    colours, tiers = counts[: len(Colour)], counts[len(Colour) :]
    return {
        "open_cases": open_total,
        "open_by_colour": {c.value: n for c, n in zip(Colour, colours, strict=True)},
        "open_by_tier": {t.value: n for t, n in zip(Tier, tiers, strict=True)},
        "counters": {k.decode(): int(v) for k, v in sorted(counters.items())},
    }


async def recent_deadletters(redis: Redis, limit: int) -> list[dict]:
    """The newest dead letters, ID numbers masked and the raw bytes left out."""
    letters = [orjson.loads(raw) for raw in await redis.lrange(readmodel.DEADLETTERS, 0, limit - 1)]
    for letter in letters:
        letter.pop("original_b64", None)
        for field in ("original", "key", "reason"):
            if letter.get(field):
                letter[field] = mask_id_numbers_in(letter[field])
    return letters
