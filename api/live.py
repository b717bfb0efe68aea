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

from api.views import masked_case
from schemas import readmodel

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Entry:
    """One live update, decoded at most once however many clients receive it."""

    entry_id: str
    data: bytes

    @cached_property
    def update(self) -> dict:
        """The update as sent: {"type", "case"}."""
        return orjson.loads(self.data)

    @cached_property
    def masked(self) -> bytes:
        """The update with the caller's phone masked, for readers who do not call back."""
        return orjson.dumps({**self.update, "case": masked_case(self.update["case"])})


def _entries(raw: list) -> list[Entry]:
    return [Entry(entry_id.decode(), fields[b"data"]) for entry_id, fields in raw]


def _after(entry_id: str, last_id: str) -> bool:
    """Whether a stream entry id comes after another (ids are 'milliseconds-sequence')."""
    ms, seq = entry_id.split("-")
    last_ms, last_seq = last_id.split("-")
    return (int(ms), int(seq)) > (int(last_ms), int(last_seq))


class LiveHub:
    """Reads the live stream once and hands each entry to every subscriber's bounded queue."""

    def __init__(self, redis_url: str, per_token: int, queue_size: int = 1000, block_ms: int = 2000) -> None:
        # A connection of its own: a blocking XREAD must never take one of the pool that serves reads.
        self._redis = Redis.from_url(redis_url, single_connection_client=True)
        # Resumes read their backlog through a few connections, waiting their turn rather than failing.
        self._backlog = Redis(connection_pool=BlockingConnectionPool.from_url(redis_url, max_connections=4, timeout=10))
        self.per_token = per_token
        self.queue_size = queue_size
        self.block_ms = block_ms
        self._queues: set[asyncio.Queue] = set()
        self._per_token: Counter[str] = Counter()
        self._task: asyncio.Task | None = None

    @property
    def clients(self) -> int:
        """How many live connections this process serves now."""
        return len(self._queues)

    async def start(self) -> None:
        """Start reading the stream from its current end."""
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
                self._deliver(entries)

    def _deliver(self, entries: list[Entry]) -> None:
        for queue in list(self._queues):
            for entry in entries:
                if queue.qsize() >= self.queue_size:  # this far behind: end its feed; it resumes with Last-Event-ID
                    queue.put_nowait(None)
                    self._queues.discard(queue)
                    break
                queue.put_nowait(entry)

    def has_room(self, token: str) -> bool:
        """Whether the token may open another live connection."""
        return self._per_token[token] < self.per_token

    @asynccontextmanager
    async def subscription(self, token: str):
        """A queue of new entries for one client, counted against its token."""
        self._per_token[token] += 1
        # One slot is kept for the end-of-feed marker put when the client falls too far behind.
        queue: asyncio.Queue = asyncio.Queue(self.queue_size + 1)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)
            self._per_token[token] -= 1
            if not self._per_token[token]:
                del self._per_token[token]

    async def updates(self, token: str, last_id: str | None) -> AsyncIterator[Entry]:
        """Entries after last_id (or from now), then live ones, until the client falls too far behind."""
        async with self.subscription(token) as queue:
            if last_id:
                # Subscribed first, so nothing falls between the backlog read and the live entries.
                for entry in _entries(await self._backlog.xrange(readmodel.LIVE_STREAM, f"({last_id}", "+")):
                    last_id = entry.entry_id
                    yield entry
            while (entry := await queue.get()) is not None:
                if last_id is None or _after(entry.entry_id, last_id):
                    yield entry
