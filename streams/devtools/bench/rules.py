"""The worker's own code per event, in this process with the I/O left out: what the pipeline costs before any plumbing.

Intake and triage run here as the worker runs them, batch by batch, on the throughput scenario's events: validation,
rules, the household view, the JSON of every record sent, the read model's script arguments and the changelog records.
What is left out is what the worker waits for or hands to its clients: Kafka fetches and produces, Redis round trips,
Faust's stream and the event loop. Set beside the empty Faust agent's time per event, it says how much of the gap to
the floor the rules alone make.
"""

import gc
import time
from collections.abc import Iterator
from itertools import count, islice
from typing import NamedTuple

from aiokafka import ConsumerRecord
from faust.types.tuples import Message

from streams.agents.intake import event_id_of, forward, parsed
from streams.agents.triage import TRIAGED, send_case_events, triage_one
from streams.devtools.bench.throughput import Record
from streams.plumbing.app import clock, households, new_effects, persons, read_model, settings
from streams.plumbing.effects import Effects, partition_for
from streams.plumbing.worker import GC_THRESHOLDS
from streams.rules.normalise import content_digest

# Triage's batches are what arrives within batch_wait_s: at the pipeline's rate, a few dozen events (a household's
# view and table entry are built once per batch, so smaller batches cost more per event).
TRIAGE_BATCH = 25


def batches(items: list, size: int) -> Iterator[list]:
    """The items in consecutive batches of at most size."""
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


class RulesCost(NamedTuple):
    """CPU microseconds per input event in intake's and in triage's code, and the messages triage read per input event."""

    intake_us: float
    triage_us: float
    triaged_per_event: float


def consumed(records: list[Record]) -> list[ConsumerRecord]:
    """The input records as intake's consumer hands them over, numbered in order as a log numbers them."""
    now_ms = round(clock.now().timestamp() * 1000)
    return [
        ConsumerRecord(topic, partition_for(key, settings.partitions), offset, now_ms, 0, key, value, None, len(key), len(value), [])
        for offset, (topic, key, value) in enumerate(records)
    ]


def intake_rules(batch: list[ConsumerRecord], effects: Effects) -> None:
    """intake_batch with every event new to the claims (as in the throughput run) and no Redis round trip."""
    received_ms = round(clock.now().timestamp() * 1000)
    for record in batch:
        if (event := parsed(record, effects)) is not None:
            forward(record, event, event_id_of(record, event), content_digest(event), None, received_ms, effects)


def written(effects: Effects) -> None:
    """What Effects.commit computes before it writes: the read model's script arguments and the changelog records."""
    list(read_model.chunks(effects.projections))
    effects.changelog()


def triaged(effects: Effects) -> list[Message]:
    """The records a batch sent to triage (signals and commands), as triage's stream hands them over."""
    return [
        Message(record.topic, record.partition, offset, record.timestamp_ms / 1000, 0, list(record.headers), record.key, record.value, None)
        for offset, record in enumerate(effects.outputs)
        if record.topic in TRIAGED
    ]


def rules_cost(records: list[Record]) -> RulesCost:
    """What intake's and triage's own code cost per input event in this process, on empty tables and with the worker's
    garbage collection (what triage sends itself, a household's forwarded signals and hand_overs, triaged in later
    batches as it would be)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)  # as the worker collects
    empty_tables()
    try:
        return _rules_cost(records)
    finally:
        gc.set_threshold(*thresholds)
        empty_tables()


def empty_tables() -> None:
    """Empty the worker's tables, in this process only for the measurement."""
    for table in (households, persons):
        table.data.clear()


def _rules_cost(records: list[Record]) -> RulesCost:
    started = time.process_time()
    pending = []
    for batch in batches(consumed(records), settings.batch_size):
        effects = new_effects()
        intake_rules(batch, effects)
        written(effects)
        pending += triaged(effects)
    intake_s = time.process_time() - started
    started = time.process_time()
    for start in count(0, TRIAGE_BATCH):  # pending grows as batches send signals on: sliced, not iterated
        if not (batch := pending[start : start + TRIAGE_BATCH]):
            break
        effects = new_effects()
        send_case_events([recorded for message in batch if (recorded := triage_one(message, effects))], effects)
        written(effects)
        pending += triaged(effects)
    triage_s = time.process_time() - started
    return RulesCost(intake_s * 1e6 / len(records), triage_s * 1e6 / len(records), len(pending) / len(records))
