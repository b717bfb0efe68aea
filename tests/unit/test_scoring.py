from datetime import UTC, datetime, timedelta

import pytest

from schemas.case import Priority
from schemas.intake import DEPARTMENT_CHANGE_TYPES, AdmissionType, CallCategory, HouseholdFlags
from streams.policies import load_policy
from streams.rules.household import HouseholdState, Member, merge_flags, remember
from streams.rules.scoring import household_urgency, own_factors, priority_for
from tests.factories import department_signal, hospital_signal, signal

POLICY = load_policy("default")
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def scored(state: HouseholdState, *signals, now=NOW):
    for s in signals:  # each remembered when it was received
        window, repeat_window = POLICY.compounding.window_s, POLICY.compounding.repeat_call_window_s
        state = remember(state, s, own_factors(s, POLICY), s.received_at, window, repeat_window)
    return state, household_urgency(state, now, POLICY)


def codes(urgency) -> dict[str, float]:
    return {f.code: f.points for f in urgency.factors}


def test_every_kind_of_event_has_base_points():
    assert set(POLICY.hotline_base) == set(CallCategory)
    assert set(POLICY.hospital_base) == set(AdmissionType)
    assert set(POLICY.department_base) == set(DEPARTMENT_CHANGE_TYPES)


def test_score_lists_its_factors_and_policy_version():
    _, urgency = scored(HouseholdState(household_id="H1"), signal(NOW, children=2))
    assert codes(urgency) == {"hotline:medical_emergency": 65, "household:children": 10, "household:dependency_ratio": 5}
    assert urgency.score == 80 and urgency.priority is Priority.P1
    assert urgency.policy_version == POLICY.version


def test_hospital_points_for_type_critical_illness_and_self_paid_cost():
    factors = {f.code: f.points for f in own_factors(hospital_signal(NOW, "h1", cost=100_000, share=0.6, diagnosis="cancer"), POLICY)}
    assert factors == {"hospital:icu": 55, "hospital:critical_illness": 10, "burden:out_of_pocket": 15}
    assert {f.code for f in own_factors(hospital_signal(NOW, "h2", kind="inpatient", cost=3000, share=0.5), POLICY)} == {
        "hospital:inpatient"
    }


def test_breadwinner_and_grant_adjust_department_events():
    died = {f.code: f.points for f in own_factors(department_signal(NOW, "household.member_died", "d1", breadwinner=True), POLICY)}
    assert died == {"department:household.member_died": 45, "household:breadwinner": 25}
    claimed = own_factors(department_signal(NOW, "education.enrolled_college", "d2", grant_claimed=True), POLICY)
    assert sum(f.points for f in claimed) == 0


def test_members_records_make_vulnerability():
    state = HouseholdState(
        household_id="H1", members={"kid1": Member(age=5), "kid2": Member(age=9), "mum": Member(age=38)}, programme="lowincome"
    )
    _, urgency = scored(state, signal(NOW, kind="loss_of_income", person_key="mum", age=38))
    assert codes(urgency) == {
        "hotline:loss_of_income": 40,
        "household:children": 10,
        "enrolment:lowincome": 10,
        "household:dependency_ratio": 5,
    }


def test_elderly_living_alone_only_from_the_registry_or_a_report():
    _, urgency = scored(HouseholdState(household_id="H1"), signal(NOW, kind="other", age=78))
    assert "household:elderly_alone" not in codes(urgency)  # one caller's subject says nothing of who else lives there
    registered = department_signal(NOW, "household.member_added", "r1", age=78)
    _, urgency = scored(HouseholdState(household_id="H1"), registered, signal(NOW, kind="other", age=78))
    assert "household:elderly_alone" in codes(urgency)


def test_the_most_serious_event_leads_and_others_compound_with_decay():
    earlier = hospital_signal(NOW - timedelta(hours=24), "h1")  # icu 55 + self-paid 28,000 yuan 10
    state, urgency = scored(HouseholdState(household_id="H1"), earlier, department_signal(NOW, "employment.lost", "d1"))
    assert codes(urgency)["hospital:icu"] == 55  # the ICU stay leads, not the later job loss
    assert codes(urgency)["compounding:recent_signals"] == 12  # the job loss is fresh
    assert codes(urgency)["compounding:independent_sources"] == 6
    later = NOW + timedelta(hours=24)
    assert codes(household_urgency(state, later, POLICY))["compounding:recent_signals"] == 6  # half-life 24 h


def test_signals_beyond_the_window_are_forgotten():
    old = signal(NOW - timedelta(hours=73), event_id="old", caller_key="x")
    state, _ = scored(HouseholdState(household_id="H1"), old, now=NOW - timedelta(hours=73))
    _, urgency = scored(state, signal(NOW, event_id="new", kind="other", caller_key="y"))
    assert urgency.score == 25


def test_compounding_is_capped():
    many = [signal(NOW, event_id=f"e{i}", caller_key=f"c{i}", kind="loss_of_income") for i in range(6)]
    _, urgency = scored(HouseholdState(household_id="H1"), *many)
    assert urgency.score == 40 + POLICY.compounding.max_points
    assert "compounding:cap" in codes(urgency)


def test_repeat_call_from_same_caller_about_same_person_is_not_new_evidence():
    first = signal(NOW - timedelta(minutes=5), event_id="first", kind="other")
    _, repeat = scored(HouseholdState(household_id="H1"), first, signal(NOW, event_id="again", kind="other"))
    assert repeat.score == 25
    _, later = scored(
        HouseholdState(household_id="H1"),
        signal(NOW - timedelta(minutes=11), event_id="first", kind="other"),
        signal(NOW, event_id="again", kind="other"),
    )
    assert later.score > 25


def test_asset_purchases_count_against_new_scores():
    _, urgency = scored(
        HouseholdState(household_id="H1"),
        department_signal(NOW, "asset.vehicle_bought", "a1", value_yuan=150000),
        signal(NOW, kind="other"),
    )
    assert codes(urgency)["department:asset.vehicle_bought"] == -10
    assert urgency.score == 15


@pytest.mark.parametrize(
    ("value", "level"),
    [(100, Priority.P1), (80, Priority.P1), (79, Priority.P2), (60, Priority.P2), (40, Priority.P3), (39, None), (0, None)],
)
def test_levels_follow_thresholds(value, level):
    assert priority_for(value, POLICY) is level


@pytest.mark.parametrize(
    ("known", "reported"),
    [
        (HouseholdFlags(), HouseholdFlags()),
        (HouseholdFlags(children=2, disabled=True), HouseholdFlags()),
        (HouseholdFlags(), HouseholdFlags(children=1, pregnant=True)),
        (HouseholdFlags(children=3, elderly_alone=True), HouseholdFlags(children=1, disabled=True, pregnant=True)),
    ],
)
def test_merged_flags_hold_every_fact_of_both_and_no_other(known, reported):
    merged = merge_flags(known, reported)
    assert merged.children == max(known.children, reported.children)
    for fact in ("elderly_alone", "disabled", "pregnant"):
        assert getattr(merged, fact) == (getattr(known, fact) or getattr(reported, fact))
