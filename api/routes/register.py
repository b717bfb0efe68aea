"""The county register for senders and pickers: every town, village and grid with its code and name."""

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status

router = APIRouter(prefix="/v1", tags=["register"])
CACHE_CONTROL = "public, max-age=300"  # then revalidated by ETag: a replaced register file shows within minutes


@router.get("/register")
async def get_register(request: Request, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The county's towns, villages and grids (codes and names), with an ETag; 304 when the caller's copy is current."""
    register = request.app.state.register
    headers = {"ETag": register.etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and {register.etag, "*"} & {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(register.served_json, media_type="application/json", headers=headers)
