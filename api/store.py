"""Reads of the Redis read model; the API never writes case state."""

import re
from datetime import datetime

import orjson
from redis.asyncio import Redis

from schemas import readmodel
from schemas.ids import mask_id_numbers_in, mask_phone, mask_phones_in
from schemas.timing import Colour, Tier
from streams.rules.search import Lookup

CaseFilters = dict[str, str]


async def get_case(redis: Redis, case_id: str, read_by: dict[str, str] | None = None) -> dict | None:
    """A case document with its timeline, or None; a person's read is written to the access log in the same round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hget(readmodel.case_key(case_id), "doc")
        pipe.lrange(readmodel.timeline_key(case_id), 0, -1)
        if read_by is not None:
            pipe.xadd(readmodel.ACCESS_LOG, {"case_id": case_id, **read_by}, maxlen=readmodel.ACCESS_LOG_KEPT, approximate=True)
        doc, timeline, *_ = await pipe.execute()
    if doc is None:
        return None
    return {**orjson.loads(doc), "timeline": [orjson.loads(entry) for entry in timeline]}


async def list_cases(redis: Redis, closed: bool, filters: CaseFilters, offset: int, limit: int) -> tuple[list[dict], int]:
    """A page of open (by next deadline) or closed (latest first) cases matching every filter, and the total."""
    ordered = readmodel.CLOSED_CASES if closed else readmodel.OPEN_CASES
    index_keys = [readmodel.index_key(field, value) for field, value in filters.items()]
    if index_keys:
        # The index sets count 1 each: weighted 0, the order stays the sorted set's (by deadline, or by closing time).
        ids = await redis.zinter({ordered: 1, **dict.fromkeys(index_keys, 0)})
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


async def event_result(redis: Redis, event_id: str) -> tuple[dict, str | None] | None:
    """The processing result of an intake event and the token digest of its sender (None if unrecorded), or None if unknown."""
    result = await redis.hgetall(readmodel.event_key(event_id))
    if not result:
        return None
    fields = {k.decode(): v.decode() for k, v in result.items()}
    outcome = {
        "event_id": event_id,
        "state": fields["state"],
        "case_id": fields.get("case_id") or None,
        "urgency": int(fields["urgency"]) if fields.get("urgency") else None,
        "reason": fields.get("reason") or None,
    }
    return outcome, fields.get("sender")


async def claim(redis: Redis, key: str, value: str, ttl_s: int) -> str | None:
    """Set key to value unless it holds one, atomically; None when this call set it, else the value it already held."""
    earlier = await redis.set(key, value, nx=True, get=True, ex=ttl_s)
    return None if earlier is None else earlier.decode()


# One round trip: set "accepted" with a time to live, unless the worker has already written the result; note the sender
# either way (the worker's writes leave that field alone).
_MARK_ACCEPTED = """
if redis.call('HSETNX', KEYS[1], 'state', 'accepted') == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'sender', ARGV[2]) end
"""


async def mark_accepted(redis: Redis, event_id: str, ttl_s: int, sender: str | None) -> None:
    """Record that an event was handed to Kafka, unless the worker has already recorded its result, and who sent it."""
    await redis.eval(_MARK_ACCEPTED, 1, readmodel.event_key(event_id), ttl_s, sender or "")


async def stats(redis: Redis, area: tuple[str, str] | None = None) -> dict:
    """Exact open-case counts per colour and tier, of one town or village (area = field, code) or of the county with its counters.

    The pipeline's counters are kept for the county only, so an area's stats have none.
    """
    within = [readmodel.index_key(*area)] if area else []
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(readmodel.STATS)
        pipe.zintercard(1 + len(within), [readmodel.OPEN_CASES, *within])
        for colour in Colour:
            pipe.sintercard(1 + len(within), [readmodel.index_key("status", colour.value), *within])
        for tier in Tier:
            pipe.zintercard(2 + len(within), [readmodel.OPEN_CASES, readmodel.index_key("tier", tier.value), *within])
        counters, open_total, *counts = await pipe.execute()
    colours, tiers = counts[: len(Colour)], counts[len(Colour) :]
    numbers = {
        "area": dict([area]) if area else None,
        "open_cases": open_total,
        "open_by_colour": {c.value: n for c, n in zip(Colour, colours, strict=True)},
        "open_by_tier": {t.value: n for t, n in zip(Tier, tiers, strict=True)},
    }
    return numbers if area else {**numbers, "counters": {k.decode(): int(v) for k, v in sorted(counters.items())}}


async def access_log(redis: Redis, case_id: str | None, limit: int, chunk: int = 1000, household_id: str | None = None) -> list[dict]:
    """The newest reads of cases and households (of one case or household, when given), newest first."""
    found: list[dict] = []
    upper = "+"
    while len(found) < limit:
        entries = await redis.xrevrange(readmodel.ACCESS_LOG, max=upper, count=chunk)
        for entry_id, fields in entries:
            entry = {k.decode(): v.decode() for k, v in fields.items()}
            if (case_id is None or entry.get("case_id") == case_id) and (household_id is None or entry.get("household_id") == household_id):
                found.append({"id": entry_id.decode(), **entry})
        if len(entries) < chunk:
            break
        upper = f"({entries[-1][0].decode()}"
    return found[:limit]


def read_by(name: str | None, role: str, what: str, at: datetime) -> dict[str, str]:
    """An access-log entry's fields: who read what of a case or household, when."""
    return {"name": name or "", "role": role, "read": what, "at": at.isoformat()}


# A caller's phone may be any digits (HotlineCall.caller_phone), so the field is masked by name as well as by shape.
_CALLER_PHONE = re.compile(r'("caller_phone"\s*:\s*")([^"]*)(")')


def masked_text(text: str) -> str:
    """Text with ID numbers, mobile numbers and any caller_phone field's value masked."""
    text = _CALLER_PHONE.sub(lambda match: match.group(1) + mask_phone(match.group(2)) + match.group(3), mask_id_numbers_in(text))
    return mask_phones_in(text)


async def recent_deadletters(redis: Redis, limit: int) -> list[dict]:
    """The newest dead letters, ID numbers and phones masked and the raw bytes left out."""
    letters = [orjson.loads(raw) for raw in await redis.lrange(readmodel.DEADLETTERS, 0, limit - 1)]
    for letter in letters:
        letter.pop("original_b64", None)
        for field in ("original", "key", "reason"):
            if letter.get(field):
                letter[field] = masked_text(letter[field])
    return letters


def _in_step_order(scored: tuple[float, dict]) -> tuple[float, int]:
    """A household timeline entry's place: by time, and at the same millisecond (a deadline turning a case red and
    escalating it) in the order its case took the steps."""
    at, entry = scored
    return at, entry["version"]


# Finds households for a search's lookups, best first, and reads what the results show, in one round trip.
# Each lookup is (kind, value, tier): a token's households (ZRANGE of its set, or for an officer of a town or
# village its intersection with the households of the area, ARGV[1]), a case's household, or a household by id.
# Ordered by tier, then last activity; then, for each of the first ARGV[2]: its id, the index of the lookup that
# found it, its view (or ''), how many cases it has and the summaries of its latest ARGV[3] cases.
_SEARCH = """
local p, scope, limit, shown = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local found = {}
local function add(household, score, i)
  if household and (scope == '' or redis.call('SISMEMBER', scope, household) == 1) then
    table.insert(found, {household, tonumber(ARGV[7 + 3 * i]), tonumber(score or '0'), i})
  end
end
for i = 0, tonumber(ARGV[4]) - 1 do
  local kind, value = ARGV[5 + 3 * i], ARGV[6 + 3 * i]
  if kind == 'token' then
    local key = p .. 'sx:' .. value
    local hits
    if scope == '' then
      hits = redis.call('ZRANGE', key, 0, limit - 1, 'REV', 'WITHSCORES')
    else
      hits = redis.call('ZINTER', 2, key, scope, 'WEIGHTS', 1, 0, 'WITHSCORES')
    end
    local first = scope == '' and 1 or math.max(1, #hits - 2 * limit + 1)
    for j = first, #hits, 2 do
      table.insert(found, {hits[j], tonumber(ARGV[7 + 3 * i]), tonumber(hits[j + 1]), i})
    end
  elseif kind == 'case' then
    local household = redis.call('HGET', p .. 'case:' .. value, 'household')
    if household then add(household, redis.call('HGET', p .. 'household:' .. household, 'at'), i) end
  else
    local at = redis.call('HGET', p .. 'household:' .. value, 'at')
    if at then add(value, at, i) end
  end
end
table.sort(found, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  if a[3] ~= b[3] then return a[3] > b[3] end
  return a[1] < b[1]
end)
local results, seen = {}, {}
for _, hit in ipairs(found) do
  if #results >= limit then break end
  if not seen[hit[1]] then
    seen[hit[1]] = true
    local cases_key = p .. 'hh-cases:' .. hit[1]
    local row = {hit[1], hit[4], redis.call('HGET', p .. 'household:' .. hit[1], 'doc') or '', redis.call('ZCARD', cases_key)}
    for _, case_id in ipairs(redis.call('ZRANGE', cases_key, 0, shown - 1, 'REV')) do
      table.insert(row, redis.call('HGET', p .. 'case:' .. case_id, 'summary') or '{}')
    end
    table.insert(results, row)
  end
end
return results
"""


class HouseholdReads:
    """Reads of households: search over the index, and one household with its cases and timeline."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._search = redis.register_script(_SEARCH)

    async def search(self, lookups: list[Lookup], scope: tuple[str, str] | None, limit: int, cases_shown: int) -> list[dict]:
        """Households found by the lookups within the scope (field, code), best first, each with its latest cases."""
        if not lookups:
            return []
        scope_key = readmodel.households_in_key(*scope) if scope else ""
        args = [
            scope_key,
            limit,
            cases_shown,
            len(lookups),
            *(part for lookup in lookups for part in (lookup.kind, lookup.value, lookup.tier)),
        ]
        rows = await self._search(keys=[readmodel.PREFIX], args=args)
        return [
            {
                "household_id": household_id.decode(),
                "lookup": lookups[index],
                "household": orjson.loads(doc) if doc else None,
                "cases_total": cases_total,
                "cases": [orjson.loads(summary) for summary in summaries],
            }
            for household_id, index, doc, cases_total, *summaries in rows
        ]

    async def view(self, household_id: str) -> dict | None:
        """A household's view alone (members, factors, programme advice), or None when unknown."""
        doc = await self.redis.hget(readmodel.household_key(household_id), "doc")
        return orjson.loads(doc) if doc else None

    async def household(self, household_id: str, timeline_kept: int, read_by: dict[str, str] | None = None) -> dict | None:
        """A household's view, its cases (newest first) and timeline (the latest timeline_kept entries), or None when unknown;
        a person's read is written to the access log in the same round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(readmodel.household_key(household_id), "doc")
            pipe.zrange(readmodel.household_cases_key(household_id), 0, -1, desc=True)
            pipe.zrange(readmodel.household_timeline_key(household_id), -timeline_kept, -1, withscores=True)
            pipe.zcard(readmodel.household_timeline_key(household_id))
            doc, case_ids, timeline, timeline_total = await pipe.execute()
        if doc is None:
            return None
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in case_ids:
                pipe.hget(readmodel.case_key(case_id.decode()), "summary")
            if read_by is not None:
                entry = {"household_id": household_id, **read_by}
                pipe.xadd(readmodel.ACCESS_LOG, entry, maxlen=readmodel.ACCESS_LOG_KEPT, approximate=True)
            summaries = (await pipe.execute())[: len(case_ids)]
        return {
            "household": orjson.loads(doc),
            "cases": [orjson.loads(summary) for summary in summaries if summary],
            "timeline": [entry for _, entry in sorted(((at, orjson.loads(raw)) for raw, at in timeline), key=_in_step_order)],
            "timeline_total": timeline_total,
        }


async def _case_docs(redis: Redis, case_ids: list[str]) -> dict[str, dict]:
    """The case documents of these ids that exist, by id."""
    async with redis.pipeline(transaction=False) as pipe:
        for case_id in case_ids:
            pipe.hget(readmodel.case_key(case_id), "doc")
        return {case_id: orjson.loads(doc) for case_id, doc in zip(case_ids, await pipe.execute(), strict=True) if doc is not None}


async def referral_case(redis: Redis, referral_id: str) -> dict | None:
    """The case document a referral is on now: the case its id names, or the case that absorbed it in a merge."""
    found = await referred_cases(redis, [referral_id])
    return found[0][1] if found else None


async def referred_cases(redis: Redis, referral_ids: list[str]) -> list[tuple[str, dict]]:
    """Each referral id with the case document it is on now (ids whose case is gone left out), in the order given."""
    # The id names its case (R{n}-{case_id}): one read of each case, then of the cases that absorbed some of them.
    case_of = {rid: rid.partition("-")[2] for rid in referral_ids}
    docs = await _case_docs(redis, list(dict.fromkeys(case_of.values())))
    survivors = await _case_docs(redis, list({doc["merged_into"] for doc in docs.values() if doc.get("merged_into")}))
    now_on = {case_id: survivors.get(doc.get("merged_into"), doc) for case_id, doc in docs.items()}
    return [(rid, now_on[case_id]) for rid, case_id in case_of.items() if case_id in now_on]


async def referral_ids(redis: Redis, key: str) -> list[str]:
    """The referral ids of a referral set, newest first."""
    return [rid.decode() for rid in await redis.zrange(key, 0, -1, desc=True)]


async def visits_due(redis: Redis, group: str, scope: tuple[str, str] | None, until_ms: int | None, limit: int) -> tuple[list[dict], int]:
    """The views of households with visits of a group (follow_ups, watch) due in the scope (field, code), earliest due first,
    only those due by until_ms when given; and how many households the list has in all."""
    key = readmodel.visits_due_key(group, *scope) if scope else readmodel.visits_due_key(group)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrangebyscore(key, "-inf", "+inf" if until_ms is None else until_ms, start=0, num=limit)
        pipe.zcard(key)
        household_ids, total = await pipe.execute()
    async with redis.pipeline(transaction=False) as pipe:
        for household_id in household_ids:
            pipe.hget(readmodel.household_key(household_id.decode()), "doc")
        docs = await pipe.execute()
    return [orjson.loads(doc) for doc in docs if doc], total


async def case_summaries(redis: Redis, case_ids: list[str]) -> dict[str, dict]:
    """The summaries of the cases by id (those the read model has)."""
    async with redis.pipeline(transaction=False) as pipe:
        for case_id in case_ids:
            pipe.hget(readmodel.case_key(case_id), "summary")
        summaries = await pipe.execute()
    return {case_id: orjson.loads(summary) for case_id, summary in zip(case_ids, summaries, strict=True) if summary}
