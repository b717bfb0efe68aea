"""The access log: who read which case, for admins."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.auth import Admin
from api.routes.cases import CASE_ID_PATTERN
from api.store import access_log

router = APIRouter(prefix="/v1", tags=["operations"])
ACCESS_LOG_PAGE_MAX = 1000


@router.get("/access-log")
async def get_access_log(
    request: Request,
    _: Admin,
    case_id: Annotated[str | None, Query(pattern=CASE_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=ACCESS_LOG_PAGE_MAX)] = 100,
) -> dict:
    """Reads of cases and timelines, newest first: the person's name, role, the case, what was read and when."""
    return {"items": await access_log(request.app.state.redis, case_id, limit)}
