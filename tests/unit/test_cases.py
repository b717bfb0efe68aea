from datetime import UTC, datetime, timedelta

from schemas.case import CaseEventType, Priority
from schemas.intake import HouseholdFlags
from schemas.timing import Tier
from streams.policies import load_policy
from streams.rules.cases import REPORTS_KEPT, apply_signal, apply_tick, case_id_for
from streams.rules.clock import FakeClock
from streams.rules.household import HouseholdState
from streams.rules.notifications import notifications_for
from tests.factories import department_signal, hospital_signal, signal

DEFAULT = load_policy("default")
FAST = load_policy("fast")
START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def types(outcome) -> list[str]:
    return [e.type.value for e in outcome.events]


def feed(state, *signals, policy=DEFAULT):
    """Apply signals in order, each at its own time; return the last outcome and every event."""
    events = []
    for s in signals:
        outcome = apply_signal(state, s, s.occurred_at, policy)
        state = outcome.state
        events += outcome.events
    return outcome, events


def test_critical_call_opens_an_emergency_case_at_town_tier():
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START, children=3), START, DEFAULT)
    assert types(outcome) == ["opened"]
    case = outcome.state.open_case
    assert case.priority is Priority.P1 and case.track == "emergency" and case.tier is Tier.TOWN
    assert case.status == "green" and case.version == 1
    assert case.urgency == 85
    assert [f.code for f in case.factors] == ["hotline:medical_emergency", "household:children", "household:dependency_ratio"]
    assert case.policy_version == DEFAULT.version
    assert case.case_id == case_id_for("H1", "e1")
    assert case.due_at == START + timedelta(minutes=15)
    assert outcome.events[0].case == case


def test_low_urgency_goes_to_household_timeline_only():
    outcome = apply_signal(HouseholdState(household_id="H1"), signal(START, kind="other"), START, DEFAULT)
    assert types(outcome) == ["signal_recorded"]
    assert outcome.state.open_case is None
    assert outcome.events[0].data["score"] == 25
    assert outcome.events[0].data["factors"][0]["code"] == "hotline:other"


def test_context_alone_never_opens_a_case():
    # A very vulnerable household scores high, but an enrolment record is not a call for help.
    state = HouseholdState(household_id="H1", reported=HouseholdFlags(children=3, pregnant=True, disabled=True))
    outcome, _ = feed(state, department_signal(START, "lowincome.enrolled", "l1", programme="extreme_poverty"))
    assert types(outcome) == ["signal_recorded"]
    assert outcome.events[0].data["score"] >= 40
    assert outcome.state.open_case is None


def test_breadwinner_death_in_a_lowincome_household_with_two_children_opens_an_emergency_case_with_no_call():
    registry = [
        department_signal(START, "household.member_added", "r1", person_key="dad", age=41),
        department_signal(START, "household.member_added", "r2", person_key="mum", age=39),
        department_signal(START, "household.member_added", "r3", person_key="kid1", age=12),
        department_signal(START, "household.member_added", "r4", person_key="kid2", age=7),
        department_signal(START, "lowincome.enrolled", "r5", person_key="mum", age=39, programme="lowincome"),
    ]
    died = department_signal(START + timedelta(days=3), "household.member_died", "d1", person_key="dad", age=41, breadwinner=True)
    outcome, events = feed(HouseholdState(household_id="H1"), *registry, died)
    assert [e.type.value for e in events] == ["signal_recorded"] * 5 + ["opened"]
    case = outcome.state.open_case
    assert case.track == "emergency" and case.priority is Priority.P1
    assert {f.code for f in case.factors} == {
        "department:household.member_died",
        "household:breadwinner",
        "household:children",
        "enrolment:lowincome",
        "household:dependency_ratio",
    }
    assert case.urgency == 95


def test_icu_with_high_self_pay_then_job_loss_within_72h_raises_priority_and_keeps_deadlines():
    enrolled = department_signal(START - timedelta(days=30), "lowincome.enrolled", "l1", programme="lowincome")
    icu = hospital_signal(START, "h1")  # icu 55, 28,000 yuan self-paid +10, enrolled +10
    opened, _ = feed(HouseholdState(household_id="H1"), enrolled, icu)
    case = opened.state.open_case
    assert (case.priority, case.urgency) == (Priority.P2, 75)
    job_loss = department_signal(START + timedelta(hours=30), "employment.lost", "j1")
    outcome = apply_signal(opened.state, job_loss, job_loss.occurred_at, DEFAULT)
    assert types(outcome)[:2] == ["signal_attached", "rescored"]
    rescored = outcome.events[1]
    assert rescored.data["priority_from"] == "P2" and rescored.data["priority_to"] == "P1"
    after = outcome.state.open_case
    assert after.case_id == case.case_id and after.priority is Priority.P1 and after.urgency > 75
    for name, deadline in case.deadlines.items():
        assert after.deadlines[name].due_at <= deadline.due_at  # kept or tightened, never loosened


def test_asset_purchase_is_shown_but_never_lowers_or_closes_an_open_case():
    opened, _ = feed(HouseholdState(household_id="H1"), hospital_signal(START, "h1"))
    before = opened.state.open_case
    bought = department_signal(START + timedelta(minutes=5), "asset.vehicle_bought", "v1", value_yuan=120000)
    outcome = apply_signal(opened.state, bought, bought.occurred_at, DEFAULT)
    assert types(outcome) == ["signal_attached"]
    after = outcome.state.open_case
    assert (after.priority, after.urgency, after.status, after.track) == (before.priority, before.urgency, before.status, before.track)
    vehicle = next(f for f in after.factors if f.code == "department:asset.vehicle_bought")
    assert vehicle.points == -10 and not vehicle.applied
    assert "asset.vehicle_bought" in outcome.state.assets


def test_a_claimed_grant_is_context_not_a_lowering_factor():
    opened, _ = feed(HouseholdState(household_id="H1"), hospital_signal(START, "h1"))
    college = department_signal(
        START + timedelta(minutes=1), "education.enrolled_college", "c1", person_key="kid", age=18, grant_claimed=True
    )
    outcome = apply_signal(opened.state, college, college.occurred_at, DEFAULT)
    assert outcome.state.open_case.factors == opened.state.open_case.factors


def test_same_event_twice_changes_nothing():
    first = apply_signal(HouseholdState(household_id="H1"), signal(START), START, DEFAULT)
    again = apply_signal(first.state, signal(START), START + timedelta(seconds=1), DEFAULT)
    assert again.events == [] and again.state is first.state


def test_same_caller_about_same_person_within_10_minutes_attaches_to_the_one_case():
    first = apply_signal(HouseholdState(household_id="H1"), signal(START), START, DEFAULT)
    repeat_at = START + timedelta(minutes=8)
    again = apply_signal(first.state, signal(repeat_at, event_id="e2"), repeat_at, DEFAULT)
    assert types(again) == ["signal_attached"]  # no rescoring: a repeat is not new evidence
    assert again.state.open_case.case_id == first.state.open_case.case_id
    assert again.state.open_case.signal_ids == ["e1", "e2"]


def test_college_enrolment_in_a_lowincome_household_without_grant_opens_a_standard_lead():
    enrolled = department_signal(START, "lowincome.enrolled", "l1", programme="lowincome")
    college = department_signal(
        START + timedelta(days=1), "education.enrolled_college", "c1", person_key="student", age=18, grant_claimed=False
    )
    outcome, _ = feed(HouseholdState(household_id="H1"), enrolled, college)
    case = outcome.state.open_case
    assert case.track == "standard" and case.priority is Priority.P3
    assert set(case.deadlines) == {"acknowledge", "complete"}
    assert case.deadlines["complete"].due_at - case.opened_at == timedelta(days=15)
    claimed = department_signal(
        START + timedelta(days=1), "education.enrolled_college", "c2", person_key="student", age=18, grant_claimed=True
    )
    outcome, _ = feed(HouseholdState(household_id="H2"), enrolled, claimed)
    assert outcome.state.open_case is None


def test_second_signal_attaches_and_rescoring_only_raises():
    first = apply_signal(HouseholdState(household_id="H1"), signal(START, kind="loss_of_income"), START, DEFAULT)
    later = START + timedelta(minutes=10)
    second = apply_signal(first.state, signal(later, event_id="e2", kind="medical_emergency", caller_key="other"), later, DEFAULT)
    assert types(second)[:2] == ["signal_attached", "rescored"]
    case = second.state.open_case
    assert case.case_id == first.state.open_case.case_id
    assert case.priority is Priority.P2 and case.track == "emergency"
    assert case.urgency == 77 and "compounding:recent_signals" in {f.code for f in case.factors}
    assert case.signal_ids == ["e1", "e2"]
    assert case.deadlines["acknowledge"].due_at == later + timedelta(minutes=30)
    found_work = department_signal(later, "employment.found", "e3")
    third = apply_signal(second.state, found_work, later, DEFAULT)
    assert types(third) == ["signal_attached"]
    assert third.state.open_case.priority is Priority.P2


def test_versions_increase_by_one_per_event():
    first = apply_signal(HouseholdState(household_id="H1"), signal(START, kind="loss_of_income"), START, DEFAULT)
    second = apply_signal(first.state, signal(START, event_id="e2", caller_key="x"), START, DEFAULT)
    versions = [e.version for e in first.events + second.events]
    assert versions == list(range(1, len(versions) + 1))


def test_a_two_hour_case_runs_its_course_on_the_fast_policy():
    clock = FakeClock(START)
    state = apply_signal(HouseholdState(household_id="H1"), signal(START, children=3), clock.now(), FAST).state
    seen = []
    for _ in range(100):  # 10 s in 0.1 s steps
        outcome = apply_tick(state, clock.advance(0.1), FAST)
        state = outcome.state
        seen += [(e.type.value, e.data.get("to")) for e in outcome.events]
    assert seen == [
        ("status_changed", "yellow"),  # 1 s: half of the 2 s acknowledgement window
        ("status_changed", "red"),  # 2 s
        ("escalated", "city"),
        ("escalated", "leadership"),  # 3 s after red
    ]
    assert state.open_case.red_since == START + timedelta(seconds=2)
    assert state.open_case.tier is Tier.LEADERSHIP


def test_p2_yellow_escalates_from_village_to_town():
    state = apply_signal(HouseholdState(household_id="H1"), signal(START), START, FAST).state
    outcome = apply_tick(state, START + timedelta(seconds=1.6), FAST)
    assert [(e.type, e.data["to"]) for e in outcome.events] == [(CaseEventType.STATUS_CHANGED, "yellow"), (CaseEventType.ESCALATED, "town")]


def test_tick_without_change_emits_nothing():
    state = apply_signal(HouseholdState(household_id="H1"), signal(START), START, DEFAULT).state
    outcome = apply_tick(state, START + timedelta(minutes=1), DEFAULT)
    assert outcome.events == [] and outcome.state is state


def test_tick_without_a_case_does_nothing():
    state = HouseholdState(household_id="H1")
    assert apply_tick(state, START, DEFAULT).state is state


def test_the_callers_words_and_phone_reach_the_case_and_each_later_report_joins_it():
    call = signal(START, description="7岁男孩独自在家两天，邻居听见哭声").model_copy(update={"caller_phone": "13800001111"})
    opened = apply_signal(HouseholdState(household_id="H1"), call, START, DEFAULT)
    (report,) = opened.state.open_case.reports
    assert (report.source, report.kind, report.text, report.phone) == (
        "hotline",
        "medical_emergency",
        call.details["description"],
        "13800001111",
    )
    assert report.received_at == START and report.details == {}
    later = START + timedelta(hours=1)
    admission = hospital_signal(later, "h1").model_copy(update={"reporter": "安丘市人民医院"})
    attached = apply_signal(opened.state, admission, later, DEFAULT)
    case = attached.state.open_case
    assert [r.event_id for r in case.reports] == ["e1", "h1"] and case.reports_total == 2
    assert case.reports[1].reporter == "安丘市人民医院" and case.reports[1].details["estimated_cost_yuan"] == 40000


def test_a_case_keeps_its_first_report_and_the_latest_when_called_about_all_day():
    state = apply_signal(HouseholdState(household_id="H1"), signal(START), START, DEFAULT).state
    for n in range(1, REPORTS_KEPT + 5):
        at = START + timedelta(minutes=11 * n)
        state = apply_signal(state, signal(at, event_id=f"e{n + 1}", caller_key=f"caller-{n}"), at, DEFAULT).state
    reports = state.open_case.reports
    assert len(reports) == REPORTS_KEPT and state.open_case.reports_total == REPORTS_KEPT + 5
    assert reports[0].event_id == "e1" and reports[-1].event_id == f"e{REPORTS_KEPT + 5}"


def test_escalation_climbs_one_rung_at_a_time_each_rung_its_own_event_and_notice():
    state = apply_signal(HouseholdState(household_id="H1"), signal(START), START, FAST).state
    assert state.open_case.tier is Tier.VILLAGE
    # The worker was away: by the next tick the case is long red, due at leadership.
    outcome = apply_tick(state, START + timedelta(hours=1), FAST)
    escalations = [(e.data["from"], e.data["to"]) for e in outcome.events if e.type is CaseEventType.ESCALATED]
    assert escalations == [("village", "town"), ("town", "city"), ("city", "leadership")]
    notices = [n for e in outcome.events for n in notifications_for(e, FAST)]
    assert [n.tier for n in notices if n.kind == "escalated"] == [Tier.TOWN, Tier.CITY, Tier.LEADERSHIP]


def test_an_old_record_opens_a_case_whose_deadlines_count_from_receipt():
    old = signal(START - timedelta(days=30)).model_copy(update={"received_at": START})
    case = apply_signal(HouseholdState(household_id="H1"), old, START, DEFAULT).state.open_case
    assert case.status == "green" and case.opened_at == START and case.due_at == START + timedelta(minutes=30)
    assert case.reports[0].occurred_at == START - timedelta(days=30)
