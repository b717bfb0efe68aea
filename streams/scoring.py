"""Urgency scoring: an additive, explainable model with no I/O."""

from datetime import datetime, timedelta

from schemas.case import Factor, Priority, Signal, Urgency
from schemas.intake import HouseholdFlags
from streams.household import RecentSignal
from streams.policy import Policy


def base_factors(signal: Signal, policy: Policy) -> list[Factor]:
    """Points for what the event itself says."""
    points = policy.hotline_base[signal.kind]
    return [Factor(code=f"{signal.source}:{signal.kind}", points=points, detail=f"{signal.source} event {signal.kind}")]


def vulnerability_factors(flags: HouseholdFlags, policy: Policy) -> list[Factor]:
    """Points for the household's known vulnerabilities."""
    weights = policy.vulnerability
    factors = []
    if flags.children:
        points = min(flags.children * weights.per_child, weights.max_children_points)
        factors.append(Factor(code="household:children", points=points, detail=f"{flags.children} child(ren)"))
    for code, present, points in (
        ("household:elderly_alone", flags.elderly_alone, weights.elderly_alone),
        ("household:severe_disability", flags.disabled, weights.disabled),
        ("household:pregnancy", flags.pregnant, weights.pregnant),
    ):
        if present:
            factors.append(Factor(code=code, points=points))
    return factors


def is_repeat_call(signal: Signal, earlier: RecentSignal, policy: Policy) -> bool:
    """True when the same caller reports the same person again within the repeat window."""
    return (
        signal.caller_key is not None
        and earlier.caller_key == signal.caller_key
        and earlier.person_key == signal.person_key
        and abs((signal.occurred_at - earlier.at).total_seconds()) <= policy.compounding.repeat_call_window_s
    )


def corroborating(signal: Signal, recent: list[RecentSignal], now: datetime, policy: Policy) -> list[RecentSignal]:
    """Earlier signals in the window that are new evidence (not this event, not repeat calls)."""
    horizon = now - timedelta(seconds=policy.compounding.window_s)
    return [r for r in recent if r.event_id != signal.event_id and r.at >= horizon and not is_repeat_call(signal, r, policy)]


def compounding_factors(signal: Signal, recent: list[RecentSignal], now: datetime, policy: Policy) -> list[Factor]:
    """Points for earlier signals about the household, decaying with age, more for other sources."""
    rules = policy.compounding
    evidence = corroborating(signal, recent, now, policy)
    if not evidence:
        return []
    decayed = sum(rules.per_signal * 0.5 ** ((now - r.at).total_seconds() / rules.half_life_s) for r in evidence)
    others = {r.source for r in evidence} - {signal.source}
    factors = [Factor(code="compounding:recent_signals", points=round(decayed, 1), detail=f"{len(evidence)} earlier signal(s) in window")]
    if others:
        factors.append(
            Factor(
                code="compounding:independent_sources",
                points=rules.independent_source_bonus * len(others),
                detail=", ".join(sorted(others)),
            )
        )
    total = sum(f.points for f in factors)
    if total > rules.max_points:
        factors.append(Factor(code="compounding:cap", points=rules.max_points - total, detail=f"capped at {rules.max_points:g}"))
    return factors


def priority_for(score: float, policy: Policy) -> Priority | None:
    """The highest level whose threshold the score reaches, or None (household timeline only)."""
    for priority in (Priority.P1, Priority.P2, Priority.P3):
        if score >= policy.levels[priority]:
            return priority
    return None


def score(signal: Signal, flags: HouseholdFlags, recent: list[RecentSignal], now: datetime, policy: Policy) -> Urgency:
    """Score a signal against the household it belongs to."""
    factors = base_factors(signal, policy) + vulnerability_factors(flags, policy) + compounding_factors(signal, recent, now, policy)
    total = max(0, min(100, round(sum(f.points for f in factors))))
    return Urgency(score=total, priority=priority_for(total, policy), factors=factors, policy_version=policy.version)
