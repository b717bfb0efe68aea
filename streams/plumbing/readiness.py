"""The worker's readiness report: which partitions it holds and can process now, in Redis for the API's /readyz."""

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable

import faust
import mode
import orjson
from aiokafka import TopicPartition
from redis.asyncio import Redis
from redis.exceptions import RedisError

from schemas import readmodel

log = logging.getLogger(__name__)


class Readiness(mode.Service):
    """Reports each second the partitions this worker's consumer groups hold, once its tables are recovered."""

    def __init__(self, app: faust.App, redis: Redis, **kwargs) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.redis = redis
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.groups: dict[str, Callable[[], Iterable[TopicPartition]]] = {}
        self.ready_logged = False

    def holds(self, group: str, assignment: Callable[[], Iterable[TopicPartition]]) -> None:
        """Register a consumer group's assignment to report."""
        self.groups[group] = assignment

    def held(self) -> dict[str, list[str]]:
        """What each group holds and can process now: nothing during a rebalance or table recovery."""
        if self.app.rebalancing or not self.app.tables.recovery.completed.is_set():
            return {}
        wanted = readmodel.WORKER_GROUPS
        return {
            group: sorted(f"{tp.topic}:{tp.partition}" for tp in assignment() if tp.topic in wanted[group])
            for group, assignment in self.groups.items()
        }

    @mode.Service.timer(1.0)
    async def _report(self) -> None:
        groups = self.held()
        try:
            await self.redis.hset(readmodel.WORKERS, self.worker_id, orjson.dumps({"at": time.time(), "groups": groups}))
        except RedisError as error:
            log.warning("readiness not reported: %r", error)
            return
        if groups and all(groups.values()) and not self.ready_logged:
            self.ready_logged = True
            log.info("Can process calls: holds %s", {group: len(tps) for group, tps in groups.items()})

    async def on_stop(self) -> None:
        with contextlib.suppress(RedisError):  # else the report goes stale within seconds anyway
            await self.redis.hdel(readmodel.WORKERS, self.worker_id)
