"""Which case events someone must hear about, and in what words: pure functions."""

from schemas.case import Case, CaseEvent, CaseEventType, Tier
from schemas.notification import Notification
from streams.rules.policy import Policy

NOTIFIED = {CaseEventType.OPENED: "opened", CaseEventType.STATUS_CHANGED: "status_changed", CaseEventType.ESCALATED: "escalated"}


def area_code(case: Case, tier: Tier) -> str:
    """The area a tier answers for: the village, the town, or the county for city and leadership."""
    if tier is Tier.VILLAGE:
        return case.area.village
    if tier is Tier.TOWN:
        return case.area.town
    return case.area.town[:6]


def _message(case: Case, event: CaseEvent, policy: Policy) -> str:
    where = f"village {case.area.village}, town {case.area.town}"
    what = f"{case.priority} {case.track} case {case.case_id} ({case.category.replace('_', ' ')}) in {where}"
    due = f"{case.due_deadline} due {case.due_at:%Y-%m-%d %H:%M} UTC" if case.due_at else "no deadline pending"
    if event.type is CaseEventType.OPENED:
        return f"New {what}: {due}."
    if event.type is CaseEventType.STATUS_CHANGED:
        return f"{what} is now {case.status.upper()}: {due}."
    return f"{what} escalated to {policy.escalation_recipients[case.tier]} ({event.data['reason']}): {due}."


def notifications_for(event: CaseEvent, policy: Policy) -> list[Notification]:
    """The notice a case event gives the tier now responsible for the case, if any."""
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
            message=_message(case, event, policy),
            at=event.at,
        )
    ]
