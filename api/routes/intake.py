"""Intake routes: hotline calls, hospital admissions and department changes in; event results out."""

import asyncio
import logging
from typing import Annotated

import orjson
import uuid_utils
from fastapi import APIRouter, Header, HTTPException, Path, Request, status
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError

from api.auth import DepartmentRole, HospitalRole, Operator, Principal, Reader, token_digest
from api.limits import IntakeQuota
from api.metrics import intake_accepted
from api.privilege import may_read_result
from api.store import claim, event_result, mark_accepted
from schemas import readmodel, topics
from schemas.intake import DEPARTMENT_PATTERN, DepartmentChange, HospitalAdmission, HotlineCall, InputEvent, stamp
from schemas.messages import Text, language_from, say
from streams.rules.clock import SystemClock
from streams.rules.normalise import content_digest

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["intake"])
clock = SystemClock()
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)]


async def accept(request: Request, principal: Principal, idempotency_key: str | None, topic: str, source: str, event: InputEvent) -> dict:
    """Write a validated event to its topic keyed by subject, once per Idempotency-Key and client event id; answer with its event id.

    A repeat with the same content answers like the first without writing again; a reused key or event id with other content is 409.
    """
    state = request.app.state
    refuse_unknown_places(request, event)
    # Digested as the client sent it, before the server fills in its own fields, so an unchanged retry digests alike.
    digest = content_digest(event)
    event_id = event.event_id or str(uuid_utils.uuid7())
    # (key, value, ttl) claimed in Redis: released when nothing is written under them, carried on the record otherwise so a
    # Redis that loses them gets them back from the log (see streams.plumbing.rebuild).
    claimed: list[tuple[str, str, int]] = []
    if idempotency_key:
        key = readmodel.idempotency_key(principal.role, idempotency_key)
        value, ttl = f"{digest} {event_id}", state.settings.idempotency_ttl_s
        earlier = await claim(state.redis, key, value, ttl)
        if earlier is not None:
            # A key stored before digests were (its event id alone) replays as it always did.
            earlier_digest, _, earlier_event_id = earlier.rpartition(" ")
            if earlier_digest and earlier_digest != digest:
                reused = Text("duplicate.idempotency_key_reused", {"idempotency_key": idempotency_key})
                raise HTTPException(status.HTTP_409_CONFLICT, reused)
            return {"event_id": earlier_event_id, "replayed": True}
        claimed.append((key, value, ttl))
    if event.event_id:
        key, ttl = readmodel.event_digest_key(event_id), state.settings.event_result_ttl_s
        earlier = await claim(state.redis, key, digest, ttl)
        if earlier is not None:
            if earlier != digest:
                await release(state.redis, claimed)
                raise HTTPException(status.HTTP_409_CONFLICT, Text("duplicate.event_id_taken", {"event_id": event_id}))
            return {"event_id": event_id, "replayed": True}
        claimed.append((key, digest, ttl))
    event = stamp(event, event_id, clock.now(), principal.name)
    headers = [(readmodel.CLAIMS_HEADER, orjson.dumps(claimed))] if claimed else None
    try:
        value = event.model_dump_json(exclude_none=True).encode()
        # Keyed by the subject's ID number, or by the event itself for someone known by none (each their own person).
        await state.publisher.publish(topic, (event.subject.id_number or event_id).encode(), value, headers)
    except HTTPException:
        await release(state.redis, claimed)
        raise
    intake_accepted.labels(source).inc()
    try:
        async with asyncio.timeout(1):
            await mark_accepted(state.redis, event_id, state.settings.event_result_ttl_s, token_digest(request))
    except (RedisError, TimeoutError) as error:
        # The event is in Kafka: answering 503 now would invite a duplicate; only the "accepted" note is missing.
        log.warning("event %s accepted but not marked in the read model: %r", event_id, error)
    return {"event_id": event_id}


async def release(redis, claimed: list[tuple[str, str, int]]) -> None:
    """Give back the keys a request claimed when nothing was written under them."""
    if claimed:
        await redis.delete(*(key for key, _, _ in claimed))


def refuse_unknown_places(request: Request, event: InputEvent) -> None:
    """422 naming the area field when the county register does not know the place, shaped like every other 422."""
    refusal = request.app.state.register.refusal(event.area)
    if refusal is None:
        return
    field, key, params = refusal
    parent, name = field.split(".")
    language = language_from(request.headers.get("accept-language"))
    error = {"type": "register", "loc": ("body", parent, name), "msg": say(key, language, **params), "input": getattr(event.area, name)}
    raise RequestValidationError([error])


@router.post("/hotline/calls", status_code=status.HTTP_202_ACCEPTED)
async def post_hotline_call(
    call: HotlineCall, request: Request, principal: Operator, _: IntakeQuota, idempotency_key: IdempotencyKey = None
) -> dict:
    """Accept a hotline call: validate it, write it to hotline.calls, return its event id."""
    return await accept(request, principal, idempotency_key, topics.HOTLINE_CALLS, "hotline", call)


@router.post("/hospital/admissions", status_code=status.HTTP_202_ACCEPTED)
async def post_hospital_admission(
    admission: HospitalAdmission, request: Request, principal: HospitalRole, _: IntakeQuota, idempotency_key: IdempotencyKey = None
) -> dict:
    """Accept a hospital admission notice."""
    return await accept(request, principal, idempotency_key, topics.HOSPITAL_ADMISSIONS, "hospital", admission)


@router.post("/departments/{dept}/changes", status_code=status.HTTP_202_ACCEPTED)
async def post_department_change(
    dept: Annotated[str, Path(pattern=DEPARTMENT_PATTERN)],
    change: DepartmentChange,
    request: Request,
    principal: DepartmentRole,
    _: IntakeQuota,
    idempotency_key: IdempotencyKey = None,
) -> dict:
    """Accept a department's change event; a department may publish only its own change types."""
    if principal.kind != "admin" and principal.role != f"department:{dept}":
        raise HTTPException(status.HTTP_403_FORBIDDEN, Text("error.department_role", {"role": principal.role, "department": dept}))
    if change.department not in (None, dept):
        raise HTTPException(status.HTTP_403_FORBIDDEN, Text("error.department_mismatch", {"body": change.department, "url": dept}))
    refusal = request.app.state.departments.refusal(dept, change.type)
    if refusal:
        raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
    return await accept(
        request, principal, idempotency_key, topics.DEPARTMENT_CHANGES, "department", change.model_copy(update={"department": dept})
    )


@router.get("/events/{event_id}")
async def get_event(event_id: str, request: Request, principal: Reader) -> dict:
    """What became of an intake event: accepted, processed (with its case) or rejected (with why); senders see only their own."""
    found = await event_result(request.app.state.redis, event_id)
    # Another sender's event is unknown to the caller, not forbidden: a 403 would confirm that the id exists.
    if found is None or not may_read_result(request, principal, found[1]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, Text("error.event_not_found", {"event_id": event_id}))
    return found[0]
