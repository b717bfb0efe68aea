"""The live feed: case changes as Server-Sent Events, resumable with Last-Event-ID."""

from collections.abc import AsyncIterable
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.auth import Reader
from api.store import live_updates
from api.views import case_for

router = APIRouter(prefix="/v1", tags=["live"])


@router.get("/live", response_class=EventSourceResponse)
async def live(
    request: Request, principal: Reader, last_event_id: Annotated[str | None, Header(pattern=r"^\d+-\d+$")] = None
) -> AsyncIterable[ServerSentEvent]:
    """Every case event in the caller's area from now on (or after Last-Event-ID) as `event: case` with the case."""
    calls_back = principal.kind == "officer"
    async for entry_id, data in live_updates(request.app.state.redis, last_event_id or "$"):
        if calls_back and principal.area_scope is None:  # the city sees every case as it is: relay the bytes
            yield ServerSentEvent(raw_data=data.decode(), event="case", id=entry_id)
            continue
        update = orjson.loads(data)
        if principal.may_see(update["case"]):
            shown = case_for(principal, update["case"])
            raw = data if shown is update["case"] else orjson.dumps({**update, "case": shown})
            yield ServerSentEvent(raw_data=raw.decode(), event="case", id=entry_id)
