"""Intake routes: hotline calls in, event results out."""

from typing import Annotated

import uuid_utils
from fastapi import APIRouter, Header, HTTPException, Request, status

from api.auth import Operator, Reader
from api.metrics import intake_accepted
from api.store import event_result, mark_accepted
from schemas import readmodel, topics
from schemas.intake import HotlineCall, stamp
from streams.clock import SystemClock

router = APIRouter(prefix="/v1", tags=["intake"])
clock = SystemClock()
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)]


@router.post("/hotline/calls", status_code=status.HTTP_202_ACCEPTED)
async def post_hotline_call(call: HotlineCall, request: Request, principal: Operator, idempotency_key: IdempotencyKey = None) -> dict:
    """Accept a hotline call: validate it, write it to hotline.calls, return its event id."""
    state = request.app.state
    event_id = call.event_id or str(uuid_utils.uuid7())
    if idempotency_key:
        key = readmodel.idempotency_key(principal.role, idempotency_key)
        if not await state.redis.set(key, event_id, nx=True, ex=state.settings.idempotency_ttl_s):
            return {"event_id": (await state.redis.get(key)).decode(), "replayed": True}
    call = stamp(call, event_id, clock.now())
    try:
        await state.publisher.publish(
            topics.HOTLINE_CALLS, call.subject.id_number.encode(), call.model_dump_json(exclude_none=True).encode()
        )
    except HTTPException:
        if idempotency_key:
            await state.redis.delete(key)
        raise
    intake_accepted.labels("hotline").inc()
    await mark_accepted(state.redis, event_id, state.settings.event_result_ttl_s)
    return {"event_id": event_id}


@router.get("/events/{event_id}")
async def get_event(event_id: str, request: Request, _: Reader) -> dict:
    """What became of an intake event: accepted, processed (with its case) or rejected (with why)."""
    result = await event_result(request.app.state.redis, event_id)
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no event {event_id!r} is known")
    return result
