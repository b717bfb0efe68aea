from datetime import UTC, datetime, timedelta

from schemas.case import Case, Priority, SubjectView
from schemas.intake import Area
from schemas.timing import Colour, Deadline, Tier
from streams.policies import load_policy
from streams.rules.clock import FakeClock
from streams.rules.deadlines import colour_of, deadlines_for, next_transition_at, required_tier, tighten
from tests.factories import AREA

POLICY = load_policy("default")
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_emergency_deadlines_follow_the_seeds():
    p1 = deadlines_for(Priority.P1, START, POLICY)
    p2 = deadlines_for(Priority.P2, START, POLICY)
    p3 = deadlines_for(Priority.P3, START, POLICY)
    assert p1["acknowledge"].due_at - START == timedelta(minutes=15)
    assert p2["acknowledge"].due_at - START == timedelta(minutes=30)
    assert p1["aid"].due_at - START == p2["aid"].due_at - START == timedelta(hours=2)
    assert p3["acknowledge"].due_at - START == timedelta(hours=1)
    assert p3["complete"].due_at - START == timedelta(days=15)


def test_colour_runs_green_yellow_red_on_a_fake_clock():
    clock = FakeClock(START)
    deadlines = deadlines_for(Priority.P1, START, POLICY)
    assert colour_of(deadlines, clock.now(), POLICY) is Colour.GREEN
    clock.advance(7 * 60 + 29)
    assert colour_of(deadlines, clock.now(), POLICY) is Colour.GREEN
    clock.advance(1)  # half of the 15-minute acknowledgement window
    assert colour_of(deadlines, clock.now(), POLICY) is Colour.YELLOW
    clock.advance(7 * 60 + 30)
    assert colour_of(deadlines, clock.now(), POLICY) is Colour.RED


def test_meeting_a_deadline_moves_colour_to_the_next_one():
    deadlines = deadlines_for(Priority.P1, START, POLICY)
    deadlines["acknowledge"] = deadlines["acknowledge"].model_copy(update={"met_at": START + timedelta(minutes=5)})
    # 20 min in: acknowledgement met, the 2-hour aid window is only 1/6 gone
    assert colour_of(deadlines, START + timedelta(minutes=20), POLICY) is Colour.GREEN
    assert colour_of(deadlines, START + timedelta(minutes=61), POLICY) is Colour.YELLOW
    assert colour_of(deadlines, START + timedelta(hours=2), POLICY) is Colour.RED


def test_all_met_is_green():
    deadlines = {name: d.model_copy(update={"met_at": START}) for name, d in deadlines_for(Priority.P2, START, POLICY).items()}
    assert colour_of(deadlines, START + timedelta(days=30), POLICY) is Colour.GREEN


def test_tighten_never_loosens():
    current = deadlines_for(Priority.P2, START, POLICY)
    later = deadlines_for(Priority.P1, START + timedelta(minutes=20), POLICY)
    merged = tighten(current, later)
    assert merged["acknowledge"].due_at == current["acknowledge"].due_at  # 08:30 kept, not 08:35
    assert merged["aid"].due_at == current["aid"].due_at
    sooner = deadlines_for(Priority.P1, START + timedelta(minutes=5), POLICY)
    assert tighten(current, sooner)["acknowledge"].due_at == START + timedelta(minutes=20)


def test_tighten_to_a_new_track_takes_its_deadlines():
    standard = deadlines_for(Priority.P3, START, POLICY)
    emergency = deadlines_for(Priority.P2, START + timedelta(minutes=10), POLICY)
    merged = tighten(standard, emergency)
    assert set(merged) == {"acknowledge", "aid"}
    assert merged["acknowledge"].due_at == START + timedelta(minutes=40)


def _case(status: str, tier: Tier, red_since=None, priority=Priority.P2) -> Case:
    return Case(
        case_id="C1",
        household_id="H1",
        version=1,
        track="emergency",
        priority=priority,
        urgency=70,
        factors=[],
        policy_version="t",
        status=status,
        tier=tier,
        area=Area(**AREA),
        subject=SubjectView(id_masked="x", name="y"),
        category="medical_emergency",
        opened_at=START,
        deadlines=deadlines_for(priority, START, POLICY),
        red_since=red_since,
    )


def test_ladder_yellow_town_red_city_long_red_leadership():
    green = _case("green", Tier.VILLAGE)
    assert required_tier(green, Colour.GREEN, None, START, POLICY) is Tier.VILLAGE
    assert required_tier(green, Colour.YELLOW, None, START, POLICY) is Tier.TOWN
    red_at = START + timedelta(minutes=30)
    assert required_tier(green, Colour.RED, red_at, red_at, POLICY) is Tier.CITY
    assert required_tier(green, Colour.RED, red_at, red_at + timedelta(minutes=59), POLICY) is Tier.CITY
    assert required_tier(green, Colour.RED, red_at, red_at + timedelta(hours=1), POLICY) is Tier.LEADERSHIP


def test_tier_never_goes_down():
    assert required_tier(_case("green", Tier.CITY), Colour.GREEN, None, START, POLICY) is Tier.CITY


def test_next_transition_is_the_next_colour_or_tier_change():
    assert next_transition_at(_case("green", Tier.VILLAGE), POLICY) == START + timedelta(minutes=15)
    assert next_transition_at(_case("yellow", Tier.TOWN), POLICY) == START + timedelta(minutes=30)
    red_at = START + timedelta(minutes=30)
    assert next_transition_at(_case("red", Tier.CITY, red_since=red_at), POLICY) == red_at + timedelta(hours=1)
    assert next_transition_at(_case("red", Tier.LEADERSHIP, red_since=red_at), POLICY) is None
    assert next_transition_at(_case("closed", Tier.TOWN), POLICY) is None


def test_deadline_model_round_trips():
    deadline = Deadline(started_at=START, due_at=START + timedelta(hours=2))
    assert Deadline.model_validate_json(deadline.model_dump_json()) == deadline
