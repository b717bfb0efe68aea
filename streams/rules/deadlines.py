"""Deadline, colour and escalation maths for a case: pure functions of the case, the policy and now."""

from datetime import datetime, timedelta

from schemas.case import TIER_ORDER, Case, Colour, Deadline, Priority, Tier, earliest_unmet
from streams.rules.policy import Policy

ACKNOWLEDGE = "acknowledge"


def deadlines_for(priority: Priority, start: datetime, policy: Policy) -> dict[str, Deadline]:
    """The acknowledgement and main deadlines of a case opened (or re-prioritised) at start."""
    track = policy.tracks[priority]
    return {
        ACKNOWLEDGE: Deadline(started_at=start, due_at=start + timedelta(seconds=track.acknowledge_s)),
        track.main_deadline: Deadline(started_at=start, due_at=start + timedelta(seconds=track.main_s)),
    }


def tighten(current: dict[str, Deadline], proposed: dict[str, Deadline]) -> dict[str, Deadline]:
    """The proposed deadlines, each unmet one kept at the earlier of its current and proposed due time."""
    merged = {}
    for name, new in proposed.items():
        old = current.get(name)
        if old is None:
            merged[name] = new
        elif old.met_at is not None or old.due_at <= new.due_at:
            merged[name] = old
        else:
            merged[name] = old.model_copy(update={"due_at": new.due_at})
    return merged


def yellow_from(deadline: Deadline, policy: Policy) -> datetime:
    """When a deadline's window is far enough gone to turn the case yellow."""
    return deadline.started_at + (deadline.due_at - deadline.started_at) * policy.yellow_at


def colour_of(deadlines: dict[str, Deadline], now: datetime, policy: Policy) -> Colour:
    """Green, yellow or red from the earliest unmet deadline; green when every deadline is met."""
    active = earliest_unmet(deadlines)
    if active is None:
        return Colour.GREEN
    _, deadline = active
    if now >= deadline.due_at:
        return Colour.RED
    if now >= yellow_from(deadline, policy):
        return Colour.YELLOW
    return Colour.GREEN


def required_tier(case: Case, colour: Colour, red_since: datetime | None, now: datetime, policy: Policy) -> Tier:
    """The tier that must be watching the case now: yellow → town, red → city, long red → leadership."""
    needed = policy.tracks[case.priority].open_tier
    if colour is Colour.YELLOW:
        needed = Tier.TOWN
    if colour is Colour.RED:
        long_red = red_since is not None and (now - red_since).total_seconds() >= policy.leadership_after_s
        needed = Tier.LEADERSHIP if long_red else Tier.CITY
    return higher_tier(case.tier, needed)


def higher_tier(a: Tier, b: Tier) -> Tier:
    """The higher of two tiers on the ladder."""
    return max(a, b, key=TIER_ORDER.index)


def next_transition_at(case: Case, policy: Policy) -> datetime | None:
    """When the case's colour or tier can next change by time alone, or None if it cannot."""
    if case.status == "closed":
        return None
    active = earliest_unmet(case.deadlines)
    if active is None:
        return None
    _, deadline = active
    if case.status == Colour.GREEN:
        return yellow_from(deadline, policy)
    if case.status == Colour.YELLOW:
        return deadline.due_at
    if case.tier != Tier.LEADERSHIP and case.red_since is not None:
        return case.red_since + timedelta(seconds=policy.leadership_after_s)
    return None
