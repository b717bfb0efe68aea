"""Factor labels: every factor the scoring can produce reads in plain words in both languages."""

from datetime import UTC, datetime, timedelta

import pytest

from schemas.case import Factor
from schemas.departments import load_departments
from schemas.intake import DEPARTMENT_CHANGE_TYPES, AdmissionType, CallCategory, Diagnosis, HouseholdFlags, Programme
from schemas.messages import LANGUAGES, messages
from streams.policies import load_policy
from streams.rules.household import HouseholdState, RecentSignal
from streams.rules.scoring import compounding_factors, own_factors, vulnerability_factors
from streams.rules.texts import factor_text
from tests.factories import signal

POLICY = load_policy("default")
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def _every_factor() -> list[Factor]:
    """Factors from every branch of the scoring: each kind of event, each vulnerability, each compounding term."""
    factors = [f for category in CallCategory for f in own_factors(signal(NOW, kind=category.value), POLICY)]
    factors += own_factors(signal(NOW, kind="visit.more_help", source="visit"), POLICY)
    for admission in AdmissionType:
        for diagnosis in Diagnosis:
            admitted = signal(
                NOW,
                kind=admission.value,
                source="hospital",
                diagnosis_category=diagnosis.value,
                estimated_cost_yuan=100_000,
                self_pay_share=1,
            )
            factors += own_factors(admitted, POLICY)
    departments = load_departments("bundled").departments
    for department, kinds in departments.items():
        for kind in kinds:
            details = {"department": department, "breadwinner": True, "amount_yuan": 100_000, "self_pay_share": 1, "grant_claimed": True}
            factors += own_factors(signal(NOW, kind=kind, source="department", **details), POLICY)
    for programme in Programme:
        flags = HouseholdFlags(children=2, elderly_alone=True, disabled=True, pregnant=True)
        factors += vulnerability_factors(HouseholdState(household_id="H1", reported=flags, programme=programme), POLICY)
    corroborating = [Factor(code="hotline:other", points=25)]
    others = [
        RecentSignal(event_id=f"e{n}", source=source, kind="x", at=NOW - timedelta(hours=n), person_key="p", factors=corroborating)
        for n, source in enumerate(("hospital", "department", "hotline"))
    ]
    strongest = RecentSignal(event_id="s", source="hotline", kind="x", at=NOW, person_key="p")
    return factors + compounding_factors(strongest, others, NOW, POLICY)


def test_every_factor_the_scoring_produces_has_words_in_every_language():
    factors = _every_factor()
    codes = {f.code for f in factors}
    assert {f"department:{kind}" for kind in DEPARTMENT_CHANGE_TYPES} <= codes
    assert {"compounding:cap", "compounding:independent_sources", "household:dependency_ratio", "household:breadwinner"} <= codes
    for language in LANGUAGES:
        catalogue = messages(language)
        for factor in factors:
            assert f"factor.{factor.code}" in catalogue, f"{language}: no words for factor {factor.code}"
            text = factor_text(factor, language)
            assert "{" not in text and not text.startswith("factor."), text


@pytest.mark.parametrize(
    ("factor", "chinese", "english"),
    [
        (Factor(code="household:children", points=10, params={"count": 2}), "未成年子女 2 人 +10", "2 child(ren) under 18 +10"),
        (
            Factor(code="burden:out_of_pocket", points=15, params={"yuan": 56000}),
            "自付医疗费约 56,000 元 +15",
            "about 56,000 yuan self-paid +15",
        ),
        (
            Factor(code="hospital:critical_illness", points=10, params={"diagnosis": "cancer"}),
            "重特大疾病：恶性肿瘤 +10",
            "critical illness: cancer +10",
        ),
        (
            Factor(code="compounding:independent_sources", points=12, params={"count": 2, "sources": ["department", "hospital"]}),
            "2 个独立来源相互印证：部门数据、医院 +12",
            "2 independent source(s) confirm: department record, hospital +12",
        ),
        (
            Factor(code="household:breadwinner", points=25, params={"change": "household.member_died"}),
            "家庭经济支柱去世 +25",
            "the breadwinner died +25",
        ),
        (
            Factor(code="department:asset.vehicle_bought", points=-10, params={"department": "public-security"}, applied=False),
            "购置车辆（公安） -10（不计分：不降低在办案件的评分）",
            "vehicle bought (public security) -10 (not counted: never lowers an open case)",
        ),
        (
            Factor(code="compounding:recent_signals", points=6.3, params={"count": 1}),
            "近期另有 1 条线索 +6.3",
            "1 other recent signal(s) +6.3",
        ),
    ],
)
def test_a_factor_reads_as_words_and_points(factor, chinese, english):
    assert factor_text(factor) == chinese
    assert factor_text(factor, "en") == english


def test_a_case_document_keeps_codes_and_parameters_not_words():
    children = next(f for f in _every_factor() if f.code == "household:children")
    assert children.model_dump() == {"code": "household:children", "points": 10.0, "params": {"count": 2}, "applied": True}
