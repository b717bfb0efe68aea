"""Urgency scoring: an additive, explainable model with no I/O.

A household's urgency is the most serious recent event's own points, plus the household's
vulnerability, plus decaying points for other recent events that corroborate it.
"""

from datetime import datetime

from schemas.case import Factor, Priority, Signal, Urgency
from streams.rules.household import HouseholdState, RecentSignal, dependency_of, vulnerability
from streams.rules.policy import Policy


def _out_of_pocket_factor(cost_yuan: float, self_pay_share: float, policy: Policy) -> list[Factor]:
    """Points for what the household itself must pay."""
    own_cost = cost_yuan * self_pay_share
    for threshold, points in policy.out_of_pocket_points:
        if own_cost >= threshold:
            return [Factor(code="burden:out_of_pocket", points=points, params={"yuan": round(own_cost)})]
    return []


def own_factors(signal: Signal, policy: Policy) -> list[Factor]:
    """What the event itself says, before anything is known about the household."""
    details = signal.details
    if signal.source == "hotline":
        return [Factor(code=f"hotline:{signal.kind}", points=policy.hotline_base[signal.kind])]
    if signal.source == "visit":
        return [Factor(code=f"visit:{signal.kind}", points=policy.visit_base[signal.kind])]
    if signal.source == "hospital":
        factors = [Factor(code=f"hospital:{signal.kind}", points=policy.hospital_base[signal.kind])]
        if details["diagnosis_category"] != "non_critical":
            factors.append(
                Factor(
                    code="hospital:critical_illness", points=policy.critical_illness, params={"diagnosis": details["diagnosis_category"]}
                )
            )
        return factors + _out_of_pocket_factor(details["estimated_cost_yuan"], details["self_pay_share"], policy)
    factors = [
        Factor(code=f"department:{signal.kind}", points=policy.department_base[signal.kind], params={"department": details["department"]})
    ]
    if details.get("breadwinner") and signal.kind in ("household.member_died", "employment.lost"):
        factors.append(Factor(code="household:breadwinner", points=policy.breadwinner, params={"change": signal.kind}))
    if signal.kind == "medical.large_expense":
        factors += _out_of_pocket_factor(details["amount_yuan"], details["self_pay_share"], policy)
    if signal.kind == "education.enrolled_college" and details["grant_claimed"]:
        factors.append(Factor(code="education:grant_claimed", points=policy.grant_claimed))
    return factors


def vulnerability_factors(state: HouseholdState, policy: Policy) -> list[Factor]:
    """Points for what makes the household more vulnerable, from reports and members' records."""
    weights = policy.vulnerability
    flags = vulnerability(state)
    factors = []
    if flags.children:
        points = min(flags.children * weights.per_child, weights.max_children_points)
        factors.append(Factor(code="household:children", points=points, params={"count": flags.children}))
    for code, present, points in (
        ("household:elderly_alone", flags.elderly_alone, weights.elderly_alone),
        ("household:severe_disability", flags.disabled, weights.disabled),
        ("household:pregnancy", flags.pregnant, weights.pregnant),
    ):
        if present:
            factors.append(Factor(code=code, points=points))
    if state.programme:
        factors.append(Factor(code=f"enrolment:{state.programme}", points=weights.programmes[state.programme]))
    dependency = dependency_of(state)
    if dependency is not None and dependency.ratio >= weights.dependency_ratio_from:
        counts = {"dependants": dependency.dependants, "working": dependency.working}
        factors.append(Factor(code="household:dependency_ratio", points=weights.high_dependency_ratio, params=counts))
    return factors


def compounding_factors(strongest: RecentSignal, others: list[RecentSignal], now: datetime, policy: Policy) -> list[Factor]:
    """Points for other recent events that add need, decaying with age, more for independent sources."""
    rules = policy.compounding
    evidence = [r for r in others if r.points > 0]
    if not evidence:
        return []
    decayed = sum(rules.per_signal * 0.5 ** ((now - r.at).total_seconds() / rules.half_life_s) for r in evidence)
    factors = [Factor(code="compounding:recent_signals", points=round(decayed, 1), params={"count": len(evidence)})]
    independent = {r.source for r in evidence} - {strongest.source}
    if independent:
        factors.append(
            Factor(
                code="compounding:independent_sources",
                points=rules.independent_source_bonus * len(independent),
                params={"count": len(independent), "sources": sorted(independent)},
            )
        )
    total = sum(f.points for f in factors)
    if total > rules.max_points:
        factors.append(Factor(code="compounding:cap", points=rules.max_points - total, params={"max": rules.max_points}))
    return factors


def priority_for(score: float, policy: Policy) -> Priority | None:
    """The highest level whose threshold the score reaches, or None (household timeline only)."""
    for priority in (Priority.P1, Priority.P2, Priority.P3):
        if score >= policy.levels[priority]:
            return priority
    return None


def household_urgency(state: HouseholdState, now: datetime, policy: Policy) -> Urgency:
    """Score the household as it stands: its most serious recent event, vulnerability and corroboration."""
    candidates = [r for r in state.recent if not r.repeat and not r.handled] or state.recent[-1:]
    strongest = max(candidates, key=lambda r: (r.points, r.at))
    others = [r for r in candidates if r is not strongest]
    factors = (
        strongest.factors
        + vulnerability_factors(state, policy)
        + compounding_factors(strongest, others, now, policy)
        + [f for r in others if r.points < 0 for f in r.factors]
    )
    total = max(0, min(100, round(sum(f.points for f in factors))))
    return Urgency(score=total, priority=priority_for(total, policy), factors=factors, policy_version=policy.version)
