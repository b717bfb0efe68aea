"""Watched households (分级分类探访): officers of the area put a household on the watch list, or end what they asked for."""

from typing import Annotated

import uuid_utils
from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Officer, Principal
from api.privilege import may_see_household
from api.routes.cases import accepted
from api.routes.households import HouseholdId
from schemas import topics
from schemas.aftercare import WatchCategory
from schemas.case import CaseCommand
from schemas.messages import Text
from streams.rules.clock import SystemClock

router = APIRouter(prefix="/v1/households", tags=["watch"])
clock = SystemClock()


class WatchBody(BaseModel):
    """The categories to watch the household for, or to stop watching it for."""

    model_config = ConfigDict(extra="forbid")

    categories: Annotated[list[WatchCategory], Field(min_length=1, max_length=len(WatchCategory))]


async def issue_to_household(request: Request, principal: Principal, household_id: str, kind: str, **fields) -> dict:
    """Check the household is known and in the caller's area, then hand the command to the case agent."""
    view = await request.app.state.households.view(household_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, Text("error.household_not_found", {"household_id": household_id}))
    if not may_see_household(principal, view):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, Text("error.household_outside_area", {"household_id": household_id, "role": principal.role})
        )
    command = CaseCommand(
        type=kind,
        household_id=household_id,
        issued_at=clock.now(),
        actor=principal.role,
        actor_name=principal.name,
        command_id=str(uuid_utils.uuid7()),
        **fields,
    )
    body = command.model_dump_json(exclude_none=True).encode()
    await request.app.state.publisher.publish(topics.CASE_COMMANDS, household_id.encode(), body)
    return await accepted(request, command.command_id)


@router.post("/{household_id}/watch", status_code=status.HTTP_202_ACCEPTED)
async def watch(household_id: HouseholdId, body: WatchBody, request: Request, principal: Officer) -> dict:
    """Put the household on the watch list for these categories (e.g. a child without a de-facto carer)."""
    return await issue_to_household(request, principal, household_id, "watch", categories=sorted(set(body.categories)))


@router.post("/{household_id}/unwatch", status_code=status.HTTP_202_ACCEPTED)
async def unwatch(household_id: HouseholdId, body: WatchBody, request: Request, principal: Officer) -> dict:
    """End categories an officer asked for; what is on record ends only with the record (a death, a move, an exit)."""
    return await issue_to_household(request, principal, household_id, "unwatch", categories=sorted(set(body.categories)))
