"""The Redis read model: case events and dead letters written as idempotent, batched projections."""

import logging
from collections.abc import Iterator
from datetime import datetime

import orjson
from redis.asyncio import Redis

from schemas import readmodel, topics
from streams.rules.report import fact_of as report_fact_of
from streams.rules.search import household_tokens

log = logging.getLogger(__name__)

# One script call applies a chunk of records: redis-py costs about 100 µs per pipelined command on this machine kind, a
# whole case event's projection took several, and a script argument costs it well under one. ARGV is a sequence of
# operations, each its name, its argument count, then its arguments; the guard is checked once for the chunk.
_APPLY_BATCH = """
local p = KEYS[1]
if KEYS[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 0 then return -1 end

-- One case event if its version is newer than the stored one: the case document, its index sets, timeline, ordering by
-- due time, the event's result, counters and the live stream, and on the household's side the case in its cases (moved
-- from another household's if the case moved, its entries on that household's timeline joining this one's: the case's
-- history goes with it). Arguments: case id, version, doc, timeline entry, sort score, live payload, live cap, event id,
-- result state, urgency, reason, result ttl, household id, opening time, case summary, N, then N index (field, value)
-- pairs, then counters.
local function case_event(a)
  local id = a[1]
  local key = p .. 'case:' .. id
  local version = tonumber(a[2])
  if version <= tonumber(redis.call('HGET', key, 'version') or '0') then return end
  local household = a[13]
  local previous = redis.call('HGET', key, 'household')
  if previous and previous ~= household then
    redis.call('ZREM', p .. 'hh-cases:' .. previous, id)
    -- Each case's events are applied in version order (live and in a rebuild), so all of its earlier entries are there.
    local left = redis.call('ZRANGE', p .. 'hh-timeline:' .. previous, 0, -1, 'WITHSCORES')
    for i = 1, #left, 2 do
      if cjson.decode(left[i]).case_id == id then redis.call('ZADD', p .. 'hh-timeline:' .. household, left[i + 1], left[i]) end
    end
  end
  redis.call('ZADD', p .. 'hh-cases:' .. household, a[14], id)
  local n = tonumber(a[16])
  local status
  redis.call('HSET', key, 'version', version, 'doc', a[3], 'household', household, 'summary', a[15])
  for i = 0, n - 1 do
    local field, new = a[17 + 2 * i], a[18 + 2 * i]
    local old = redis.call('HGET', key, 'idx:' .. field)
    if old ~= new then
      if old then redis.call('SREM', p .. 'idx:' .. field .. ':' .. old, id) end
      redis.call('SADD', p .. 'idx:' .. field .. ':' .. new, id)
      redis.call('HSET', key, 'idx:' .. field, new)
    end
    if field == 'status' then status = new end
  end
  redis.call('RPUSH', key .. ':timeline', a[4])
  if status == 'closed' then
    redis.call('ZREM', p .. 'cases:open', id)
    redis.call('ZADD', p .. 'cases:closed', a[5], id)
  else
    redis.call('ZREM', p .. 'cases:closed', id)
    redis.call('ZADD', p .. 'cases:open', a[5], id)
  end
  if a[8] ~= '' then
    local result = p .. 'event:' .. a[8]
    redis.call('HSET', result, 'state', a[9], 'case_id', id, 'urgency', a[10], 'reason', a[11])
    redis.call('EXPIRE', result, a[12])
  end
  for i = 17 + 2 * n, #a do redis.call('HINCRBY', p .. 'stats', a[i], 1) end
  redis.call('XADD', p .. 'live', 'MAXLEN', '~', a[7], '*', 'data', a[6])
end

-- A household view if its version is newer than the stored one: the view, the search tokens and areas it is indexed
-- under (those it no longer has removed, every one rescored by its last activity), and the lists of visits due it is on.
-- Arguments: household id, version, doc, last activity (epoch ms), tokens (JSON list), areas (JSON list of
-- 'town:<code>' and 'village:<code>'), visit indexes (JSON object: key → earliest due time in epoch ms).
local function household(a)
  local id = a[1]
  local key = p .. 'household:' .. id
  if tonumber(a[2]) <= tonumber(redis.call('HGET', key, 'version') or '0') then return end
  local function reindex(field, new_json, prefix, add, remove)
    local new = cjson.decode(new_json)
    local kept = {}
    for _, value in ipairs(new) do kept[value] = true end
    for _, value in ipairs(cjson.decode(redis.call('HGET', key, field) or '[]')) do
      if not kept[value] then remove(p .. prefix .. value) end
    end
    for _, value in ipairs(new) do add(p .. prefix .. value) end
  end
  reindex('tokens', a[5], 'sx:', function(k) redis.call('ZADD', k, a[4], id) end, function(k) redis.call('ZREM', k, id) end)
  reindex('areas', a[6], 'hh-in:', function(k) redis.call('SADD', k, id) end, function(k) redis.call('SREM', k, id) end)
  local due = cjson.decode(a[7])
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
  redis.call('HSET', key, 'version', a[2], 'doc', a[3], 'at', a[4], 'tokens', a[5], 'areas', a[6], 'visit_keys', visit_keys)
end

-- The result of an intake event or command from a record that has no case (a household's own event, or a dead letter):
-- the result once (a replay finds it there), and the record's counters once per kind of record for the event id, so
-- the counts do not depend on which of an event's records came first (a rebuild reads partitions in another order
-- than they were written). Arguments: event id, state, urgency, reason, ttl, dead letter ('' for none), dead letters
-- kept, what is counted (the record's type), then counters.
local function result(a)
  local key = p .. 'event:' .. a[1]
  if redis.call('HGET', key, 'state') ~= a[2] then
    redis.call('HSET', key, 'state', a[2], 'case_id', '', 'urgency', a[3], 'reason', a[4])
    redis.call('EXPIRE', key, a[5])
    if a[6] ~= '' then
      redis.call('LPUSH', p .. 'deadletters', a[6])
      redis.call('LTRIM', p .. 'deadletters', 0, tonumber(a[7]) - 1)
    end
  end
  if redis.call('HSETNX', key, 'counted:' .. a[8], 1) == 0 then return end
  for i = 9, #a do redis.call('HINCRBY', p .. 'stats', a[i], 1) end
end

local operations = {
  case_event = case_event,
  household = household,
  result = result,
  zadd = function(a) redis.call('ZADD', a[1], a[2], a[3]) end,
  hset = function(a) redis.call('HSET', a[1], a[2], a[3]) end,
  hincrby = function(a) redis.call('HINCRBY', a[1], a[2], 1) end,
}
local i = 1
while i <= #ARGV do
  local count = tonumber(ARGV[i + 1])
  operations[ARGV[i]]({unpack(ARGV, i + 2, i + 1 + count)})
  i = i + 2 + count
end
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


class Operations(list):
    """A chunk's script arguments: each operation's name, its argument count, then its arguments."""

    def add(self, name: str, *args) -> None:
        """Append one operation."""
        self += (name, len(args), *args)


class ReadModelWriter:
    """Writes batches of aid.case-events and aid.deadletter records to Redis, a script call per chunk of records.

    A guarded writer (the worker's) writes only into a complete read model; the rebuild's writer is not guarded.
    """

    CHUNK = 250  # records per script call: Redis runs one call at a time, so a chunk bounds what readers wait for

    def __init__(self, redis: Redis, result_ttl_s: int, live_length: int, guarded: bool = True) -> None:
        self.redis = redis
        self.guard = readmodel.COMPLETE if guarded else ""
        self.result_ttl_s = result_ttl_s
        self.live_length = live_length
        self._apply_batch = redis.register_script(_APPLY_BATCH)
        self._claim_digests = redis.register_script(_CLAIM_DIGESTS)
        self._record_routes = redis.register_script(_RECORD_ROUTES)

    async def apply(self, records: list[tuple[str, bytes]]) -> None:
        """Project records (topic, value) in order; safe to repeat after a failure."""
        for operations in self.chunks(records):
            if await self._apply_batch(keys=[readmodel.PREFIX, self.guard], args=operations) == -1:
                raise ReadModelIncomplete("the read model is being rebuilt from the log")

    def chunks(self, records: list[tuple[str, bytes]]) -> Iterator[Operations]:
        """The script's arguments for records (topic, value), a chunk of records at a time, in order."""
        for start in range(0, len(records), self.CHUNK):
            operations = Operations()
            for topic, raw in records[start : start + self.CHUNK]:
                self._project(operations, topic, raw)
            yield operations

    def _project(self, operations: Operations, topic: str, raw: bytes) -> None:
        try:
            document = orjson.loads(raw)
            if topic == topics.DEADLETTER:
                self._dead_letter(operations, document, raw)
                return
            if document["case"] is not None:
                self._case_event(operations, document)
            else:
                self._household_entry(operations, document)
                if document["event_id"]:
                    self._result_only(operations, document)
            if document.get("household"):
                self._household(operations, document)
            self._report_fact(operations, document)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            # Only a foreign producer writes these topics wrongly; skipping keeps the read model moving.
            log.error("unreadable record on %s skipped: %r", topic, error)
            operations.add("hincrby", readmodel.STATS, f"projection_errors:{topic}")

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

    def _case_event(self, operations: Operations, event: dict) -> None:
        case = event["case"]
        sort_time = case["closed_at"] or case["due_at"] or case["opened_at"]
        timeline_entry = {k: event[k] for k in ("type", "version", "at", "actor", "event_id", "data")}
        # Case events logged before actor_name existed have none; rebuild-read-model replays them too.
        timeline_entry["actor_name"] = event.get("actor_name")
        # The household's timeline joins events of several cases, which a move spreads over partitions: ordered by time (then
        # by content), not by arrival, so the live read model and a rebuild from the log agree.
        household_entry = orjson.dumps({**timeline_entry, "case_id": case["case_id"]})
        operations.add("zadd", readmodel.household_timeline_key(case["household_id"]), _epoch_ms(event["at"]), household_entry)
        indexed = [value for field in readmodel.INDEXED_FIELDS for value in (field, readmodel.index_value(case, field))]
        operations.add(
            "case_event",
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
        )
        self._referral(operations, event)

    def _referral(self, operations: Operations, event: dict) -> None:
        """A new referral in the sets its partner and the officers of its case's area read (idempotent: a replay re-adds it)."""
        if event["type"] != "referred":
            return
        for key in readmodel.referral_keys(event["case"], event["data"]["partner"]):
            operations.add("zadd", key, _epoch_ms(event["at"]), event["data"]["referral_id"])

    def _report_fact(self, operations: Operations, event: dict) -> None:
        """The event's report fact, if a figure counts it: rewriting the same field with the same fact keeps it idempotent."""
        found = report_fact_of(event)
        if found is not None:
            month, field, fact = found
            operations.add("hset", readmodel.report_key(month), field, orjson.dumps(fact))

    def _household_entry(self, operations: Operations, event: dict) -> None:
        """An event of the household's own (no case) on its timeline: a signal on a case is there as the case's event."""
        entry = orjson.dumps({k: event.get(k) for k in ("type", "version", "at", "actor", "actor_name", "event_id", "data", "case_id")})
        operations.add("zadd", readmodel.household_timeline_key(event["household_id"]), _epoch_ms(event["at"]), entry)

    def _household(self, operations: Operations, event: dict) -> None:
        view = event["household"]
        areas = [f"{field}:{area[field]}" for area in view["areas"] for field in ("town", "village")]
        operations.add(
            "household",
            view["household_id"],
            view["version"],
            orjson.dumps(view),
            _epoch_ms(view["last_signal_at"] or event["at"]),
            orjson.dumps(household_tokens(view)),
            orjson.dumps(sorted(set(areas))),
            orjson.dumps(readmodel.visit_index(view)),
        )

    def _result_only(self, operations: Operations, event: dict) -> None:
        operations.add(
            "result",
            event["event_id"],
            _result_state(event),
            event["data"].get("score", ""),
            event["data"].get("reason", ""),
            self.result_ttl_s,
            "",
            0,
            event["type"],
            *case_event_counters(event),
        )

    def _dead_letter(self, operations: Operations, letter: dict, raw: bytes) -> None:
        operations.add(
            "result",
            letter["event_id"],
            "rejected",
            "",
            letter["reason"],
            self.result_ttl_s,
            raw,
            readmodel.DEADLETTERS_KEPT,
            "dead_letter",
            f"deadletters:{letter['source_topic']}",
        )
