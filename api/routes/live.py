"""The live feed: case changes as Server-Sent Events, resumable with Last-Event-ID."""

from collections.abc import AsyncIterable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.auth import Reader, token_digest
from api.live import LiveHub
from api.views import calls_back

router = APIRouter(prefix="/v1", tags=["live"])


async def live_room(request: Request) -> str:
    """The caller's token digest, or 429 when the token already holds as many live connections as it may."""
    hub: LiveHub = request.app.state.live
    token = token_digest(request) or "anonymous"
    if not hub.has_room(token):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, f"at most {hub.per_token} live connections per token", headers={"Retry-After": "10"}
        )
    return token


@router.get("/live", response_class=EventSourceResponse)
async def live(
    request: Request,
    principal: Reader,
    token: Annotated[str, Depends(live_room)],
    last_event_id: Annotated[str | None, Header(pattern=r"^\d+-\d+$")] = None,
) -> AsyncIterable[ServerSentEvent]:
    """Every case event in the caller's area from now on (or after Last-Event-ID) as `event: case` with the case."""
    async for entry in request.app.state.live.updates(token, last_event_id):
        case = entry.update["case"]  # decoded once per update, however many clients receive it
        if principal.may_see(case):
            data = entry.data if calls_back(principal, case) else entry.masked
            yield ServerSentEvent(raw_data=data.decode(), event="case", id=entry.entry_id)
