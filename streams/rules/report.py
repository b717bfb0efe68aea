"""The monthly and quarterly report (月调度、季通报): facts taken from case events, then counted per town and period.

Each case event a figure counts yields one fact, stored under the month it counts in (China time) and a field naming
the event (the case and its version, or the household, the event type and what it is about), so the same event applied
twice, or events applied in another order, leave the same facts; a rebuild of the read model from the log yields them
again. Which month a fact counts in:
* cases (opened, by priority and track; time to acknowledge and to aid; aid within the deadline): the month the case
  opened, so a case opened on 30 November and aided on 1 December is November's;
* events by source, breaches, escalations, closings, reopenings, referral answers, ratings: the month it happened;
* a referral delivered: the month the partner accepted it (delivered on time over those accepted);
* a visit: the month it was done.
A fact's town is its case's; a household's own event (a signal with no case, a visit) has the town of the household's
latest signal when the event carries the household view (the first household event of a step does), and otherwise
(a visit's later rungs in one tick) the town of the household's latest signal as the read model holds it when the
report is made (see placed).
"""

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from schemas.aftercare import Rating, VisitKind
from schemas.case import CaseEventType, Priority
from schemas.timing import TIER_ORDER
from streams.rules.clock import CHINA
from streams.rules.deadlines import ACKNOWLEDGE
from streams.rules.visits import VISIT_OPEN_TIER

PERIOD = re.compile(r"(?P<year>\d{4})-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4]))")
SOURCES = ("hotline", "hospital", "department", "visit")
TRACKS = ("emergency", "standard")
AID_DEADLINE = "aid"  # the emergency track's main deadline: aid within 2 hours of opening (policy default)
SIGNALS = {CaseEventType.OPENED, CaseEventType.SIGNAL_ATTACHED, CaseEventType.SIGNAL_RECORDED}
FIRST_RESPONSES = {CaseEventType.ACKNOWLEDGED, CaseEventType.ASSIGNED, CaseEventType.AID_DELIVERED}
SATISFIED = (Rating.SATISFIED, Rating.BASICALLY_SATISFIED)
# The event types some figure counts: the projection passes over every other at the cost of one set lookup.
COUNTED = frozenset(
    {
        *SIGNALS,
        *FIRST_RESPONSES,
        CaseEventType.RESCORED,
        CaseEventType.STATUS_CHANGED,
        CaseEventType.ESCALATED,
        CaseEventType.CLOSED,
        CaseEventType.REOPENED,
        CaseEventType.REFERRAL_ACCEPTED,
        CaseEventType.REFERRAL_DECLINED,
        CaseEventType.REFERRAL_DELIVERED,
        CaseEventType.SATISFACTION_RECORDED,
        CaseEventType.VISIT_RECORDED,
        CaseEventType.VISIT_STATUS_CHANGED,
        CaseEventType.VISIT_ESCALATED,
    }
)


def months_of(period: str) -> list[str] | None:
    """The months ('2026-10') a period ('2026-11' or '2026-Q4') covers; None when it is neither."""
    matched = PERIOD.fullmatch(period)
    if matched is None:
        return None
    year = matched["year"]
    if matched["month"]:
        return [f"{year}-{matched['month']}"]
    first = 3 * int(matched["quarter"]) - 2
    return [f"{year}-{month:02d}" for month in range(first, first + 3)]


def month_of(at: datetime | str) -> str:
    """The month ('2026-11') a time falls in, in China."""
    moment = (datetime.fromisoformat(at) if isinstance(at, str) else at).astimezone(CHINA)
    return f"{moment.year}-{moment.month:02d}"  # strftime costs several times more, on every event of the projection


def period_of(at: datetime) -> tuple[str, str]:
    """The month and the quarter ('2026-11', '2026-Q4') a time falls in, in China."""
    month = month_of(at)
    return month, f"{month[:4]}-Q{(int(month[5:]) + 2) // 3}"


def _minutes(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 60


def _town(event: dict) -> str | None:
    """The town a fact counts in: its case's, else the household's latest signal's, when the event carries them."""
    if event.get("case"):
        return event["case"]["area"]["town"]
    # Events written before household events carried their area have it only on their household view.
    area = event.get("area") or (event.get("household") or {}).get("area")
    return area["town"] if area else None


def _case_fact(event: dict) -> tuple[str, dict] | None:
    """The month and fact of an event on a case, or None when no figure counts it."""
    kind, case, data, at = event["type"], event["case"], event["data"], event["at"]
    if kind == CaseEventType.OPENED:
        return month_of(at), {"source": data["source"], "priority": case["priority"], "track": case["track"]}
    if kind == CaseEventType.SIGNAL_ATTACHED:
        return month_of(at), {"source": data["source"]}
    if kind == CaseEventType.RESCORED:
        return month_of(case["opened_at"]), {"track": case["track"]}
    if kind in FIRST_RESPONSES:
        fact = {}
        acknowledged = case["deadlines"].get(ACKNOWLEDGE, {}).get("met_at")
        if acknowledged == at:  # this step met the acknowledgement deadline
            fact["ack_minutes"] = _minutes(case["opened_at"], at)
        if kind == CaseEventType.AID_DELIVERED:
            aid = case["deadlines"].get(AID_DEADLINE)
            on_time = aid is not None and aid["met_at"] is not None and aid["met_at"] <= aid["due_at"]
            fact |= {"aid_minutes": _minutes(case["opened_at"], at), "on_time": on_time}
        return (month_of(case["opened_at"]), fact) if fact else None
    if kind == CaseEventType.STATUS_CHANGED and data["to"] == "red":
        return month_of(at), {"tier": case["tier"], "deadline": data.get("deadline")}
    if kind == CaseEventType.ESCALATED:
        return month_of(at), {"tier": data["to"]}
    if kind == CaseEventType.CLOSED:
        return month_of(at), {}
    if kind == CaseEventType.REOPENED:
        return month_of(at), {"dissatisfied": data.get("reason") == "dissatisfied"}
    if kind in (CaseEventType.REFERRAL_ACCEPTED, CaseEventType.REFERRAL_DECLINED):
        return month_of(at), {"accepted": kind == CaseEventType.REFERRAL_ACCEPTED, "on_time": bool(data.get("on_time"))}
    if kind == CaseEventType.REFERRAL_DELIVERED:
        referral = next((r for r in case.get("referrals", ()) if r["referral_id"] == data["referral_id"]), None)
        accepted_at = (referral or {}).get("answered_at") or at
        return month_of(accepted_at), {"on_time": bool(data.get("on_time"))}
    if kind == CaseEventType.SATISFACTION_RECORDED:
        return month_of(at), {"rating": data["rating"], "on_time": bool(data.get("on_time"))}
    return None


def _household_fact(event: dict) -> tuple[str, str, dict] | None:
    """The month, field and fact of a household's own event (no case version), or None when no figure counts it."""
    kind, data, at = event["type"], event["data"], event["at"]
    if kind == CaseEventType.SIGNAL_RECORDED:
        return month_of(at), event["event_id"], {"source": data["source"]}
    if kind == CaseEventType.VISIT_RECORDED:
        return month_of(data.get("done_at") or at), data["visit_id"], {"visit": data["kind"], "on_time": bool(data.get("on_time"))}
    if kind == CaseEventType.VISIT_STATUS_CHANGED and data["to"] == "red":
        return month_of(at), f"{data['visit_id']}:red", {"tier": VISIT_OPEN_TIER.value, "deadline": data["kind"]}
    if kind == CaseEventType.VISIT_ESCALATED:
        return month_of(at), f"{data['visit_id']}:{data['to']}", {"tier": data["to"]}
    return None


def fact_of(event: dict) -> tuple[str, str, dict] | None:
    """The month a case event (as the log holds it, decoded JSON) counts in, the field naming it, and its fact; None when
    no figure counts it. The fact holds its type, its town and case, and what the figures read of it."""
    if event["type"] not in COUNTED:
        return None
    if event.get("case"):
        found = _case_fact(event)
        if found is None:
            return None
        month, fact = found
        field = f"{event['case_id']}:{event['version']}"
    else:
        found = _household_fact(event)
        if found is None:
            return None
        month, about, fact = found
        field = f"{event['household_id']}:{event['type']}:{about}"
        fact["household_id"] = event["household_id"]  # to place it by its household when the event names no town
    return month, field, {"type": event["type"], "town": _town(event), "case_id": event.get("case_id"), **fact}


def unplaced(facts: Iterable[dict]) -> set[str]:
    """The households whose facts name no town: those to look up before counting per town."""
    return {fact["household_id"] for fact in facts if fact["town"] is None and fact.get("household_id")}


def placed(facts: list[dict], towns: dict[str, str | None]) -> list[dict]:
    """The facts, each one without a town given its household's (household id → town) where known."""
    return [fact if fact["town"] is not None else {**fact, "town": towns.get(fact.get("household_id"))} for fact in facts]


def _share(part: int, whole: int) -> float | None:
    """part / whole to four places; None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


def _spread(values: list[float]) -> dict:
    """How many, the median (the middle value, or the mean of the middle two) and the 90th percentile (nearest rank: the
    smallest value at least 90 % of them reach), in minutes to one decimal; none of them without values."""
    if not values:
        return {"count": 0, "median": None, "p90": None}
    ordered = sorted(values)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
    return {"count": len(ordered), "median": round(median, 1), "p90": round(p90, 1)}


def _by(facts: list[dict], field: str, keys: Iterable[str]) -> dict[str, int]:
    counts = {str(key): 0 for key in keys}
    for fact in facts:
        counts[fact[field]] = counts.get(fact[field], 0) + 1
    return counts


def figures(facts: Iterable[dict], town: str | None = None) -> dict:
    """The report's figures from the facts of a period's months, for one town or (None) the whole county.

    * events_by_source: every signal received (opening a case, attached to one, or recorded on a household) by source;
    * cases_opened: cases opened in the period, by their priority and track at opening;
    * emergency_aid: of the period's emergency cases (at opening or raised to it later), how many had aid delivered
      within the aid deadline (2 h by default) — counted at the first delivery;
    * time_to_acknowledge / time_to_aid: minutes from opening to the first officer response (acknowledged, assigned or
      aid delivered) and to the first aid delivered, of the cases opened in the period: median and 90th percentile;
    * breaches: deadlines gone red, by the rung responsible then: a case's at the rung it stood at (before the climb red
      brings), a visit's at the village, whose assistant owes it; escalations: rungs climbed (cases and visits), by the
      rung reached;
    * referrals: answers (accepted or declined) and those accepted in time; of the referrals accepted in the period, those
      whose help was reported delivered in time;
    * visits: by kind (follow-up, watch), those done in the period and those done in time; a call-back (回访 for the
      rating) is done when its rating is recorded;
    * satisfaction: ratings recorded in the period by rating; the rate is satisfied plus basically satisfied over ratings;
    * cases closed and reopened in the period (reopened after a dissatisfied rating among them).
    """
    facts = [fact for fact in facts if town is None or fact["town"] == town]
    of: dict[str, list[dict]] = defaultdict(list)
    for fact in facts:
        of[fact["type"]].append(fact)
    opened = of[CaseEventType.OPENED]
    emergency = {f["case_id"] for f in opened + of[CaseEventType.RESCORED] if f["track"] == "emergency"}
    first_ack: dict[str, float] = {}
    first_aid: dict[str, dict] = {}
    for fact in facts:
        case_id = fact["case_id"]
        if "ack_minutes" in fact and fact["ack_minutes"] < first_ack.get(case_id, math.inf):
            first_ack[case_id] = fact["ack_minutes"]
        if "aid_minutes" in fact and fact["aid_minutes"] < first_aid.get(case_id, {"aid_minutes": math.inf})["aid_minutes"]:
            first_aid[case_id] = fact
    aided_in_time = sum(1 for case_id in emergency if first_aid.get(case_id, {}).get("on_time"))
    breaches = of[CaseEventType.STATUS_CHANGED] + of[CaseEventType.VISIT_STATUS_CHANGED]
    escalations = of[CaseEventType.ESCALATED] + of[CaseEventType.VISIT_ESCALATED]
    answers = of[CaseEventType.REFERRAL_ACCEPTED] + of[CaseEventType.REFERRAL_DECLINED]
    accepted = of[CaseEventType.REFERRAL_ACCEPTED]
    accepted_in_time = sum(1 for f in accepted if f["on_time"])
    delivered_in_time = sum(1 for f in of[CaseEventType.REFERRAL_DELIVERED] if f["on_time"])
    ratings = of[CaseEventType.SATISFACTION_RECORDED]
    visits = {}
    for kind in VisitKind:
        # A call-back is done when its rating is recorded: no visit_recorded of its own.
        done = ratings if kind is VisitKind.CALLBACK else [f for f in of[CaseEventType.VISIT_RECORDED] if f["visit"] == kind]
        in_time = sum(1 for f in done if f["on_time"])
        visits[kind.value] = {"done": len(done), "on_time": in_time, "on_time_share": _share(in_time, len(done))}
    satisfied = sum(1 for f in ratings if f["rating"] in SATISFIED)
    signals = [f for f in facts if f["type"] in SIGNALS]
    return {
        "events_by_source": _by(signals, "source", SOURCES),
        "events_total": len(signals),
        "cases_opened": {
            "total": len(opened),
            "by_priority": _by(opened, "priority", list(Priority)),
            "by_track": _by(opened, "track", TRACKS),
        },
        "emergency_aid": {"cases": len(emergency), "aided_on_time": aided_in_time, "share": _share(aided_in_time, len(emergency))},
        "time_to_acknowledge": _spread(list(first_ack.values())),
        "time_to_aid": _spread([f["aid_minutes"] for f in first_aid.values()]),
        "breaches": {"total": len(breaches), "by_tier": _by(breaches, "tier", TIER_ORDER)},
        "escalations": {"total": len(escalations), "by_tier": _by(escalations, "tier", TIER_ORDER[1:])},
        "referrals": {
            "answered": len(answers),
            "accepted": len(accepted),
            "declined": len(answers) - len(accepted),
            "accepted_on_time": accepted_in_time,
            "accepted_on_time_share": _share(accepted_in_time, len(answers)),
            "delivered_on_time": delivered_in_time,
            "delivered_on_time_share": _share(delivered_in_time, len(accepted)),
        },
        "visits": visits,
        "satisfaction": {
            "ratings": len(ratings),
            "by_rating": _by(ratings, "rating", list(Rating)),
            "rate": _share(satisfied, len(ratings)),
        },
        "cases_closed": len(of[CaseEventType.CLOSED]),
        "cases_reopened": len(of[CaseEventType.REOPENED]),
        "reopened_dissatisfied": sum(1 for f in of[CaseEventType.REOPENED] if f["dissatisfied"]),
    }


def rows(report: dict) -> list[tuple[str, object]]:
    """A report's figures as (dotted name, value) rows, in the order the report holds them: what a CSV lists."""
    out = []
    for name, value in report.items():
        if isinstance(value, dict):
            out += [(f"{name}.{inner}", inner_value) for inner, inner_value in rows(value)]
        else:
            out.append((name, value))
    return out
