"""Readiness from the workers' reports: every partition of both groups held by a fresh report."""

from schemas.readmodel import WORKER_GROUPS, uncovered

ALL = [f"{topic}:{p}" for topics in WORKER_GROUPS.values() for topic in topics for p in range(2)]


def test_ready_only_when_fresh_reports_hold_every_partition_of_both_groups():
    half, rest = ALL[: len(ALL) // 2], ALL[len(ALL) // 2 :]
    two_workers = [{"at": 100.0, "groups": {"triage": half}}, {"at": 100.0, "groups": {"intake": rest}}]
    assert uncovered(two_workers, 2, now=101.0) == []
    assert uncovered(two_workers[:1], 2, now=101.0) == rest
    assert uncovered(two_workers, 2, now=110.0) == ALL  # a worker that stopped reporting holds nothing
    assert uncovered([{"at": 100.0, "groups": {}}], 2, now=100.0) == ALL  # recovering: reports, holds nothing yet
