"""Which case events someone must hear about, and in what words (Chinese, China Standard Time): pure functions."""

from collections.abc import Callable

from schemas.case import Case, CaseEvent, CaseEventType
from schemas.intake import Area
from schemas.messages import render, say
from schemas.notification import Notification
from schemas.timing import TIER_ORDER, Tier
from streams.rules.clock import CHINA
from streams.rules.policy import Policy
from streams.rules.texts import factor_text

QUOTE_CHARS = 40  # of the caller's first line, so a notice still fits an SMS or two
NOTIFIED = {
    CaseEventType.OPENED: "opened",
    CaseEventType.STATUS_CHANGED: "status_changed",
    CaseEventType.ESCALATED: "escalated",
    CaseEventType.REFERRAL_DECLINED: "referral_declined",  # the officer gets the referral back, with the partner's reason
}


def code_as_name(code: str) -> str:
    """A place named by its code, for when no county register is at hand."""
    return code


def area_code(case: Case, tier: Tier) -> str:
    """The area a tier answers for: the village, the town, or the county for city and leadership."""
    return area_code_in(case.area, tier)


def area_code_in(area: Area, tier: Tier) -> str:
    """The area a tier answers for in a place: the village, the town, or the county for city and leadership."""
    if tier is Tier.VILLAGE:
        return area.village
    if tier is Tier.TOWN:
        return area.town
    return area.town[:6]


def _what(case: Case, event: CaseEvent, policy: Policy, partner_name: Callable[[str], str]) -> str:
    """What happened, in the duty desk's words."""
    if event.type is CaseEventType.REFERRAL_DECLINED:
        return render("notification.referral.declined", partner=partner_name(event.data["partner"]), reason=event.data["reason"])
    if event.type is CaseEventType.OPENED:
        factors = say("notification.factor_separator").join(factor_text(f) for f in case.factors if f.applied)
        return render("notification.opened", case_id=case.case_id, track=case.track, score=case.urgency, factors=factors)
    if event.type is CaseEventType.STATUS_CHANGED:
        return say(f"notification.colour_change.{case.status}")
    cause = say(f"notification.cause.{case.status}")
    return render("notification.escalated", cause=cause, recipient=policy.escalation_recipients[case.tier])


def _message(case: Case, event: CaseEvent, policy: Policy, place_name: Callable[[str], str], partner_name: Callable[[str], str]) -> str:
    due = (
        render("notification.due", deadline=case.due_deadline, at=f"{case.due_at.astimezone(CHINA):%Y-%m-%d %H:%M}")
        if case.due_at
        else say("notification.no_deadline")
    )
    message = render(
        "notification.message",
        priority=case.priority.value,
        place=f"{place_name(case.area.town)} {place_name(case.area.village)}",
        category=case.category,
        what=_what(case, event, policy, partner_name),
        due=due,
    )
    words = first_line(case.reports[0].text) if case.reports else ""
    return render("notification.quoted", message=message, text=words) if words else message


def first_line(text: str, limit: int = QUOTE_CHARS) -> str:
    """The first line of someone's words, cut to a length a text message can carry."""
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def notifications_for(
    event: CaseEvent, policy: Policy, place_name: Callable[[str], str] = code_as_name, partner_name: Callable[[str], str] = code_as_name
) -> list[Notification]:
    """The notice a case event gives the tier now responsible for the case, if any; place_name and partner_name turn area
    codes and partners' names in the partners file into the names people know."""
    if event.type is CaseEventType.VISIT_ESCALATED:
        return visit_notifications(event, policy, place_name)
    if event.data.get("supervised") and event.case is not None:
        return supervision_notifications(event, policy, place_name)
    kind = NOTIFIED.get(event.type)
    case = event.case
    if kind is None or case is None:
        return []
    return [
        Notification(
            notification_id=f"{case.case_id}:{case.version}",
            kind=kind,
            tier=case.tier,
            area_code=area_code(case, case.tier),
            recipient=policy.escalation_recipients[case.tier],
            case_id=case.case_id,
            priority=case.priority,
            status=case.status,
            due_deadline=case.due_deadline,
            due_at=case.due_at,
            message=_message(case, event, policy, place_name, partner_name),
            at=event.at,
        )
    ]


def _place(area: Area, place_name: Callable[[str], str]) -> str:
    return f"{place_name(area.town)} {place_name(area.village)}"


def visit_notifications(event: CaseEvent, policy: Policy, place_name: Callable[[str], str] = code_as_name) -> list[Notification]:
    """A visit or call-back not made in time, told to the rung it climbed to, in the household's place."""
    data = event.data
    if not data.get("area"):
        return []
    area, tier, kind = Area.model_validate(data["area"]), Tier(data["to"]), str(data["kind"])
    message = render(
        "followups.notice.visit",
        kind=say(f"deadline.{kind}"),
        place=_place(area, place_name),
        household_id=event.household_id,
        what=say(f"notification.cause.{data['status']}"),
        recipient=policy.escalation_recipients[tier],
        at=f"{data['due_at'].astimezone(CHINA):%Y-%m-%d %H:%M}",
    )
    return [
        Notification(
            notification_id=f"{data['visit_id']}:{TIER_ORDER.index(tier)}",
            kind="visit_escalated",
            tier=tier,
            area_code=area_code_in(area, tier),
            recipient=policy.escalation_recipients[tier],
            case_id=data.get("case_id"),
            priority=None,
            status=str(data["status"]),
            due_deadline=kind,
            due_at=data["due_at"],
            message=message,
            at=event.at,
        )
    ]


def supervision_notifications(event: CaseEvent, policy: Policy, place_name: Callable[[str], str] = code_as_name) -> list[Notification]:
    """A case put under the town's supervision (督办) after a dissatisfied rating, told to the town with the person's words."""
    case = event.case
    supervision = case.deadlines["supervision"]
    message = render(
        "followups.notice.supervision",
        case_id=case.case_id,
        place=_place(case.area, place_name),
        text=first_line(event.data.get("text") or ""),
        at=f"{supervision.due_at.astimezone(CHINA):%Y-%m-%d %H:%M}",
    )
    return [
        Notification(
            notification_id=f"{case.case_id}:{case.version}",
            kind="supervision",
            tier=Tier.TOWN,
            area_code=case.area.town,
            recipient=policy.escalation_recipients[Tier.TOWN],
            case_id=case.case_id,
            priority=case.priority,
            status=case.status,
            due_deadline="supervision",
            due_at=supervision.due_at,
            message=message,
            at=event.at,
        )
    ]
