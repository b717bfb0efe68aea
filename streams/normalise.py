"""Intake rules: raw input bytes to a household-keyed Signal, or a dead letter saying why not."""

import base64
import hashlib
import hmac
import uuid
from datetime import datetime
from typing import TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from schemas.case import DeadLetter, Signal, SubjectView
from schemas.ids import mask_id_number
from schemas.intake import HotlineCall, stamp

M = TypeVar("M", bound=BaseModel)


class RejectedInput(ValueError):
    """An input that cannot become a signal; field names the offending field when there is one."""

    def __init__(self, reason: str, field: str | None = None, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.event_id = event_id


def pseudonym(value: str, secret: bytes) -> str:
    """A stable keyed hash, so people can be matched across events without storing their ID numbers."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:24]


def offset_event_id(topic: str, partition: int, offset: int) -> str:
    """A deterministic event id for a direct-produced event that carries none, stable across replays."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kafka:{topic}/{partition}/{offset}"))


def first_error(error: ValidationError) -> tuple[str, str]:
    """The dotted field path and message of the first validation error."""
    detail = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in detail["loc"]) or "body"
    return field, detail["msg"]


def parse(model: type[M], raw: bytes) -> M:
    """Decode and validate one JSON document; raise RejectedInput naming the bad field."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise RejectedInput(f"malformed JSON: {error}") from None
    event_id = document.get("event_id") if isinstance(document, dict) else None
    try:
        return model.model_validate(document)
    except ValidationError as error:
        field, message = first_error(error)
        raise RejectedInput(f"{field}: {message}", field, event_id if isinstance(event_id, str) else None) from None


def signal_from_call(call: HotlineCall, event_id: str, now: datetime, secret: bytes) -> Signal:
    """The normalised signal of a hotline call, routed to the subject's household."""
    call = stamp(call, event_id, now)
    person_key = pseudonym(call.subject.id_number, secret)
    return Signal(
        event_id=call.event_id,
        source="hotline",
        kind=call.category.value,
        household_id=call.household_id or f"P{person_key[:16]}",
        person_key=person_key,
        caller_key=pseudonym(call.caller_phone, secret),
        subject=SubjectView(id_masked=mask_id_number(call.subject.id_number), name=call.subject.name),
        area=call.area,
        flags=call.flags,
        description=call.description,
        occurred_at=call.occurred_at,
        reported_at=call.reported_at,
    )


def dead_letter(
    rejected: RejectedInput, topic: str, partition: int, offset: int, key: bytes | None, raw: bytes, now: datetime
) -> DeadLetter:
    """Wrap a rejected input with where it came from, keeping the original bytes and an event id to look it up by."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return DeadLetter(
        reason=rejected.reason,
        field=rejected.field,
        source_topic=topic,
        partition=partition,
        offset=offset,
        key=key.decode("utf-8", "replace") if key is not None else None,
        event_id=rejected.event_id or offset_event_id(topic, partition, offset),
        original=text,
        original_b64=base64.b64encode(raw).decode(),
        at=now,
    )
