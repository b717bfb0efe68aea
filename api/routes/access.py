"""The access log: who read which case, for admins."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.auth import Admin
from api.routes.cases import CASE_ID_PATTERN
from api.routes.households import HOUSEHOLD_ID_PATTERN
from api.store import access_log

router = APIRouter(prefix="/v1", tags=["operations"])
ACCESS_LOG_PAGE_MAX = 1000


@router.get("/access-log")
async def get_access_log(
    request: Request,
    _: Admin,
    case_id: Annotated[str | None, Query(pattern=CASE_ID_PATTERN)] = None,
    household_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=HOUSEHOLD_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=ACCESS_LOG_PAGE_MAX)] = 100,
) -> dict:
    """Reads of cases, timelines and households, newest first: the person's name, role, the case or household, what was read and when."""
    return {"items": await access_log(request.app.state.redis, case_id, limit, household_id=household_id)}
