"""The benchmark's report (figure names and verdicts) and the table entries its state scenario writes."""

import orjson

from schemas.departments import BUNDLED, load_departments
from streams.devtools.bench.run import count_label, report
from streams.devtools.bench.state import distinct_states, table_records
from streams.rules.household import HouseholdState


def test_household_counts_are_named_as_the_figures_name_them():
    assert [count_label(n) for n in (10_000, 100_000, 1_000_000, 30_000_000)] == ["10k", "100k", "1m", "30m"]


def test_the_report_marks_each_target_met_or_missed():
    lines = report({"ratio": 0.2, "e2e_p99_ms": 100.0, "worker_rss_mb_1m": 12_000, "settings": {}}).splitlines()
    assert lines[1].endswith(">= 1.0  MISSED")
    assert lines[2].endswith("<= 250  met")
    assert lines[3].split() == ["worker_rss_mb_1m", "12000"]


def test_state_copies_name_the_partition_they_are_written_to():
    states = distinct_states(load_departments(BUNDLED), 3, seed=7)
    records = list(table_records(["households", "persons"], 4, states, 12))
    households = [(key, value, partition) for topic, key, value, partition in records if topic == "households"]
    assert len(households) == 12 and len({key for key, _, _ in households}) == 12
    for key, value, partition in households:
        state = HouseholdState.model_validate_json(value)
        assert (state.household_id.encode(), state.partition) == (key, partition)
    persons = [(orjson.loads(value), partition) for topic, _, value, partition in records if topic == "persons"]
    assert {household for household, _ in persons} == {key.decode() for key, _, _ in households}
