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
    rules.empty_tables()


def test_intake_sends_a_signal_for_each_valid_event_and_dead_letters_the_rest(worker_tables):
    records = [*bench_events(40, load_departments(BUNDLED), seed=3), (topics.HOTLINE_CALLS, b"k", b"{not json")]
    effects = new_effects()
    rules.intake_rules(rules.consumed(records), effects)
    sent = [record.topic for record in effects.outputs]
    assert sent.count(topics.DEADLETTER) == 1
    assert sent.count(topics.SIGNALS) >= 40
    assert len(rules.triaged(effects)) == sent.count(topics.SIGNALS)


def test_triage_reads_each_signal_and_what_it_sends_itself_and_the_tables_are_left_empty(worker_tables):
    records = bench_events(200, load_departments(BUNDLED), seed=3)
    effects = new_effects()
    rules.intake_rules(rules.consumed(records), effects)
    signals = len(rules.triaged(effects))
    cost = rules.rules_cost(records)
    # Registry records of people not placed before add a hand_over each, and a hand_over of a household with a case a take_over.
    assert round(cost.triaged_per_event * len(records)) >= signals > len(records)
    assert all(len(table.data) == 0 for table in worker_tables)
