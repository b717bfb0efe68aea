"""The table stores: entries read and written in the partition they are given, values as their changelog records."""

import faust
import pytest

from streams.plumbing.stores import MemoryStore, RocksStore, encoded
from streams.rules.household import HouseholdState


@pytest.fixture(params=["memory", "rocksdb"])
def table(request, tmp_path):
    app = faust.App(f"test-stores-{request.param}", store=f"rapidaid-{request.param}://", datadir=tmp_path)
    return app.Table("households", partitions=4, key_type=bytes, value_type=bytes)


def test_the_store_url_names_the_projects_store(table):
    assert isinstance(table.data, MemoryStore if "memory" in table.app.conf.id else RocksStore)


def test_an_entry_is_read_back_from_its_partition_as_written_or_as_its_changelog_record(table):
    state = HouseholdState(household_id="H1", partition=2, version=3)
    table.data.set_in(2, b"H1", state)
    stored = table.data.get_in(2, b"H1")
    assert stored is state if isinstance(table.data, MemoryStore) else stored == encoded(state)
    assert table.data.get_in(2, b"H2") is None


def test_rocksdb_keeps_each_partition_apart_and_values_as_their_changelog_json(tmp_path):
    app = faust.App("test-stores-partitions", store="rapidaid-rocksdb://", datadir=tmp_path)
    table = app.Table("persons", partitions=4, key_type=str, value_type=str)
    table.data.set_in(1, "person-a", "HH-1")
    assert table.data.get_in(1, "person-a") == "HH-1"
    assert table.data.get_in(0, "person-a") is None
    assert table.data._db_for_partition(1).get(b'"person-a"') == encoded("HH-1")
