"""The live feed's fan-out: one Redis reader per API process, every SSE client served from it."""

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property

import orjson
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from api.auth import Principal
from api.privilege import calls_back, masked_case
from schemas import readmodel

log = logging.getLogger(__name__)
KEEP_ALIVE = b": keep-alive\n\n"


# Characters JSON may carry raw that clients splitting lines like Python's str.splitlines (httpx, httpx-sse) take as line
# ends, cutting an event's data in two: a caller's text can hold them. Escaped, the JSON says the same.
_LINE_BREAKING = ((b"\xc2\x85", b"\\u0085"), (b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def _frame(entry_id: str, data: bytes) -> bytes:
    for raw, escaped in _LINE_BREAKING:
        data = data.replace(raw, escaped)
    return b"event: case\ndata: " + data + b"\nid: " + entry_id.encode() + b"\n\n"


@dataclass(eq=False)
class Entry:
    """One live update, decoded and framed at most once however many clients receive it."""

    entry_id: str
    data: bytes

    @cached_property
    def update(self) -> dict:
        """The update as written: {"type", "case"}."""
        return orjson.loads(self.data)

    @property
    def case(self) -> dict:
        """The case the update carries."""
        return self.update["case"]

    @cached_property
    def frame(self) -> bytes:
        """The update as a Server-Sent Event."""
        return _frame(self.entry_id, self.data)

    @cached_property
    def masked_frame(self) -> bytes:
        """The update as a Server-Sent Event with the caller's phone masked, for readers who do not call back."""
        return _frame(self.entry_id, orjson.dumps({**self.update, "case": masked_case(self.case)}))


class Batch:
    """Entries read together, sent to each client as one chunk, built once per role however many clients hold it."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self._chunks: dict[str, bytes] = {}

    def chunk(self, principal: Principal) -> bytes:
        """What of the batch this reader may see, as Server-Sent Events (a reader's view depends on its role alone)."""
        chunk = self._chunks.get(principal.role)
        if chunk is None:
            chunk = self._chunks[principal.role] = b"".join(
                entry.frame if calls_back(principal, entry.case) else entry.masked_frame
                for entry in self.entries
                if principal.may_see(entry.case)
            )
        return chunk


def _entries(raw: list) -> list[Entry]:
    return [Entry(entry_id.decode(), fields[b"data"]) for entry_id, fields in raw]


def _after(entry_id: str, last_id: str) -> bool:
    """Whether a stream entry id comes after another (ids are 'milliseconds-sequence')."""
    ms, seq = entry_id.split("-")
    last_ms, last_seq = last_id.split("-")
    return (int(ms), int(seq)) > (int(last_ms), int(last_seq))


class LiveHub:
    """Reads the live stream once and hands each batch of entries to every subscriber's bounded queue."""

    def __init__(self, redis_url: str, per_token: int, queue_batches: int = 200, block_ms: int = 2000, gather_s: float = 0.05) -> None:
        # A connection of its own: a blocking XREAD must never take one of the pool that serves reads.
        self._redis = Redis.from_url(redis_url, single_connection_client=True)
        # Resumes read their backlog through a few connections, waiting their turn rather than failing.
        self._backlog = Redis(connection_pool=BlockingConnectionPool.from_url(redis_url, max_connections=4, timeout=10))
        self.per_token = per_token
        self.queue_batches = queue_batches
        self.block_ms = block_ms
        self.gather_s = gather_s
        self._queues: set[asyncio.Queue] = set()
        self._per_token: Counter[str] = Counter()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Start reading the stream from its newest entry."""
        self._task = asyncio.create_task(self._read(), name="live-hub")

    async def stop(self) -> None:
        """Stop reading and close both connections."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._redis.aclose()
        await self._backlog.aclose()

    async def _read(self) -> None:
        # Each read continues from the last id seen, not "$": an entry written between two reads must not be missed.
        last_id = None
        while True:
            try:
                if last_id is None:
                    newest = await self._redis.xrevrange(readmodel.LIVE_STREAM, count=1)
                    last_id = newest[0][0].decode() if newest else "0-0"
                batches = await self._redis.xread({readmodel.LIVE_STREAM: last_id}, count=500, block=self.block_ms)
            except RedisError as error:
                log.warning("live feed: Redis read failed (%r); retrying", error)
                await asyncio.sleep(1)
                continue
            entries = [entry for _, raw in batches for entry in _entries(raw)]
            if entries:
                last_id = entries[-1].entry_id
                self._deliver(Batch(entries))
                # Let the next updates gather: one send per client carries several, at the cost of gather_s of latency.
                await asyncio.sleep(self.gather_s)

    def _deliver(self, batch: Batch) -> None:
        for queue in list(self._queues):
            if queue.qsize() >= self.queue_batches:  # this far behind: end its feed; it resumes with Last-Event-ID
                queue.put_nowait(None)
                self._queues.discard(queue)
            else:
                queue.put_nowait(batch)

    def has_room(self, token: str) -> bool:
        """Whether the token may open another live connection."""
        return self._per_token[token] < self.per_token

    @asynccontextmanager
    async def subscription(self, token: str):
        """A queue of new batches for one client, counted against its token."""
        self._per_token[token] += 1
        queue: asyncio.Queue = asyncio.Queue(self.queue_batches + 1)  # the last slot holds the end-of-feed marker
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
            self._per_token[token] -= 1
            if not self._per_token[token]:
                del self._per_token[token]

    async def batches(self, token: str, last_id: str | None, keep_alive_s: float = 15) -> AsyncIterator[Batch | None]:
        """Batches of entries after last_id (or from now), then live ones; None when idle for keep_alive_s."""
        async with self.subscription(token) as queue:
            if last_id:
                # Subscribed first, so nothing falls between the backlog read and the live entries.
                backlog = _entries(await self._backlog.xrange(readmodel.LIVE_STREAM, f"({last_id}", "+"))
                if backlog:
                    last_id = backlog[-1].entry_id
                    yield Batch(backlog)
            while True:
                try:
                    batch = await asyncio.wait_for(queue.get(), keep_alive_s)
                except TimeoutError:
                    yield None
                    continue
                if batch is None:
                    return
                if last_id is not None:  # until the live entries have passed the backlog
                    newer = [entry for entry in batch.entries if _after(entry.entry_id, last_id)]
                    if not newer:
                        continue
                    batch, last_id = (batch if len(newer) == len(batch.entries) else Batch(newer)), None
                yield batch
