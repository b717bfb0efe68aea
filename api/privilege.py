"""Least privilege: which roles read cases, the live feed and the stats, whose event results a sender may read, and
who sees a caller's phone."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from api.auth import Principal, Reader, token_digest
from schemas.ids import mask_phone
from schemas.messages import Text

# Senders of events from outside the county's aid office: they learn the outcome of what they sent, nothing else.
SENDERS = ("hospital", "department")
# A partner reads the referrals made to it (GET /v1/referrals) and the results of its own commands, nothing else.
PARTNERS = ("partner",)


def reading(*kinds: str):
    """A dependency admitting readers of the listed role kinds (admin always), telling anyone else why not."""

    async def check(principal: Reader) -> Principal:
        if principal.kind == "admin" or principal.kind in kinds:
            return principal
        key = "privilege.outcomes_only" if principal.kind in SENDERS else "privilege.officers_only"
        if principal.kind in PARTNERS:
            key = "privilege.partner.referrals_only"
        raise HTTPException(status.HTTP_403_FORBIDDEN, Text(key, {"role": principal.role}))

    return check


# Operators read cases too: the hotline makes the call-backs (回访, satisfaction) and answers callers who ring again.
CaseReader = Annotated[Principal, Depends(reading("operator", "officer"))]
# The live feed and the stats are the duty board's; so are search and households (officers of the area, admins).
BoardReader = Annotated[Principal, Depends(reading("officer"))]


def may_read_result(request: Request, principal: Principal, sender: str | None) -> bool:
    """Whether the caller may read an event's result: hospitals, departments and partners only those they sent themselves."""
    return principal.kind not in (*SENDERS, *PARTNERS) or (sender is not None and sender == token_digest(request))


def calls_back(principal: Principal, case: dict) -> bool:
    """Whether the reader is an officer of the case's area, who may see the caller's phone to call back."""
    return principal.kind == "officer" and principal.may_see(case)


def masked_case(case: dict) -> dict:
    """The case with every caller's phone masked."""
    reports = [{**report, "phone": mask_phone(report["phone"])} if report.get("phone") else report for report in case.get("reports", ())]
    return {**case, "reports": reports}


def case_for(principal: Principal, case: dict) -> dict:
    """The case as this reader may see it: phones in full for officers of its area, masked for everyone else."""
    return case if calls_back(principal, case) else masked_case(case)


def may_see_household(principal: Principal, household: dict) -> bool:
    """Whether any place the household's signals happened lies in the caller's area (the city sees all)."""
    scope = principal.area_scope
    return scope is None or any(area[scope[0]] == scope[1] for area in household.get("areas", ()))


def household_for(household: dict) -> dict:
    """The household as readers see it: without the keyed hashes that only the search index needs."""
    members = [{k: v for k, v in member.items() if k != "person_key"} for member in household.get("members", ())]
    return {**{k: v for k, v in household.items() if k != "caller_keys"}, "members": members}
