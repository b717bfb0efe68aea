"""The benchmark of the worker's own code runs intake's and triage's batch code on the throughput events, I/O left out."""

import pytest

from schemas import topics
from schemas.departments import BUNDLED, load_departments
from streams.devtools.bench import rules
from streams.devtools.bench.throughput import bench_events
from streams.plumbing.app import households, new_effects, persons


@pytest.fixture
def worker_tables():
    """The worker's tables in this process, emptied after the test."""
    yield households, persons
    for table in (households, persons):
        table.data.clear()


def test_intake_sends_a_signal_for_each_valid_event_and_dead_letters_the_rest(worker_tables):
    records = [*bench_events(40, load_departments(BUNDLED), seed=3), (topics.HOTLINE_CALLS, b"k", b"{not json")]
    effects = new_effects()
    rules.intake_rules(rules.consumed(records), effects)
    sent = [record.topic for record in effects.outputs]
    assert sent.count(topics.DEADLETTER) == 1
    assert sent.count(topics.SIGNALS) >= 40
    assert len(rules.triaged(effects)) == sent.count(topics.SIGNALS)


def test_the_cost_is_measured_from_empty_tables_and_leaves_them_empty(worker_tables):
    intake_us, triage_us = rules.rules_cost_us(bench_events(200, load_departments(BUNDLED), seed=3))
    assert intake_us > 0 and triage_us > 0
    assert all(len(table.data) == 0 for table in worker_tables)
