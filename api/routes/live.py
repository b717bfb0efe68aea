"""The live feed: case changes as Server-Sent Events, resumable with Last-Event-ID."""

from collections.abc import AsyncIterable
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.auth import Reader
from api.store import live_updates

router = APIRouter(prefix="/v1", tags=["live"])


@router.get("/live", response_class=EventSourceResponse)
async def live(
    request: Request, principal: Reader, last_event_id: Annotated[str | None, Header(pattern=r"^\d+-\d+$")] = None
) -> AsyncIterable[ServerSentEvent]:
    """Every case event in the caller's area from now on (or after Last-Event-ID) as `event: case` with the case."""
    async for entry_id, data in live_updates(request.app.state.redis, last_event_id or "$"):
        if principal.area_scope is None or principal.may_see(orjson.loads(data)["case"]):
            yield ServerSentEvent(raw_data=data.decode(), event="case", id=entry_id)
