"""Case routes: the read model as duty officers query it."""

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status

from api.auth import Reader
from api.store import get_case, list_cases
from schemas.case import Priority, Tier

router = APIRouter(prefix="/v1/cases", tags=["cases"])
PAGE_LIMIT_MAX = 500


@router.get("")
async def get_cases(
    request: Request,
    _: Reader,
    state: Literal["open", "closed"] = "open",
    status_: Annotated[Literal["green", "yellow", "red"] | None, Query(alias="status")] = None,
    tier: Tier | None = None,
    town: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
    priority: Priority | None = None,
    track: Literal["emergency", "standard"] | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = 100,
) -> dict:
    """Open cases by next deadline (or closed ones, latest first), filtered and paginated."""
    filters = {k: v for k, v in {"status": status_, "tier": tier, "town": town, "priority": priority, "track": track}.items() if v}
    items, total = await list_cases(request.app.state.redis, state == "closed", filters, offset, limit)
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.get("/{case_id}")
async def get_one_case(case_id: str, request: Request, _: Reader) -> dict:
    """One case with its full timeline."""
    case = await get_case(request.app.state.redis, case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id!r}")
    return case
