"""多事一核: each programme's three verdicts from what the household record holds, a county's own thresholds, the texts."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import streams.rules.programmes as programmes_module
from schemas.case import CaseCommand, Outcome, SubjectView
from schemas.ids import mask_id_number, sex_from_id
from schemas.intake import HouseholdFlags
from schemas.messages import LANGUAGES, messages
from schemas.programmes import PROGRAMMES, Verdict
from streams.policies import load_policy
from streams.rules.cases import apply_signal
from streams.rules.household import HELP_KEPT, MEDICAL_KEPT, HouseholdState, Member, remember
from streams.rules.household_view import with_household
from streams.rules.programmes import evaluate_programmes
from streams.rules.texts import programme_texts
from streams.rules.workflow import apply_command
from tests.factories import department_signal, hospital_signal, id_number, signal

DEFAULT = load_policy("default")
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def advice(state: HouseholdState, programme: str, now: datetime = NOW, policy=DEFAULT):
    return next(a for a in evaluate_programmes(state, now, policy) if a.programme == programme)


def codes(item) -> list[str]:
    return [f.code for f in item.facts]


def fed(*signals, state: HouseholdState | None = None, policy=DEFAULT) -> HouseholdState:
    """The household after the signals, each at its own time, through the case rules."""
    state = state or HouseholdState(household_id="H1")
    for s in signals:
        state = apply_signal(state, s, s.occurred_at, policy).state
    return state


def household(*members: Member, **fields) -> HouseholdState:
    return HouseholdState(household_id="H1", members={f"p{i}": m for i, m in enumerate(members)}, **fields)


def close_with(state: HouseholdState, at: datetime, outcome: Outcome) -> HouseholdState:
    """The household after its open case is delivered and closed with the outcome."""
    for kind in ("deliver", "close"):
        case_id = state.open_case.case_id
        command = CaseCommand(type=kind, household_id="H1", issued_at=at, actor="officer:town:370784101", case_id=case_id, outcome=outcome)
        state = apply_command(state, command, at, DEFAULT).state
    return state


def county_policy(tmp_path, text: str):
    path = tmp_path / "county.toml"
    path.write_text('extends = "default"\nversion = "county-1"\n' + text, encoding="utf-8")
    return load_policy(str(path))


# 低保


def test_lowincome_enrolled_is_likely():
    state = fed(department_signal(NOW, "lowincome.enrolled", "l1", programme="lowincome"))
    result = advice(state, "lowincome")
    assert result.verdict is Verdict.LIKELY and result.facts[0].params == {"programme": "lowincome"}


def test_lowincome_after_a_vehicle_purchase_is_not_met_and_asks_what_it_is_for():
    state = fed(department_signal(NOW, "asset.vehicle_bought", "v1", value_yuan=80000))
    result = advice(state, "lowincome")
    assert result.verdict is Verdict.NOT_MET
    assert result.facts[0].params == {"assets": ["asset.vehicle_bought"]} and result.missing == ["asset_purpose"]


def test_lowincome_is_unknown_without_income_and_lists_the_signs_of_hardship():
    # The breadwinner dies, leaving a severely disabled mother and two children: worth a means test, but income decides.
    state = fed(
        department_signal(NOW, "household.member_died", "d1", person_key="father", breadwinner=True),
        department_signal(NOW, "disability.certified", "c1", person_key="mother", level=1),
        department_signal(NOW, "household.member_added", "a1", person_key="child-1", age=9),
        department_signal(NOW, "household.member_added", "a2", person_key="child-2", age=12),
    )
    result = advice(state, "lowincome")
    assert result.verdict is Verdict.UNKNOWN and result.missing == ["income", "savings"]
    assert codes(result) == ["breadwinner_lost", "dependency", "severe_disability", "single_person_route"]
    assert result.facts[0].params == {"change": "household.member_died"}


def test_lowincome_is_not_met_for_a_household_already_in_extreme_poverty_support():
    result = advice(household(Member(age=70), programme="extreme_poverty"), "lowincome")
    assert result.verdict is Verdict.NOT_MET and codes(result) == ["deeper_programme"]


# 特困


def test_extreme_poverty_is_likely_for_a_registered_elderly_person_alone_but_income_and_supporters_are_missing():
    result = advice(household(Member(age=78, registered=True)), "extreme_poverty")
    assert result.verdict is Verdict.LIKELY and result.missing == ["income", "supporters"]
    assert result.facts[0].params == {"elderly": 1, "minors": 0, "disabled": 0}


def test_extreme_poverty_is_unknown_when_only_a_callers_subject_is_known():
    result = advice(household(Member(age=78)), "extreme_poverty")
    assert result.verdict is Verdict.UNKNOWN and result.missing == ["composition", "income", "supporters"]
    assert advice(household(), "extreme_poverty").missing == ["composition"]


def test_extreme_poverty_is_not_met_with_a_member_able_to_work():
    state = household(Member(age=78, registered=True), Member(age=45, registered=True), Member(age=30, severe_disability=True))
    result = advice(state, "extreme_poverty")
    assert result.verdict is Verdict.NOT_MET and result.facts[0].params == {"count": 1}


def test_extreme_poverty_asks_for_an_assessment_when_the_only_member_of_working_age_is_critically_ill():
    state = fed(
        department_signal(NOW, "household.member_added", "a1", person_key="grandmother", age=72),
        hospital_signal(NOW, "h1", diagnosis="renal_failure"),
    )
    result = advice(state, "extreme_poverty")
    assert result.verdict is Verdict.UNKNOWN and codes(result) == ["no_able_members", "able_but_ill"]
    assert result.missing == ["work_ability", "income", "supporters"]
    healthy = fed(department_signal(NOW, "household.member_added", "a2", person_key="son", age=40), state=state)
    assert advice(healthy, "extreme_poverty").verdict is Verdict.NOT_MET


def test_a_county_may_set_its_own_ages(tmp_path):
    state = household(Member(age=62, registered=True))
    assert advice(state, "extreme_poverty").verdict is Verdict.LIKELY
    county = county_policy(tmp_path, "[programmes]\nelderly_from = 65\n")
    assert advice(state, "extreme_poverty", policy=county).verdict is Verdict.NOT_MET


# 低保边缘


def test_marginal_is_likely_after_leaving_lowincome_and_unknown_once_the_exit_is_old():
    enrolled = department_signal(NOW - timedelta(days=100), "lowincome.enrolled", "l1", programme="lowincome")
    exited = department_signal(NOW - timedelta(days=30), "lowincome.exited", "l2", programme="lowincome")
    state = fed(enrolled, exited)
    assert advice(state, "lowincome").verdict is Verdict.UNKNOWN
    result = advice(state, "marginal")
    assert result.verdict is Verdict.LIKELY and result.missing == ["income", "savings"]
    assert [f.params for f in result.facts if f.code == "exited"] == [{"programme": "lowincome", "date": "2026-10-23"}]
    later = advice(state, "marginal", now=NOW + timedelta(days=400))
    assert later.verdict is Verdict.UNKNOWN and "exited" not in codes(later)


def test_marginal_is_not_met_in_lowincome_and_likely_when_enrolled():
    assert advice(household(programme="lowincome"), "marginal").verdict is Verdict.NOT_MET
    assert advice(household(programme="marginal"), "marginal").verdict is Verdict.LIKELY


# 临时救助


def test_temporary_assistance_is_likely_for_an_open_emergency_case():
    state = fed(signal(NOW, kind="accident_or_disaster", children=2))
    assert state.open_case is not None
    result = advice(state, "temporary")
    assert result.verdict is Verdict.LIKELY and result.missing == []
    assert result.facts[0].params == {"category": ["accident_or_disaster"]}


def test_temporary_assistance_for_the_same_reason_again_asks_whether_the_hardship_is_new():
    first = fed(signal(NOW - timedelta(days=60), kind="no_food_or_shelter"))
    closed = close_with(first, NOW - timedelta(days=59), Outcome(aid_type="cash", amount_yuan=1500))
    again = fed(signal(NOW, event_id="e2", kind="no_food_or_shelter"), state=closed)
    result = advice(again, "temporary")
    assert result.verdict is Verdict.UNKNOWN and result.missing == ["new_hardship"]
    assert codes(result) == ["sudden", "helped_before", "helped_same_reason"]
    assert result.facts[2].params == {"category": "no_food_or_shelter", "aid": "cash", "date": "2026-09-24"}
    other = fed(signal(NOW, event_id="e3", kind="medical_emergency"), state=closed)
    assert advice(other, "temporary").verdict is Verdict.LIKELY


def test_temporary_assistance_without_sudden_hardship():
    assert advice(household(Member(age=40)), "temporary").verdict is Verdict.NOT_MET
    # A settled bill is no emergency, but what the household paid itself makes expenditure-type aid worth checking.
    state = fed(department_signal(NOW, "medical.large_expense", "m1", amount_yuan=30000, self_pay_share=0.5))
    result = advice(state, "temporary")
    assert result.verdict is Verdict.UNKNOWN and result.missing == ["income"]
    assert result.facts[0].params == {"yuan": 15000, "days": 365, "line": 10000}


# 因病致贫重病患者


def test_serious_illness_is_likely_with_a_critical_diagnosis_and_large_self_paid_costs():
    state = fed(hospital_signal(NOW, "h1", diagnosis="cancer", cost=40000, share=0.7))
    result = advice(state, "serious_illness")
    assert result.verdict is Verdict.LIKELY and result.missing == ["income"]
    assert result.facts[0].params == {"diagnosis": "cancer", "date": "2026-11-22"}
    assert result.facts[1].params == {"yuan": 28000, "days": 365, "line": 20000}


def test_an_admission_estimate_and_its_settlement_count_once():
    state = fed(
        hospital_signal(NOW - timedelta(days=20), "h1", diagnosis="cancer", cost=40000, share=0.7),
        department_signal(NOW, "medical.large_expense", "m1", amount_yuan=50000, self_pay_share=0.5),
    )
    assert advice(state, "serious_illness").facts[1].params["yuan"] == 28000


def test_serious_illness_is_unknown_with_only_one_of_diagnosis_and_costs():
    small = advice(fed(hospital_signal(NOW, "h1", diagnosis="stroke", cost=10000, share=0.3)), "serious_illness")
    assert small.verdict is Verdict.UNKNOWN and small.missing == ["medical_costs"]
    bill = fed(department_signal(NOW, "medical.large_expense", "m1", amount_yuan=60000, self_pay_share=0.5))
    assert advice(bill, "serious_illness").missing == ["diagnosis"]


def test_serious_illness_is_not_met_without_illness_within_the_year_or_when_enrolled():
    old = fed(hospital_signal(NOW - timedelta(days=400), "h1", diagnosis="cancer", cost=40000, share=0.7))
    result = advice(old, "serious_illness", now=NOW)
    assert result.verdict is Verdict.NOT_MET and codes(result) == ["no_serious_illness"]
    enrolled = fed(hospital_signal(NOW, "h1", diagnosis="cancer"), department_signal(NOW, "lowincome.enrolled", "l1", programme="marginal"))
    assert codes(advice(enrolled, "serious_illness")) == ["medical_via_enrolment"]


def test_a_county_may_set_its_own_burden_line(tmp_path):
    state = fed(hospital_signal(NOW, "h1", diagnosis="cancer", cost=40000, share=0.7))
    county = county_policy(tmp_path, "[programmes.serious_illness]\nself_paid_yuan = 30000\n")
    result = advice(state, "serious_illness", policy=county)
    assert result.verdict is Verdict.UNKNOWN and result.facts[1].params["line"] == 30000


# 教育救助


def test_education_is_likely_for_a_lowincome_college_student_who_has_not_claimed_the_grant():
    # Seed 002: 小力 of a 低保 household, admitted to college, had not applied for the 2,000-yuan grant.
    state = fed(
        department_signal(NOW - timedelta(days=300), "lowincome.enrolled", "l1", programme="lowincome"),
        department_signal(NOW, "education.enrolled_college", "c1", person_key="xiaoli", age=18, grant_claimed=False),
    )
    result = advice(state, "education")
    assert result.verdict is Verdict.LIKELY and codes(result) == ["enrolled", "college_unclaimed"] and result.missing == []


def test_education_is_unknown_outside_the_programmes_and_not_met_without_students():
    student = fed(department_signal(NOW, "education.enrolled_college", "c1", age=18, grant_claimed=False))
    result = advice(student, "education")
    assert result.verdict is Verdict.UNKNOWN and result.missing == ["income"]
    assert result.facts[0].params == {"programmes": ["lowincome", "extreme_poverty"]}
    assert advice(household(Member(age=45), Member(age=44)), "education").verdict is Verdict.NOT_MET


def test_education_for_school_age_children_of_an_enrolled_household_asks_whether_they_are_in_school():
    state = household(Member(age=70), Member(age=11), programme="extreme_poverty")
    result = advice(state, "education")
    assert result.verdict is Verdict.LIKELY and result.missing == ["school_enrolment"]
    reported = household(Member(age=35), programme="lowincome", reported=HouseholdFlags(children=2))
    assert advice(reported, "education").verdict is Verdict.UNKNOWN


# The household record behind the check


def test_members_carry_name_masked_id_and_sex_and_the_registry_spelling_wins():
    number = id_number(serial=124)  # 17th digit 2: female
    call = signal(NOW, kind="other").model_copy(update={"subject": SubjectView(id_masked=mask_id_number(number), name="王晓红")})
    state = fed(call)
    member = state.members["person-1"]
    assert (member.name, member.id_masked, member.sex) == ("王晓红", mask_id_number(number), "female")
    registry = department_signal(NOW, "household.member_added", "a1").model_copy(
        update={"subject": SubjectView(id_masked="3707**********1234", name="王小红")}
    )
    renamed = fed(call.model_copy(update={"event_id": "e9"}), state=fed(registry, state=state))
    assert renamed.members["person-1"].name == "王小红"


def test_sex_from_an_id_number_or_its_masked_form():
    assert sex_from_id(id_number(serial=123)) == "male" and sex_from_id(mask_id_number(id_number(serial=123))) == "male"
    assert sex_from_id(id_number(serial=124)) == "female"
    assert sex_from_id("") is None and sex_from_id("3707**********") is None


def test_a_state_stored_before_the_programme_check_still_loads():
    stored = {"household_id": "H1", "members": {"p": {"age": 7, "registered": True}}, "programme": "lowincome"}
    state = HouseholdState.model_validate(stored)
    assert state.medical == [] and state.help_history == [] and state.members["p"].sex is None
    assert len(evaluate_programmes(state, NOW, DEFAULT)) == len(PROGRAMMES)


def test_medical_costs_and_help_history_stay_bounded():
    state = HouseholdState(household_id="H1")
    for n in range(MEDICAL_KEPT + 10):
        s = hospital_signal(NOW + timedelta(hours=n), f"h{n}")
        state = remember(state, s, [], s.occurred_at, 60, 10)
    assert len(state.medical) == MEDICAL_KEPT and state.medical[-1].at == NOW + timedelta(hours=MEDICAL_KEPT + 9)
    state = HouseholdState(household_id="H1")
    for n in range(HELP_KEPT + 3):
        at = NOW + timedelta(days=n)
        state = close_with(fed(signal(at, event_id=f"e{n}", kind="no_food_or_shelter"), state=state), at, Outcome(aid_type="in_kind"))
    assert len(state.help_history) == HELP_KEPT and state.help_history[-1].aid_type == "in_kind"


# Texts and the case


def test_every_fact_and_missing_code_has_a_text_in_every_language():
    states = [
        fed(signal(NOW, kind="accident_or_disaster", children=2)),
        fed(
            hospital_signal(NOW, "h1", diagnosis="cancer"),
            department_signal(NOW, "employment.lost", "j1", person_key="p2", breadwinner=True),
        ),
        household(Member(age=78, registered=True), programme="lowincome"),
        household(Member(age=70), Member(age=11), assets=["asset.property_bought"]),
        fed(
            department_signal(NOW, "education.enrolled_college", "c1", age=18, grant_claimed=True),
            department_signal(NOW, "lowincome.exited", "x", programme="marginal"),
        ),
    ]
    for language in LANGUAGES:
        catalogue = messages(language)
        for state in states:
            for item in evaluate_programmes(state, NOW, DEFAULT):
                assert {f"programme.fact.{f.code}" for f in item.facts} <= catalogue.keys()
                assert {f"programme.missing.{m}" for m in item.missing} <= catalogue.keys()
            for text in programme_texts(evaluate_programmes(state, NOW, DEFAULT), language):
                assert all("{" not in t and "programme." not in t for t in [text.name, text.verdict_text, *text.facts, *text.missing])


def test_the_catalogue_names_exactly_the_codes_the_rules_use():
    source = Path(programmes_module.__file__).read_text(encoding="utf-8")
    for language in LANGUAGES:
        catalogue = messages(language)
        facts = {key.removeprefix("programme.fact.") for key in catalogue if key.startswith("programme.fact.")}
        assert facts == set(re.findall(r'code="(\w+)"', source))
        missing = {key.removeprefix("programme.missing.") for key in catalogue if key.startswith("programme.missing.")}
        assert all(f'"{code}"' in source for code in missing)


def test_a_case_closed_again_after_reopening_is_in_the_help_history_once():
    closed = close_with(fed(signal(NOW, kind="no_food_or_shelter")), NOW + timedelta(hours=1), Outcome(aid_type="in_kind"))
    case_id = closed.closed_cases[-1].case_id
    reopen = CaseCommand(type="reopen", household_id="H1", issued_at=NOW, actor="officer:town:370784101", case_id=case_id, text="再次求助")
    reopened = apply_command(closed, reopen, NOW + timedelta(days=1), DEFAULT).state
    again = close_with(reopened, NOW + timedelta(days=2), Outcome(aid_type="cash", amount_yuan=800))
    assert [(h.case_id, h.aid_type, h.amount_yuan) for h in again.help_history] == [(case_id, "cash", 800)]


def test_programme_texts_in_chinese_first_and_english():
    state = fed(hospital_signal(NOW, "h1", diagnosis="cancer", cost=40000, share=0.7))
    chinese = {t.programme: t for t in programme_texts(evaluate_programmes(state, NOW, DEFAULT))}["serious_illness"]
    assert chinese.name == "因病致贫重病患者" and chinese.verdict_text == "可能符合"
    assert chinese.facts == ["重特大疾病：恶性肿瘤（2026-11-22 入院）", "近 365 天自付医疗费用约 28,000 元（参考线 20,000 元）"]
    assert chinese.missing == ["家庭收入（与当地低保标准比较）"]
    english = programme_texts(evaluate_programmes(state, NOW, DEFAULT), "en")[0]
    assert english.name == "minimum living allowance (dibao)" and english.verdict_text == "to be checked"


@pytest.mark.parametrize("kind", ["medical_emergency", "child_unattended"])
def test_each_signal_carries_the_programme_check_of_its_household_on_its_household_view(kind):
    def checked(state: HouseholdState, s) -> tuple[HouseholdState, dict]:
        outcome = apply_signal(state, s, s.occurred_at, DEFAULT)
        (view,) = [e.household for e in with_household(outcome.events, outcome.state, s.occurred_at, DEFAULT) if e.household]
        return outcome.state, {a.programme: a for a in view.programmes}

    state, first = checked(HouseholdState(household_id="H1"), signal(NOW, kind=kind, children=2))
    assert list(first) == list(PROGRAMMES)
    assert first["temporary"].verdict is Verdict.LIKELY and first["serious_illness"].verdict is Verdict.NOT_MET
    _, later = checked(state, hospital_signal(NOW + timedelta(hours=1), "h1", diagnosis="cancer"))
    assert later["serious_illness"].verdict is Verdict.LIKELY
