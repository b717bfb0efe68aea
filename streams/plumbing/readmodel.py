"""The Redis read model: case events and dead letters written as idempotent, batched projections."""

import logging
from datetime import datetime

import orjson
from redis.asyncio import Redis

from schemas import readmodel, topics
from streams.rules.report import fact_of as report_fact_of
from streams.rules.search import household_tokens

log = logging.getLogger(__name__)

# Applies one case event if its version is newer than the stored one: the case document, its
# index sets, timeline, ordering by due time, the event's result, counters and the live stream,
# and on the household's side the case in its cases (moved from another household's if the case moved, its entries on
# that household's timeline joining this one's: the case's history goes with it).
# ARGV: case id, version, doc, timeline entry, sort score, live payload, live cap, event id, result state, urgency,
# reason, result ttl, household id, opening time, case summary, N, then N index (field, value) pairs, then counters.
_APPLY_CASE_EVENT = """
local p = KEYS[1]
if KEYS[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local id = ARGV[1]
local key = p .. 'case:' .. id
local version = tonumber(ARGV[2])
if version <= tonumber(redis.call('HGET', key, 'version') or '0') then return 0 end
local household = ARGV[13]
local previous = redis.call('HGET', key, 'household')
if previous and previous ~= household then
  redis.call('ZREM', p .. 'hh-cases:' .. previous, id)
  -- Each case's events are applied in version order (live and in a rebuild), so all of its earlier entries are there.
  local left = redis.call('ZRANGE', p .. 'hh-timeline:' .. previous, 0, -1, 'WITHSCORES')
  for i = 1, #left, 2 do
    if cjson.decode(left[i]).case_id == id then redis.call('ZADD', p .. 'hh-timeline:' .. household, left[i + 1], left[i]) end
  end
end
redis.call('ZADD', p .. 'hh-cases:' .. household, ARGV[14], id)
local n = tonumber(ARGV[16])
local status
redis.call('HSET', key, 'version', version, 'doc', ARGV[3], 'household', household, 'summary', ARGV[15])
for i = 0, n - 1 do
  local field, new = ARGV[17 + 2 * i], ARGV[18 + 2 * i]
  local old = redis.call('HGET', key, 'idx:' .. field)
  if old ~= new then
    if old then redis.call('SREM', p .. 'idx:' .. field .. ':' .. old, id) end
    redis.call('SADD', p .. 'idx:' .. field .. ':' .. new, id)
    redis.call('HSET', key, 'idx:' .. field, new)
  end
  if field == 'status' then status = new end
end
redis.call('RPUSH', key .. ':timeline', ARGV[4])
if status == 'closed' then
  redis.call('ZREM', p .. 'cases:open', id)
  redis.call('ZADD', p .. 'cases:closed', ARGV[5], id)
else
  redis.call('ZREM', p .. 'cases:closed', id)
  redis.call('ZADD', p .. 'cases:open', ARGV[5], id)
end
if ARGV[8] ~= '' then
  local result = p .. 'event:' .. ARGV[8]
  redis.call('HSET', result, 'state', ARGV[9], 'case_id', id, 'urgency', ARGV[10], 'reason', ARGV[11])
  redis.call('EXPIRE', result, ARGV[12])
end
for i = 17 + 2 * n, #ARGV do redis.call('HINCRBY', p .. 'stats', ARGV[i], 1) end
redis.call('XADD', p .. 'live', 'MAXLEN', '~', ARGV[7], '*', 'data', ARGV[6])
return 1
"""

# Applies a household view if its version is newer than the stored one: the view, the search tokens and areas it
# is indexed under (those it no longer has removed, every one rescored by its last activity), and the lists of visits due
# it is on. ARGV: household id, version, doc, last activity (epoch ms), tokens (JSON list), areas (JSON list of
# 'town:<code>' and 'village:<code>'), visit indexes (JSON object: key → earliest due time in epoch ms).
_APPLY_HOUSEHOLD = """
local p = KEYS[1]
if KEYS[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local id = ARGV[1]
local key = p .. 'household:' .. id
if tonumber(ARGV[2]) <= tonumber(redis.call('HGET', key, 'version') or '0') then return 0 end
local function reindex(field, new_json, prefix, add, remove)
  local new = cjson.decode(new_json)
  local kept = {}
  for _, value in ipairs(new) do kept[value] = true end
  for _, value in ipairs(cjson.decode(redis.call('HGET', key, field) or '[]')) do
    if not kept[value] then remove(p .. prefix .. value) end
  end
  for _, value in ipairs(new) do add(p .. prefix .. value) end
end
reindex('tokens', ARGV[5], 'sx:', function(k) redis.call('ZADD', k, ARGV[4], id) end, function(k) redis.call('ZREM', k, id) end)
reindex('areas', ARGV[6], 'hh-in:', function(k) redis.call('SADD', k, id) end, function(k) redis.call('SREM', k, id) end)
local due = cjson.decode(ARGV[7])
for _, index in ipairs(cjson.decode(redis.call('HGET', key, 'visit_keys') or '[]')) do
  if due[index] == nil then redis.call('ZREM', p .. index, id) end
end
local indexes = {}
for index, due_ms in pairs(due) do
  redis.call('ZADD', p .. index, due_ms, id)
  indexes[#indexes + 1] = index
end
table.sort(indexes)  -- a stable field, so the live read model and a rebuild agree
local visit_keys = #indexes > 0 and cjson.encode(indexes) or '[]'
redis.call('HSET', key, 'version', ARGV[2], 'doc', ARGV[3], 'at', ARGV[4], 'tokens', ARGV[5], 'areas', ARGV[6], 'visit_keys', visit_keys)
return 1
"""

# Records the final result of an intake event that has no case event (timeline only, or
# dead-lettered) once: a replay finds the result already there and counts nothing.
_RECORD_RESULT = """
local p = KEYS[1]
if KEYS[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local result = p .. 'event:' .. ARGV[1]
if redis.call('HGET', result, 'state') == ARGV[2] then return 0 end
redis.call('HSET', result, 'state', ARGV[2], 'case_id', '', 'urgency', ARGV[3], 'reason', ARGV[4])
redis.call('EXPIRE', result, ARGV[5])
if ARGV[6] ~= '' then
  redis.call('LPUSH', p .. 'deadletters', ARGV[6])
  redis.call('LTRIM', p .. 'deadletters', 0, tonumber(ARGV[7]) - 1)
end
for i = 8, #ARGV do redis.call('HINCRBY', p .. 'stats', ARGV[i], 1) end
return 1
"""

# Sets each key to its digest unless it holds one, in order (a repeat within the batch sees the first), and returns
# what each key held before ('' when it was new). One script call per batch: a pipeline costs the client per command.
# Refused (-1) while the read model is incomplete: a rebuild first restores the claims a lost Redis held.
_CLAIM_DIGESTS = """
if ARGV[2] ~= '' and redis.call('EXISTS', ARGV[2]) == 0 then return -1 end
local found = {}
for i, key in ipairs(KEYS) do
  found[i] = redis.call('SET', key, ARGV[i + 2], 'NX', 'GET', 'EX', ARGV[1]) or ''
end
return found
"""

# Replaces claims with their routed values, keeping their time to live (a claim that expired meanwhile stays gone).
_RECORD_ROUTES = """
for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i], 'XX', 'KEEPTTL') end
return #KEYS
"""

SIGNAL_OUTCOMES = {"opened": "opened", "signal_attached": "attached", "signal_recorded": "recorded"}


def _result_state(event: dict) -> str:
    """The result an event gives the input or command that caused it."""
    return "rejected" if event["type"] == "command_rejected" else "processed"


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def case_event_counters(event: dict) -> list[str]:
    """The stats counters one case event increments."""
    counters = [f"case_events:{event['type']}"]
    outcome = SIGNAL_OUTCOMES.get(event["type"])
    if outcome:
        counters += [f"signals:{outcome}", f"events:{event['data']['source']}"]
    if event["type"] == "opened":
        case = event["case"]
        counters.append(f"cases_opened:{case['priority']}:{case['track']}")
    if event["type"] == "escalated":
        counters.append(f"escalations:{event['data']['to']}")
    return counters


class ReadModelIncomplete(Exception):
    """The read model lacks its completeness mark (a Redis that came back empty): it must be rebuilt first."""


class ReadModelWriter:
    """Writes batches of aid.case-events and aid.deadletter records to Redis in one pipeline.

    A guarded writer (the worker's) writes only into a complete read model; the rebuild's writer is not guarded.
    """

    def __init__(self, redis: Redis, result_ttl_s: int, live_length: int, guarded: bool = True) -> None:
        self.redis = redis
        self.guard = readmodel.COMPLETE if guarded else ""
        self.result_ttl_s = result_ttl_s
        self.live_length = live_length
        self._apply_case_event = redis.register_script(_APPLY_CASE_EVENT)
        self._record_result = redis.register_script(_RECORD_RESULT)
        self._apply_household = redis.register_script(_APPLY_HOUSEHOLD)
        self._claim_digests = redis.register_script(_CLAIM_DIGESTS)
        self._record_routes = redis.register_script(_RECORD_ROUTES)

    async def apply(self, records: list[tuple[str, bytes]]) -> None:
        """Project records (topic, value) in order; safe to repeat after a failure."""
        pipe = self.redis.pipeline(transaction=False)
        for topic, raw in records:
            try:
                document = orjson.loads(raw)
                if topic == topics.DEADLETTER:
                    await self._dead_letter(pipe, document, raw)
                else:
                    if document["case"] is not None:
                        await self._case_event(pipe, document)
                    else:
                        self._household_entry(pipe, document)
                        if document["event_id"]:
                            await self._result_only(pipe, document)
                    if document.get("household"):
                        await self._household(pipe, document)
                    self._report_fact(pipe, document)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                # Only a foreign producer writes these topics wrongly; skipping keeps the read model moving.
                log.error("unreadable record on %s skipped: %r", topic, error)
                pipe.hincrby(readmodel.STATS, f"projection_errors:{topic}", 1)
        if -1 in await pipe.execute():
            raise ReadModelIncomplete("the read model is being rebuilt from the log")

    async def claim_digests(self, claims: list[tuple[str, str]]) -> list[str | None]:
        """Record each (event id, content digest) unless the id has a claim, in one call; the claims already there (None: new)."""
        keys = [readmodel.record_digest_key(event_id) for event_id, _ in claims]
        found = await self._claim_digests(keys=keys, args=[self.result_ttl_s, self.guard, *(digest for _, digest in claims)])
        if found == -1:
            raise ReadModelIncomplete("the read model is being rebuilt from the log")
        return [earlier.decode() if earlier else None for earlier in found]

    async def record_routes(self, routes: list[tuple[str, str]]) -> None:
        """Complete claims (event id, routed claim value) once intake has decided where their events go, in one call."""
        if routes:
            await self._record_routes(keys=[readmodel.record_digest_key(event_id) for event_id, _ in routes], args=[v for _, v in routes])

    async def _case_event(self, pipe, event: dict) -> None:
        case = event["case"]
        sort_time = case["closed_at"] or case["due_at"] or case["opened_at"]
        timeline_entry = {k: event[k] for k in ("type", "version", "at", "actor", "event_id", "data")}
        # Case events logged before actor_name existed have none; rebuild-read-model replays them too.
        timeline_entry["actor_name"] = event.get("actor_name")
        # The household's timeline joins events of several cases, which a move spreads over partitions: ordered by time (then
        # by content), not by arrival, so the live read model and a rebuild from the log agree.
        household_entry = orjson.dumps({**timeline_entry, "case_id": case["case_id"]})
        pipe.zadd(readmodel.household_timeline_key(case["household_id"]), {household_entry: _epoch_ms(event["at"])})
        indexed = [value for field in readmodel.INDEXED_FIELDS for value in (field, readmodel.index_value(case, field))]
        await self._apply_case_event(
            keys=[readmodel.PREFIX, self.guard],
            args=[
                case["case_id"],
                event["version"],
                orjson.dumps(case),
                orjson.dumps(timeline_entry),
                _epoch_ms(sort_time),
                orjson.dumps({"type": event["type"], "case": case}),
                self.live_length,
                event["event_id"] or "",
                _result_state(event),
                case["urgency"],
                event["data"].get("reason", ""),
                self.result_ttl_s,
                case["household_id"],
                _epoch_ms(case["opened_at"]),
                orjson.dumps(readmodel.case_summary(case)),
                len(readmodel.INDEXED_FIELDS),
                *indexed,
                *case_event_counters(event),
            ],
            client=pipe,
        )
        self._referral(pipe, event)

    def _referral(self, pipe, event: dict) -> None:
        """A new referral in the sets its partner and the officers of its case's area read (idempotent: a replay re-adds it)."""
        if event["type"] != "referred":
            return
        referred = {event["data"]["referral_id"]: _epoch_ms(event["at"])}
        for key in readmodel.referral_keys(event["case"], event["data"]["partner"]):
            pipe.zadd(key, referred)

    def _report_fact(self, pipe, event: dict) -> None:
        """The event's report fact, if a figure counts it: rewriting the same field with the same fact keeps it idempotent."""
        found = report_fact_of(event)
        if found is not None:
            month, field, fact = found
            pipe.hset(readmodel.report_key(month), field, orjson.dumps(fact))

    def _household_entry(self, pipe, event: dict) -> None:
        """An event of the household's own (no case) on its timeline: a signal on a case is there as the case's event."""
        entry = orjson.dumps({k: event.get(k) for k in ("type", "version", "at", "actor", "actor_name", "event_id", "data", "case_id")})
        pipe.zadd(readmodel.household_timeline_key(event["household_id"]), {entry: _epoch_ms(event["at"])})

    async def _household(self, pipe, event: dict) -> None:
        view = event["household"]
        areas = [f"{field}:{area[field]}" for area in view["areas"] for field in ("town", "village")]
        await self._apply_household(
            keys=[readmodel.PREFIX, self.guard],
            args=[
                view["household_id"],
                view["version"],
                orjson.dumps(view),
                _epoch_ms(view["last_signal_at"] or event["at"]),
                orjson.dumps(household_tokens(view)),
                orjson.dumps(sorted(set(areas))),
                orjson.dumps(readmodel.visit_index(view)),
            ],
            client=pipe,
        )

    async def _result_only(self, pipe, event: dict) -> None:
        await self._record_result(
            keys=[readmodel.PREFIX, self.guard],
            args=[
                event["event_id"],
                _result_state(event),
                event["data"].get("score", ""),
                event["data"].get("reason", ""),
                self.result_ttl_s,
                "",
                0,
                *case_event_counters(event),
            ],
            client=pipe,
        )

    async def _dead_letter(self, pipe, letter: dict, raw: bytes) -> None:
        await self._record_result(
            keys=[readmodel.PREFIX, self.guard],
            args=[
                letter["event_id"],
                "rejected",
                "",
                letter["reason"],
                self.result_ttl_s,
                raw,
                readmodel.DEADLETTERS_KEPT,
                f"deadletters:{letter['source_topic']}",
            ],
            client=pipe,
        )
