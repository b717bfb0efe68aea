"""多事一核 (one check, several aids, seeds 002 and 003): the programmes a household may qualify for, from what RapidAid knows.

Advice for the officer, never a decision. RapidAid sees signals, enrolment and the registry's members, not a household's
income or savings: where a programme depends on them, the advice names them as missing instead of guessing.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from schemas.case import AidType
from schemas.programmes import Fact, ProgrammeAdvice, Verdict
from streams.rules.clock import CHINA
from streams.rules.household import HelpRecord, HouseholdState, MedicalCost, Member, dependency_of
from streams.rules.policy import Policy, ProgrammesPolicy

# What each enrolment already gives, so a household is not sent to apply for less than it has.
DEEPER_THAN = {"lowincome": {"extreme_poverty"}, "marginal": {"lowincome", "extreme_poverty"}}
MEANS_TESTED_ENROLMENT = {"lowincome", "extreme_poverty", "marginal"}


@dataclass(frozen=True)
class _Known:
    """What the programme rules read from the household, gathered once."""

    members: dict[str, Member]  # the living, by person key
    critically_ill: set[str]
    assets: list[str]
    medical: list[MedicalCost]
    self_paid_yuan: float
    help: list[HelpRecord]
    exit_age_days: float | None
    hardship: tuple[Fact, ...] = ()


def _day(at: datetime) -> str:
    """A date as people read it, in China time."""
    return at.astimezone(CHINA).date().isoformat()


def _self_paid(medical: list[MedicalCost]) -> float:
    """What the household paid itself; per person the larger of settled bills and admission estimates.

    A hospital's estimate at admission and the settlement of the same stay later would otherwise count twice.
    """
    totals: dict[tuple[str, bool], float] = {}
    for m in medical:
        totals[m.person_key, m.settled] = totals.get((m.person_key, m.settled), 0) + m.self_paid_yuan
    return sum(max(totals.get((p, True), 0), totals.get((p, False), 0)) for p in {m.person_key for m in medical})


def _known(state: HouseholdState, now: datetime, policy: Policy) -> _Known:
    """What the rules read from the household at now, within the policy's window."""
    rules = policy.programmes
    horizon = now - timedelta(days=rules.window_days)
    medical = [m for m in state.medical if m.at >= horizon]
    known = _Known(
        members={key: m for key, m in state.members.items() if not m.deceased},
        critically_ill={m.person_key for m in medical if m.diagnosis not in (None, "non_critical")},
        assets=sorted(set(state.assets)),
        medical=medical,
        self_paid_yuan=_self_paid(medical),
        help=[h for h in state.help_history if h.closed_at >= horizon],
        exit_age_days=(now - state.exited.at).total_seconds() / 86400 if state.exited else None,
    )
    return replace(known, hardship=tuple(_hardship(state, known, policy)))


def _able(member: Member, rules: ProgrammesPolicy) -> bool:
    """Of working age and without a severe disability: expected to earn, and to support the others."""
    return rules.minor_below <= member.age < rules.elderly_from and not member.severe_disability


def _self_paid_fact(known: _Known, rules: ProgrammesPolicy, line: float) -> Fact:
    return Fact(code="self_paid", params={"yuan": round(known.self_paid_yuan), "days": rules.window_days, "line": round(line)})


def _hardship(state: HouseholdState, known: _Known, policy: Policy) -> list[Fact]:
    """Signs on record that make a means test worth doing now (seed 004's sensitive factors)."""
    rules = policy.programmes
    facts = []
    for change, lost in (
        ("household.member_died", lambda m: m.deceased),
        ("employment.lost", lambda m: not m.deceased and m.employed is False),
    ):
        if any(m.breadwinner and lost(m) for m in state.members.values()):
            facts.append(Fact(code="breadwinner_lost", params={"change": change}))
    unemployed = sum(rules.minor_below <= m.age < rules.elderly_from and m.employed is False for m in known.members.values())
    if unemployed:
        facts.append(Fact(code="unemployed", params={"count": unemployed}))
    dependency = dependency_of(state)
    if dependency is not None and dependency.ratio >= policy.vulnerability.dependency_ratio_from:
        facts.append(Fact(code="dependency", params={"dependants": dependency.dependants, "working": dependency.working}))
    disabled = sum(m.severe_disability for m in known.members.values())
    if disabled:
        facts.append(Fact(code="severe_disability", params={"count": disabled}))
    if known.self_paid_yuan > 0:
        facts.append(Fact(code="self_paid_total", params={"yuan": round(known.self_paid_yuan), "days": rules.window_days}))
    if state.exited and known.exit_age_days is not None and known.exit_age_days <= rules.window_days:
        facts.append(Fact(code="exited", params={"programme": state.exited.programme, "date": _day(state.exited.at)}))
    return facts


def _settled(programme: str, state: HouseholdState, known: _Known, policy: Policy) -> ProgrammeAdvice | None:
    """The verdict enrolment or an asset purchase already settles, before any other rule."""
    if state.programme == programme:
        return ProgrammeAdvice(programme=programme, verdict=Verdict.LIKELY, facts=[Fact(code="enrolled", params={"programme": programme})])
    if state.programme in DEEPER_THAN.get(programme, ()):
        facts = [Fact(code="deeper_programme", params={"programme": state.programme})]
        return ProgrammeAdvice(programme=programme, verdict=Verdict.NOT_MET, facts=facts)
    if known.assets and programme in policy.programmes.ruled_out_by_assets:
        facts = [Fact(code="assets", params={"assets": known.assets})]
        return ProgrammeAdvice(programme=programme, verdict=Verdict.NOT_MET, facts=facts, missing=["asset_purpose"])
    return None


def _lowincome(state: HouseholdState, known: _Known, policy: Policy) -> ProgrammeAdvice:
    """低保: decided by income and property, which RapidAid does not see; enrolment and purchases it does."""
    settled = _settled("lowincome", state, known, policy)
    if settled:
        return settled
    facts = list(known.hardship)
    # Seed 002: a severely disabled member may apply on their own, as a one-person household (参照单人户).
    if any(m.severe_disability for m in known.members.values()) and len(known.members) > 1:
        facts.append(Fact(code="single_person_route"))
    return ProgrammeAdvice(programme="lowincome", verdict=Verdict.UNKNOWN, facts=facts, missing=["income", "savings"])


def _extreme_poverty(state: HouseholdState, known: _Known, policy: Policy) -> ProgrammeAdvice:
    """特困: the elderly, severely disabled and minors, with nobody able to work in the household."""
    settled = _settled("extreme_poverty", state, known, policy)
    if settled:
        return settled
    rules = policy.programmes
    if not known.members:
        return ProgrammeAdvice(programme="extreme_poverty", verdict=Verdict.UNKNOWN, missing=["composition"])
    able = {key for key, m in known.members.items() if _able(m, rules)}
    if able - known.critically_ill:
        facts = [Fact(code="able_members", params={"count": len(able - known.critically_ill)})]
        return ProgrammeAdvice(programme="extreme_poverty", verdict=Verdict.NOT_MET, facts=facts)
    counts = {
        "elderly": sum(m.age >= rules.elderly_from for m in known.members.values()),
        "minors": sum(m.age < rules.minor_below for m in known.members.values()),
        "disabled": sum(m.severe_disability and rules.minor_below <= m.age < rules.elderly_from for m in known.members.values()),
    }
    facts = [Fact(code="no_able_members", params=counts)]
    if able:
        # A critical illness may take away the ability to work (无劳动能力), but only an assessment says so.
        facts.append(Fact(code="able_but_ill", params={"count": len(able)}))
        missing = ["work_ability", "income", "supporters"]
        return ProgrammeAdvice(programme="extreme_poverty", verdict=Verdict.UNKNOWN, facts=facts, missing=missing)
    # Only the household registry says who lives there: a caller's subject alone is not the whole household.
    if any(m.registered for m in known.members.values()):
        return ProgrammeAdvice(programme="extreme_poverty", verdict=Verdict.LIKELY, facts=facts, missing=["income", "supporters"])
    return ProgrammeAdvice(
        programme="extreme_poverty", verdict=Verdict.UNKNOWN, facts=facts, missing=["composition", "income", "supporters"]
    )


def _marginal(state: HouseholdState, known: _Known, policy: Policy) -> ProgrammeAdvice:
    """低保边缘: income a little above the 低保 line; seed 002 checks it whenever a household leaves 低保 or 特困."""
    settled = _settled("marginal", state, known, policy)
    if settled:
        return settled
    facts = list(known.hardship)
    recent_exit = (
        state.exited is not None
        and state.exited.programme in DEEPER_THAN["marginal"]
        and known.exit_age_days <= policy.programmes.marginal.after_exit_days
    )
    verdict = Verdict.LIKELY if recent_exit else Verdict.UNKNOWN
    if recent_exit and not any(f.code == "exited" for f in facts):
        facts.append(Fact(code="exited", params={"programme": state.exited.programme, "date": _day(state.exited.at)}))
    return ProgrammeAdvice(programme="marginal", verdict=verdict, facts=facts, missing=["income", "savings"])


def _sudden_kinds(state: HouseholdState, policy: Policy) -> list[str]:
    """The sudden hardships the household is in now: its open case's reports and its recent unhandled signals."""
    sudden = set(policy.programmes.temporary.sudden)
    kinds = [r.kind for r in state.recent if not r.handled]
    if state.open_case is not None:
        kinds = [state.open_case.category, *(r.kind for r in state.open_case.reports), *kinds]
    return list(dict.fromkeys(k for k in kinds if k in sudden))


def _temporary(state: HouseholdState, known: _Known, now: datetime, policy: Policy) -> ProgrammeAdvice:
    """临时救助: sudden hardship is helped first and checked after (急难型); rigid expenditure needs the means test (支出型)."""
    rules = policy.programmes
    sudden = _sudden_kinds(state, policy)
    if sudden:
        facts = [Fact(code="sudden", params={"category": sudden})]
        if known.help:
            facts.append(Fact(code="helped_before", params={"count": len(known.help), "days": rules.window_days}))
        horizon = now - timedelta(days=rules.temporary.same_reason_days)
        same = [
            h for h in state.help_history if h.closed_at >= horizon and h.category in sudden and h.aid_type not in (None, AidType.REFERRAL)
        ]
        if same:
            last = same[-1]
            facts.append(
                Fact(
                    code="helped_same_reason", params={"category": last.category, "aid": last.aid_type.value, "date": _day(last.closed_at)}
                )
            )
            return ProgrammeAdvice(programme="temporary", verdict=Verdict.UNKNOWN, facts=facts, missing=["new_hardship"])
        return ProgrammeAdvice(programme="temporary", verdict=Verdict.LIKELY, facts=facts)
    if known.self_paid_yuan >= rules.temporary.expense_yuan:
        facts = [_self_paid_fact(known, rules, rules.temporary.expense_yuan)]
        return ProgrammeAdvice(programme="temporary", verdict=Verdict.UNKNOWN, facts=facts, missing=["income"])
    return ProgrammeAdvice(programme="temporary", verdict=Verdict.NOT_MET, facts=[Fact(code="no_sudden")])


def _serious_illness(state: HouseholdState, known: _Known, policy: Policy) -> ProgrammeAdvice:
    """因病致贫重病患者: a critical illness and large self-paid costs, in a household outside 低保, 特困 and 低保边缘."""
    rules = policy.programmes
    if state.programme in MEANS_TESTED_ENROLMENT:
        # Enrolled households get medical aid through their enrolment; this category is for the others.
        facts = [Fact(code="medical_via_enrolment", params={"programme": state.programme})]
        return ProgrammeAdvice(programme="serious_illness", verdict=Verdict.NOT_MET, facts=facts)
    settled = _settled("serious_illness", state, known, policy)
    if settled:
        return settled
    critical = [m for m in known.medical if m.diagnosis not in (None, "non_critical")]
    line = rules.serious_illness.self_paid_yuan
    large = known.self_paid_yuan >= line
    facts = [Fact(code="critical_illness", params={"diagnosis": critical[-1].diagnosis, "date": _day(critical[-1].at)})] if critical else []
    if known.self_paid_yuan > 0:
        facts.append(_self_paid_fact(known, rules, line))
    if critical and large:
        return ProgrammeAdvice(programme="serious_illness", verdict=Verdict.LIKELY, facts=facts, missing=["income"])
    if critical:
        return ProgrammeAdvice(programme="serious_illness", verdict=Verdict.UNKNOWN, facts=facts, missing=["medical_costs"])
    if large:
        return ProgrammeAdvice(programme="serious_illness", verdict=Verdict.UNKNOWN, facts=facts, missing=["diagnosis"])
    return ProgrammeAdvice(
        programme="serious_illness",
        verdict=Verdict.NOT_MET,
        facts=[*facts, Fact(code="no_serious_illness", params={"days": rules.window_days})],
    )


def _education(state: HouseholdState, known: _Known, now: datetime, policy: Policy) -> ProgrammeAdvice:
    """Education aid: students of enrolled households; seed 002's college grant that a 低保 student had not claimed."""
    rules = policy.programmes.education
    eligible = state.programme in rules.programmes
    horizon = now - timedelta(days=rules.college_days)
    college = [m for m in known.members.values() if m.college_since is not None and m.college_since >= horizon]
    unclaimed = sum(not m.college_grant_claimed for m in college)
    school = sum(rules.school_from <= m.age < rules.school_below and m.college_since is None for m in known.members.values())
    unplaced = max(0, state.reported.children - sum(m.age < policy.programmes.minor_below for m in known.members.values()))
    facts = (
        [Fact(code="enrolled", params={"programme": state.programme})]
        if eligible
        else [Fact(code="not_enrolled", params={"programmes": rules.programmes})]
    )
    if unclaimed:
        facts.append(Fact(code="college_unclaimed", params={"count": unclaimed}))
    if len(college) > unclaimed:
        facts.append(Fact(code="college_claimed", params={"count": len(college) - unclaimed}))
    if school:
        facts.append(Fact(code="school_age", params={"count": school, "from": rules.school_from, "below": rules.school_below}))
    if unplaced:
        facts.append(Fact(code="children_reported", params={"count": unplaced}))
    if not (college or school or unplaced):
        return ProgrammeAdvice(programme="education", verdict=Verdict.NOT_MET, facts=[Fact(code="no_students")])
    missing = [] if eligible else ["income"]
    if school or unplaced:
        missing.append("school_enrolment")
    if eligible and (college or school):
        return ProgrammeAdvice(programme="education", verdict=Verdict.LIKELY, facts=facts, missing=missing)
    return ProgrammeAdvice(programme="education", verdict=Verdict.UNKNOWN, facts=facts, missing=missing)


def evaluate_programmes(state: HouseholdState, now: datetime, policy: Policy) -> list[ProgrammeAdvice]:
    """Each programme's verdict on the household at now, the facts behind it and what is missing to decide."""
    known = _known(state, now, policy)
    return [
        _lowincome(state, known, policy),
        _extreme_poverty(state, known, policy),
        _marginal(state, known, policy),
        _temporary(state, known, now, policy),
        _serious_illness(state, known, policy),
        _education(state, known, now, policy),
    ]
