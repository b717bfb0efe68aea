"""The live feed: case changes as Server-Sent Events, resumable with Last-Event-ID."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import StreamingResponse

from api.auth import token_digest
from api.live import KEEP_ALIVE, LiveHub
from api.privilege import BoardReader
from schemas.messages import Text

router = APIRouter(prefix="/v1", tags=["live"])


async def live_room(request: Request) -> str:
    """The caller's token digest, or 429 when the token already holds as many live connections as it may."""
    hub: LiveHub = request.app.state.live
    token = token_digest(request) or "anonymous"
    if not hub.has_room(token):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, Text("error.live_connections", {"count": hub.per_token}), headers={"Retry-After": "10"}
        )
    return token


@router.get("/live", response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})
async def live(
    request: Request,
    principal: BoardReader,
    token: Annotated[str, Depends(live_room)],
    last_event_id: Annotated[str | None, Header(pattern=r"^\d+-\d+$")] = None,
) -> StreamingResponse:
    """Every case event in the caller's area from now on (or after Last-Event-ID) as `event: case` with the case."""
    hub: LiveHub = request.app.state.live

    async def stream() -> AsyncIterator[bytes]:
        async for batch in hub.batches(token, last_event_id):
            chunk = KEEP_ALIVE if batch is None else batch.chunk(principal)
            if chunk:
                yield chunk

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
