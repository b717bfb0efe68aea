"""Visits and call-backs (回访, 好差评, 探访): recording them, and the lists of those due for the caller's area."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Officer, Principal, require
from api.privilege import BoardReader, CaseReader
from api.routes.cases import CaseId, issue
from api.routes.households import HouseholdId
from api.routes.watch import issue_to_household
from api.store import case_summaries, visits_due
from schemas.aftercare import VISIT_ENDED, Rating
from schemas.readmodel import VISIT_GROUPS
from streams.rules.clock import SystemClock
from streams.rules.followups import case_visit_refusal, satisfaction_refusal

router = APIRouter(prefix="/v1", tags=["visits"])
clock = SystemClock()
LIST_LIMIT_MAX = 500
# The hotline makes the call-backs; officers record them too.
CallBacker = Annotated[Principal, Depends(require("operator", "officer"))]
VISIT_ID_PATTERN = r"^[FW]\d+-[A-Za-z0-9._:-]{1,100}$"  # follow-ups F<n>-<case>, watch visits W<n>-<household>
VisitId = Annotated[str | None, Field(default=None, pattern=VISIT_ID_PATTERN, description="which visit (else the next due)")]


class VisitBody(BaseModel):
    """A visit made: which (the next due when none), what was found, and whether the household needs more help."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    visit_id: VisitId
    found: str = Field(min_length=1, max_length=2000, description="what the visitor found")
    more_help: bool = Field(default=False, description="the household needs more help: a new signal about it")


class SatisfactionBody(BaseModel):
    """The call-back after closing: the person's rating and their words."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    rating: Rating
    text: str | None = Field(default=None, min_length=1, max_length=2000, description="the person's words")


@router.post("/cases/{case_id}/visits", status_code=status.HTTP_202_ACCEPTED)
async def record_case_visit(case_id: CaseId, body: VisitBody, request: Request, principal: Officer) -> dict:
    """Record a follow-up visit (回访) of the case: the one named, or its next due."""
    fields = {"visit_id": body.visit_id, "text": body.found, "more_help": body.more_help}
    return await issue(request, principal, case_id, "record_visit", refused=case_visit_refusal, **fields)


@router.post("/cases/{case_id}/satisfaction", status_code=status.HTTP_202_ACCEPTED)
async def record_satisfaction(case_id: CaseId, body: SatisfactionBody, request: Request, principal: CallBacker) -> dict:
    """Record the call-back's rating (好差评) on the closed case; dissatisfied reopens it for the town's supervisor (督办)."""
    return await issue(request, principal, case_id, "record_satisfaction", refused=satisfaction_refusal, rating=body.rating, text=body.text)


@router.post("/households/{household_id}/visits", status_code=status.HTTP_202_ACCEPTED)
async def record_household_visit(household_id: HouseholdId, body: VisitBody, request: Request, principal: Officer) -> dict:
    """Record a watched household's visit (探访): the one named, or its next due; the next one falls due from it."""
    fields = {"visit_id": body.visit_id, "text": body.found, "more_help": body.more_help}
    return await issue_to_household(request, principal, household_id, "record_visit", **fields)


def _person(view: dict, visit: dict, cases: dict[str, dict]) -> dict:
    """Whom the visit is for: the case's subject, else the household's eldest living member; the ID number masked."""
    case = cases.get(visit["case_id"] or "")
    if case:
        return {"name": case["subject"].get("name"), "id_masked": case["subject"].get("id_masked")}
    living = [member for member in view.get("members", ()) if not member["deceased"]]
    eldest = max(living, key=lambda member: member["age"], default=None)
    return {"name": eldest["name"], "id_masked": eldest["id_masked"]} if eldest else {"name": None, "id_masked": None}


def _place(request: Request, code: str | None) -> dict | None:
    return {"code": code, "name": request.app.state.register.name_of(code) or code} if code else None


async def due_list(request: Request, principal: Principal, group: str, wanted: str | None, limit: int) -> dict:
    """The visits of a group due in the caller's area, earliest due first, each with its household, place and person."""
    until_ms = int(clock.now().timestamp() * 1000) if wanted == "red" else None
    views, total = await visits_due(request.app.state.redis, group, principal.area_scope, until_ms, limit)
    due = [
        (view, visit)
        for view in views
        for visit in view["visits"]
        if visit["status"] not in VISIT_ENDED and VISIT_GROUPS[visit["kind"]] == group and wanted in (None, visit["status"])
    ]
    cases = await case_summaries(request.app.state.redis, sorted({visit["case_id"] for _, visit in due if visit["case_id"]}))
    items = [
        {
            "household_id": view["household_id"],
            "visit": visit,
            "person": _person(view, visit, cases),
            "town": _place(request, (view.get("area") or {}).get("town")),
            "village": _place(request, (view.get("area") or {}).get("village")),
            "watch": view.get("watch"),
            "case": cases.get(visit["case_id"] or ""),
        }
        for view, visit in sorted(due, key=lambda pair: pair[1]["deadline"]["due_at"])
    ]
    return {"items": items, "households": total, "limit": limit}


Wanted = Annotated[Literal["green", "yellow", "red"] | None, Query(alias="status")]
Limit = Annotated[int, Query(ge=1, le=LIST_LIMIT_MAX)]


@router.get("/follow-ups")
async def follow_ups(request: Request, principal: CaseReader, status_: Wanted = None, limit: Limit = 200) -> dict:
    """Follow-up visits and call-backs due in the caller's area (city: all; town; village), earliest due first."""
    return await due_list(request, principal, "follow_ups", status_, limit)


@router.get("/watchlist")
async def watchlist(request: Request, principal: BoardReader, status_: Wanted = None, limit: Limit = 200) -> dict:
    """Watched households' visits due in the caller's area (city: all; town; village), earliest due first, with why watched."""
    return await due_list(request, principal, "watch", status_, limit)
