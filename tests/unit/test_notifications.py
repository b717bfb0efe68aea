from datetime import UTC, datetime, timedelta

from schemas.case import Tier
from streams.policies import load_policy
from streams.rules.cases import apply_signal, apply_tick
from streams.rules.household import HouseholdState
from streams.rules.notifications import notifications_for
from tests.factories import signal

FAST = load_policy("fast")
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_each_rung_of_the_ladder_is_told_in_its_own_area():
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START), START, FAST)  # P2: opens at village
    notices = [n for e in outcome.events for n in notifications_for(e, FAST)]
    state = outcome.state
    for tenth in range(1, 90):
        outcome = apply_tick(state, START + timedelta(seconds=tenth / 10), FAST)
        state = outcome.state
        notices += [n for e in outcome.events for n in notifications_for(e, FAST)]
    assert [(n.kind, n.key) for n in notices] == [
        ("opened", "village:370784101201"),
        ("status_changed", "village:370784101201"),
        ("escalated", "town:370784101"),
        ("status_changed", "town:370784101"),
        ("escalated", "city:370784"),
        ("escalated", "leadership:370784"),
    ]
    assert notices[-1].recipient == "city leadership" and notices[-1].tier is Tier.LEADERSHIP
    assert "escalated to city leadership" in notices[-1].message
    assert len({n.notification_id for n in notices}) == len(notices)


def test_timeline_only_signals_notify_nobody():
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START, kind="other"), START, FAST)
    assert notifications_for(outcome.events[0], FAST) == []
