"""Faust table stores read and written in a named partition, in memory or on disk (RocksDB through rocksdict).

The agents take batches, so Faust's current event is not the message at hand: Faust's RocksDB store would put an
entry in the partition of whichever event came last. These stores are given the source record's partition instead,
the one whose changelog partition the entry is written to (streams.plumbing.effects).
"""

from typing import Any

import orjson
from faust.stores import memory, rocksdb
from pydantic import BaseModel


def encoded(value: Any) -> bytes:
    """A table value as its changelog record carries it: a model's JSON, anything else through orjson."""
    return value.model_dump_json().encode() if isinstance(value, BaseModel) else orjson.dumps(value)


def encoded_key(key: Any) -> bytes:
    """A table key as its changelog record carries it: bytes as they are, anything else as JSON."""
    return key if isinstance(key, bytes) else orjson.dumps(key)


class MemoryStore(memory.Store):
    """Faust's memory store: values kept as written (models), or as Faust decodes changelog values after recovery."""

    def get_in(self, partition: int, key: Any) -> Any:
        """The entry of key, or None."""
        return self.data.get(key)

    def set_in(self, partition: int, key: Any, value: Any) -> None:
        """Set the entry of key."""
        self.data[key] = value


# Faust's defaults give each partition's database a 2 GB block cache and three 64 MB write buffers; a worker holds a
# database per table and partition, so its memory is bounded by partitions × (64 + 3 × 16) MB with these instead.
BOUNDED_MEMORY = {"block_cache_size": 64 << 20, "write_buffer_size": 16 << 20}


class RocksStore(rocksdb.Store):
    """Faust's RocksDB store, one database per partition; values are kept as their changelog records carry them."""

    def __init__(self, *args: Any, options: dict | None = None, **kwargs: Any) -> None:
        super().__init__(*args, options={**BOUNDED_MEMORY, **(options or {})}, **kwargs)

    def get_in(self, partition: int, key: Any) -> Any:
        """The entry of key in the partition's database, decoded as the table decodes its changelog, or None."""
        value = self._db_for_partition(partition).get(encoded_key(key))
        return None if value is None else self._decode_value(value)

    def set_in(self, partition: int, key: Any, value: Any) -> None:
        """Set the entry of key in the partition's database."""
        self._db_for_partition(partition).put(encoded_key(key), encoded(value))
