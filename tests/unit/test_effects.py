"""A batch's effects: partitions as Kafka's default partitioner, crash-safe write order, retries."""

import asyncio

import pytest
from aiokafka.partitioner import DefaultPartitioner
from redis.exceptions import ConnectionError as RedisConnectionError

from streams.plumbing.effects import Effects, partition_for
from streams.rules.household import HouseholdState


class FakeOutbox:
    partitions = 4

    def __init__(self, log: list) -> None:
        self.log = log

    async def write(self, records) -> None:
        self.log.append(("kafka", [(r.topic, r.partition, r.key) for r in records]))


class FlakyReadModel:
    def __init__(self, log: list, failures: int) -> None:
        self.log = log
        self.failures = failures

    async def apply(self, records) -> None:
        if self.failures:
            self.failures -= 1
            raise RedisConnectionError("down")
        self.log.append(("redis", [topic for topic, _ in records]))


class PartitionedData(dict):
    """Entries by (partition, key), as the stores are addressed."""

    def set_in(self, partition, key, value) -> None:
        self[partition, key] = value


class FakeTable:
    def __init__(self) -> None:
        self.data = PartitionedData()

    class changelog_topic:  # noqa: N801  (mirrors Faust's attribute)
        @staticmethod
        def get_topic_name() -> str:
            return "rapidaid-households-changelog"


@pytest.mark.parametrize("key", [b"HH-370784104200-00001", b"P0123456789abcdef", b"x"])
def test_partition_matches_the_default_partitioner(key):
    assert partition_for(key, 4) == DefaultPartitioner()(key, [0, 1, 2, 3], [0, 1, 2, 3])


def test_commit_writes_read_model_then_outputs_then_changelog_retrying_redis(monkeypatch):
    monkeypatch.setattr("streams.plumbing.effects.RETRY_MAX_S", 0.01)
    log: list = []
    effects = Effects(FakeOutbox(log), FlakyReadModel(log, failures=2))
    table = FakeTable()
    state = HouseholdState(household_id="H1", partition=3)
    effects.set(table, b"H1", state, partition=3)
    effects.send("aid.case-events", b"H1", b"{}", partition=3, project=True)
    effects.send("aid.notifications", b"town:370784104", b"{}")
    asyncio.run(effects.commit())
    assert table.data[3, b"H1"] is state
    assert log == [
        ("redis", ["aid.case-events"]),
        ("kafka", [("aid.case-events", 3, b"H1"), ("aid.notifications", partition_for(b"town:370784104", 4), b"town:370784104")]),
        ("kafka", [("rapidaid-households-changelog", 3, b"H1")]),
    ]
    assert HouseholdState.model_validate_json(effects.changelog()[0].value) == state


def test_an_entry_set_twice_in_a_batch_has_one_changelog_record_with_its_last_value():
    effects = Effects(FakeOutbox([]), FlakyReadModel([], failures=0))
    table = FakeTable()
    first, last = HouseholdState(household_id="H1", partition=3), HouseholdState(household_id="H1", partition=3, version=2)
    effects.set(table, b"H1", first, partition=3)
    effects.set(table, b"H2", first, partition=1)
    effects.set(table, b"H1", last, partition=3)
    assert [(r.key, HouseholdState.model_validate_json(r.value).version) for r in effects.changelog()] == [(b"H1", 2), (b"H2", 0)]


def test_an_empty_batch_writes_nothing():
    log: list = []
    asyncio.run(Effects(FakeOutbox(log), FlakyReadModel(log, failures=0)).commit())
    assert log == []
