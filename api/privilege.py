"""Least privilege: which roles read cases, the live feed and the stats, and whose event results a sender may read."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from api.auth import Principal, Reader, token_digest
from schemas.messages import Text

# Senders of events from outside the county's aid office: they learn the outcome of what they sent, nothing else.
SENDERS = ("hospital", "department")


def reading(*kinds: str):
    """A dependency admitting readers of the listed role kinds (admin always), telling anyone else why not."""

    async def check(principal: Reader) -> Principal:
        if principal.kind == "admin" or principal.kind in kinds:
            return principal
        key = "privilege.outcomes_only" if principal.kind in SENDERS else "privilege.officers_only"
        raise HTTPException(status.HTTP_403_FORBIDDEN, Text(key, {"role": principal.role}))

    return check


# Operators read cases too: the hotline makes the call-backs (回访, satisfaction) and answers callers who ring again.
CaseReader = Annotated[Principal, Depends(reading("operator", "officer"))]
# The live feed and the stats are the duty board's.
BoardReader = Annotated[Principal, Depends(reading("officer"))]


def may_read_result(request: Request, principal: Principal, sender: str | None) -> bool:
    """Whether the caller may read an event's result: hospitals and departments only those they sent themselves."""
    return principal.kind not in SENDERS or (sender is not None and sender == token_digest(request))
