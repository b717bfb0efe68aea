"""Explicit topic creation: a broker's auto-create would pick its own partition count."""

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas import topics
from streams.config import WorkerSettings

# The log is the truth and the audit record: event topics are kept forever (a broker's default deletes after 7 days, and a
# rebuild or a table recovery would then start from a partial history); a table's changelog keeps each key's latest value.
KEPT_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
COMPACTED = {"cleanup.policy": "compact"}


def changelog_names(settings: WorkerSettings) -> list[str]:
    """The changelog topics of the worker's tables."""
    return [f"{settings.app_id}-{table}-changelog" for table in ("households", "persons")]


def topic_names(settings: WorkerSettings) -> list[str]:
    """Every topic the system uses, including the tables' changelogs."""
    return [*topics.ALL_TOPICS, *changelog_names(settings)]


def new_topic(name: str, settings: WorkerSettings) -> NewTopic:
    """A topic with the configured partitions and replication, compacted if it is a changelog, else kept forever."""
    configs = COMPACTED if name in changelog_names(settings) else KEPT_FOREVER
    return NewTopic(name, settings.partitions, settings.replication, topic_configs=configs)


@asynccontextmanager
async def connected_admin(settings: WorkerSettings, attempts: int = 30) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client connected to the broker, waiting for a broker that may still be starting."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    for attempt in range(attempts):
        try:
            await admin.start()
            break
        except Exception:  # the broker may still be starting
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
    try:
        yield admin
    finally:
        await admin.close()


async def absent_topics(admin: AIOKafkaAdminClient, names: Iterable[str]) -> list[str]:
    """Those of the topics the broker does not have, from its own metadata."""
    existing = set(await admin.list_topics())
    return [name for name in names if name not in existing]


class BrokerTopics:
    """The broker's own list of topics, asked over one admin connection of its own, opened at first use."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.admin: AIOKafkaAdminClient | None = None

    async def missing(self, names: Iterable[str]) -> list[str]:
        """Those of the topics the broker does not have."""
        if self.admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
            await admin.start()  # a broker away: no connection is kept, the next call tries again
            self.admin = admin
        return await absent_topics(self.admin, names)


async def ensure_topics(settings: WorkerSettings, attempts: int = 30) -> None:
    """Create missing topics with the configured partition count and replication; fail on a partition count that differs."""
    async with connected_admin(settings, attempts) as admin:
        await create_missing(admin, settings, await absent_topics(admin, topic_names(settings)), attempts)


async def create_missing(admin: AIOKafkaAdminClient, settings: WorkerSettings, missing: list[str], attempts: int = 30) -> None:
    """Create the missing topics of the system and wait until the broker knows them all; fail on a partition count that differs."""
    if missing:
        await admin.create_topics([new_topic(name, settings) for name in missing])
    wanted = topic_names(settings)
    described = await describe_when_known(admin, wanted, attempts)
    if unknown := [t["topic"] for t in described if t["error_code"]]:
        raise SystemExit(f"topics still unknown to the broker after their creation: {unknown}")
    wrong = {t["topic"]: len(t["partitions"]) for t in described if len(t["partitions"]) != settings.partitions}
    if wrong:
        raise SystemExit(f"topics exist with a partition count other than {settings.partitions}: {wrong}")


async def describe_when_known(admin: AIOKafkaAdminClient, names: list[str], attempts: int) -> list[dict]:
    """The topics' descriptions, waiting for the broker to know them all: Apache Kafka answers a creation before the new
    topics reach its metadata (described meanwhile as unknown, or with no partitions yet)."""
    for _ in range(attempts - 1):
        described = await admin.describe_topics(names)
        if not any(t["error_code"] or not t["partitions"] for t in described):
            return described
        await asyncio.sleep(0.2)
    return await admin.describe_topics(names)
