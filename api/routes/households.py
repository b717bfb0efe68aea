"""Finding anyone (by name, pinyin initials, ID number, phone, case id) and a household's page: officers of the area."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from api.privilege import BoardReader, household_for, may_see_household
from api.store import read_by
from schemas.messages import Text, language_from, say
from streams.rules.clock import SystemClock
from streams.rules.household_view import aid_history
from streams.rules.search import looks_like_id_number, lookups, matched_members

router = APIRouter(prefix="/v1", tags=["households"])
SEARCH_LIMIT_MAX = 50
CASES_SHOWN = 5  # per search result; the household's page lists them all
TIMELINE_KEPT = 1000  # the latest entries of a household's timeline on its page
HOUSEHOLD_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"
HouseholdId = Annotated[str, Path(min_length=1, max_length=64, pattern=HOUSEHOLD_ID_PATTERN)]
clock = SystemClock()


@router.get("/search")
async def search(
    request: Request,
    principal: BoardReader,
    q: Annotated[str, Query(min_length=1, max_length=100, description="a name or part of it, pinyin initials, ID number, phone, case id")],
    limit: Annotated[int, Query(ge=1, le=SEARCH_LIMIT_MAX)] = 20,
) -> dict:
    """Households in the caller's area found by the query, best matches first (exact ids, whole name, its beginning, a
    part or the initials; the most recently active first), each with its latest cases, open and closed."""
    state = request.app.state
    wanted = lookups(q, state.settings.pseudonym_secret.encode())
    found = await state.households.search(wanted, principal.area_scope, limit, CASES_SHOWN)
    items = []
    for hit in found:
        view = hit["household"] or {}
        lookup = hit["lookup"]
        matched = matched_members(view, q, lookup)
        if lookup.tier > 0 and not matched:
            continue  # a name longer than the index's parts, found by its beginning, that no member's name contains
        items.append({**_summary(view), "household_id": hit["household_id"], "match": lookup.match, "matched_members": matched,
                      "cases_total": hit["cases_total"], "cases": hit["cases"]})  # fmt: skip
    answer: dict = {"items": items}
    if not items and looks_like_id_number(q):
        answer["notice"] = say("search.id_number_invalid", language_from(request.headers.get("accept-language")))
    return answer


def _summary(view: dict) -> dict:
    """What a search result shows of a household: where, who (IDs masked), how much it has been heard of."""
    shown = household_for(view) if view else {}
    return {
        "area": shown.get("area"),
        "members": [{k: member[k] for k in ("name", "id_masked", "age", "sex", "deceased")} for member in shown.get("members", ())],
        "signals_total": shown.get("signals_total", 0),
        "last_signal_at": shown.get("last_signal_at"),
    }


@router.get("/households/{household_id}")
async def get_household(household_id: HouseholdId, request: Request, principal: BoardReader) -> dict:
    """A household: members (IDs masked), enrolment and programmes, sensitive factors, aid before, every case and its
    timeline of every signal and case event; officers of its area and admins; the read is recorded in the access log."""
    reader = read_by(principal.name, principal.role, "household", clock.now())
    found = await request.app.state.households.household(household_id, TIMELINE_KEPT, reader)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, Text("error.household_not_found", {"household_id": household_id}))
    if not may_see_household(principal, found["household"]):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, Text("error.household_outside_area", {"household_id": household_id, "role": principal.role})
        )
    return {**found, "household": household_for(found["household"]), "aid_history": aid_history(found["cases"])}
