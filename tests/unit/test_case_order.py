"""The rebuild applies each case's events in version order, even when a case's events lie in two partitions."""

import orjson

from schemas import topics
from streams.plumbing.rebuild import CaseOrder


def event(case_id: str, version: int) -> tuple[str, bytes]:
    return topics.CASE_EVENTS, orjson.dumps({"case_id": case_id, "version": version, "case": {"case_id": case_id}})


def versions(records) -> list[tuple[str, int]]:
    return [(orjson.loads(raw)["case_id"], orjson.loads(raw)["version"]) for _, raw in records if _ == topics.CASE_EVENTS]


def test_a_later_version_read_first_waits_for_the_earlier_ones():
    order = CaseOrder()
    # The target household's partition is read first: the moved case's versions 3 and 4 wait for 1 and 2.
    assert versions(order.ready([event("A", 3), event("B", 1), event("A", 4)])) == [("B", 1)]
    assert versions(order.ready([event("A", 1), event("A", 2)])) == [("A", 1), ("A", 2), ("A", 3), ("A", 4)]
    assert order.rest() == []


def test_repeats_dead_letters_and_household_events_pass_straight_through():
    order = CaseOrder()
    letter = (topics.DEADLETTER, b"{}")
    household = (topics.CASE_EVENTS, orjson.dumps({"case_id": None, "version": 0, "case": None}))
    ready = order.ready([event("A", 1), letter, event("A", 1), household, event("A", 2)])
    assert ready == [event("A", 1), letter, event("A", 1), household, event("A", 2)]


def test_what_never_finds_its_predecessor_follows_at_the_end_in_version_order():
    order = CaseOrder()
    assert order.ready([event("A", 7), event("A", 5)]) == []
    assert versions(order.rest()) == [("A", 5), ("A", 7)]
