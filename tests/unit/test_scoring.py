from datetime import UTC, datetime, timedelta

import pytest

from schemas.case import Priority
from schemas.intake import CallCategory, HouseholdFlags
from streams.household import RecentSignal
from streams.policy import load_policy
from streams.scoring import priority_for, score
from tests.factories import signal

POLICY = load_policy("default")
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def recent(
    event_id: str, hours_ago: float, source: str = "hotline", caller_key: str = "caller-2", person_key: str = "person-1"
) -> RecentSignal:
    return RecentSignal(
        event_id=event_id, source=source, kind="other", at=NOW - timedelta(hours=hours_ago), person_key=person_key, caller_key=caller_key
    )


def test_every_call_category_has_base_points():
    assert set(POLICY.hotline_base) == set(CallCategory)


def test_score_lists_its_factors_and_policy_version():
    urgency = score(signal(NOW), HouseholdFlags(children=2), [], NOW, POLICY)
    codes = {f.code: f.points for f in urgency.factors}
    assert codes == {"hotline:medical_emergency": 65, "household:children": 10}
    assert urgency.score == 75
    assert urgency.priority is Priority.P2
    assert urgency.policy_version == POLICY.version


def test_vulnerabilities_add_up_to_critical():
    flags = HouseholdFlags(children=4, elderly_alone=True, disabled=True, pregnant=True)
    urgency = score(signal(NOW), flags, [], NOW, POLICY)
    assert {f.code for f in urgency.factors} >= {
        "household:children",
        "household:elderly_alone",
        "household:severe_disability",
        "household:pregnancy",
    }
    children = next(f for f in urgency.factors if f.code == "household:children")
    assert children.points == POLICY.vulnerability.max_children_points
    assert urgency.score == 100  # capped
    assert urgency.priority is Priority.P1


def test_earlier_signals_compound_with_decay():
    fresh = score(signal(NOW), HouseholdFlags(), [recent("old", 0)], NOW, POLICY)
    day_old = score(signal(NOW), HouseholdFlags(), [recent("old", 24)], NOW, POLICY)
    gone = score(signal(NOW), HouseholdFlags(), [recent("old", 73)], NOW, POLICY)
    assert fresh.score == 65 + 12
    assert day_old.score == 65 + 6  # half-life 24 h
    assert gone.score == 65


def test_independent_source_counts_more():
    same = score(signal(NOW), HouseholdFlags(), [recent("old", 0, source="hotline")], NOW, POLICY)
    other = score(signal(NOW), HouseholdFlags(), [recent("old", 0, source="hospital")], NOW, POLICY)
    assert other.score - same.score == POLICY.compounding.independent_source_bonus


def test_compounding_is_capped():
    many = [recent(f"e{i}", 0, source=s) for i, s in enumerate(["hospital", "department"] * 5)]
    urgency = score(signal(NOW, kind="other"), HouseholdFlags(), many, NOW, POLICY)
    assert urgency.score == POLICY.hotline_base[CallCategory.OTHER] + POLICY.compounding.max_points
    assert any(f.code == "compounding:cap" for f in urgency.factors)


def test_repeat_call_from_same_caller_about_same_person_is_not_new_evidence():
    repeat = recent("first", 5 / 60, caller_key="caller-1")
    urgency = score(signal(NOW, caller_key="caller-1"), HouseholdFlags(), [repeat], NOW, POLICY)
    assert urgency.score == 65
    after_window = recent("first", 11 / 60, caller_key="caller-1")
    assert score(signal(NOW, caller_key="caller-1"), HouseholdFlags(), [after_window], NOW, POLICY).score > 65


def test_the_signal_itself_is_not_counted_twice():
    urgency = score(signal(NOW, event_id="e1"), HouseholdFlags(), [recent("e1", 0)], NOW, POLICY)
    assert urgency.score == 65


@pytest.mark.parametrize(
    ("value", "level"),
    [(100, Priority.P1), (80, Priority.P1), (79, Priority.P2), (60, Priority.P2), (40, Priority.P3), (39, None), (0, None)],
)
def test_levels_follow_thresholds(value, level):
    assert priority_for(value, POLICY) is level
