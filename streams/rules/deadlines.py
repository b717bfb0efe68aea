"""Deadline, colour and escalation maths for a case: pure functions of the case, the policy and now."""

from datetime import date, datetime, timedelta

from schemas.case import Case, Priority
from schemas.timing import TIER_ORDER, Colour, Deadline, Tier, earliest_unmet
from streams.rules.clock import CHINA
from streams.rules.policy import SPAN_UNITS, Policy, Span, WorkingTime

ACKNOWLEDGE = "acknowledge"


def deadlines_for(priority: Priority, start: datetime, policy: Policy) -> dict[str, Deadline]:
    """The acknowledgement and main deadlines of a case opened (or re-prioritised) at start."""
    track = policy.tracks[priority]
    return {
        ACKNOWLEDGE: Deadline(started_at=start, due_at=start + timedelta(seconds=track.acknowledge_s)),
        track.main_deadline: Deadline(started_at=start, due_at=start + timedelta(seconds=track.main_s)),
    }


def is_working_day(day: date, working: WorkingTime) -> bool:
    """Whether the day (in China) is a working day: Monday to Friday but public holidays, and make-up working days."""
    return day in working.workdays or (day.weekday() < 5 and day not in working.holidays)


def add_working_days(start: datetime, days: int, working: WorkingTime) -> datetime:
    """The same time of day `days` working days later."""
    local = start.astimezone(CHINA)
    while days:
        local += timedelta(days=1)
        if is_working_day(local.date(), working):
            days -= 1
    return local.astimezone(start.tzinfo)


def add_working_hours(start: datetime, hours: float, working: WorkingTime) -> datetime:
    """The moment `hours` of working time after start: office hours of working days only."""
    local, remaining = start.astimezone(CHINA), timedelta(hours=hours)
    while True:
        day = local.date()
        opens, closes = (datetime.combine(day, moment, CHINA) for moment in (working.starts, working.ends))
        if not is_working_day(day, working) or local >= closes:
            local = datetime.combine(day + timedelta(days=1), working.starts, CHINA)
            continue
        local = max(local, opens)
        if local + remaining <= closes:
            return (local + remaining).astimezone(start.tzinfo)
        remaining -= closes - local
        local = closes


def span_end(start: datetime, span: Span, policy: Policy) -> datetime:
    """When a span of the policy that starts at start ends."""
    match span.unit:
        case "working hours":
            return add_working_hours(start, span.amount, policy.working_time)
        case "working days":
            return add_working_days(start, int(span.amount), policy.working_time)
        case unit:
            return start + timedelta(seconds=span.amount * SPAN_UNITS[unit])


def deadline_of(start: datetime, span: Span, policy: Policy) -> Deadline:
    """A deadline whose window is the span from start."""
    return Deadline(started_at=start, due_at=span_end(start, span, policy))


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
    return ladder_tier(policy.tracks[case.priority].open_tier, case.tier, colour, red_since, now, policy)


def ladder_tier(open_tier: Tier, current: Tier, colour: Colour, red_since: datetime | None, now: datetime, policy: Policy) -> Tier:
    """The rung a clock that opened at open_tier and stands at current must reach now, for its colour and time in red."""
    needed = open_tier
    if colour is Colour.YELLOW:
        needed = Tier.TOWN
    if colour is Colour.RED:
        long_red = red_since is not None and (now - red_since).total_seconds() >= policy.leadership_after_s
        needed = Tier.LEADERSHIP if long_red else Tier.CITY
    return higher_tier(current, needed)


def higher_tier(a: Tier, b: Tier) -> Tier:
    """The higher of two tiers on the ladder."""
    return max(a, b, key=TIER_ORDER.index)


def next_transition_at(case: Case, policy: Policy) -> datetime | None:
    """When the case's colour or tier can next change by time alone, or None if it cannot."""
    if case.status == "closed":
        return None
    active = earliest_unmet(case.deadlines)
    return clock_transition_at(active[1], case.status, case.tier, case.red_since, policy) if active else None


def clock_transition_at(deadline: Deadline, status: str, tier: Tier, red_since: datetime | None, policy: Policy) -> datetime | None:
    """When a clock racing this deadline, now of this colour and tier, can next change colour or rung by time alone."""
    if status == Colour.GREEN:
        return yellow_from(deadline, policy)
    if status == Colour.YELLOW:
        return deadline.due_at
    if tier != Tier.LEADERSHIP and red_since is not None:
        return red_since + timedelta(seconds=policy.leadership_after_s)
    return None
