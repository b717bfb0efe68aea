"""Intake rules: raw input bytes to a household-keyed Signal, or a dead letter saying why not."""

import base64
import hashlib
import hmac
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from schemas import topics
from schemas.case import DeadLetter, OrderedCommand, Signal, SubjectView
from schemas.departments import Departments
from schemas.ids import age_on, birth_date, mask_id_number, mask_id_numbers_in
from schemas.intake import HospitalAdmission, HotlineCall, Identification, InputEvent, MemberAdded, department_change, stamp
from schemas.messages import say
from schemas.messages.validation import error_message, field_name, field_path, not_utf8
from schemas.register import Register

M = TypeVar("M", bound=BaseModel)
# How far a sender's clock may run ahead of ours before its times are taken as the time of receipt.
FUTURE_SKEW_S = 300
MAX_EVENT_BYTES = 65536  # the API's request body limit, applied to producers writing straight to Kafka too


class RejectedInput(ValueError):
    """An input that cannot become a signal: field names the bad field, kind is its metric label (schema, malformed_json, ...)."""

    def __init__(self, reason: str, field: str | None = None, event_id: str | None = None, kind: str = "schema") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.event_id = event_id
        self.kind = kind


class ConflictingDuplicate(RejectedInput):
    """An event reusing an event id that an event with other content already holds: the earlier event keeps it."""

    def __init__(self, event_id: str) -> None:
        # Known by its own place in the log (no event id of its own), so the id it reused keeps the earlier event's result.
        super().__init__(say("duplicate.conflicting", event_id=event_id), "event_id", kind="conflicting_duplicate")
        self.duplicate_of = event_id


# Who sent an event is the receiver's to stamp (the API names the token's holder), not part of what the event says.
_NOT_CONTENT = {"reported_by"}


def content_digest(event: BaseModel) -> str:
    """A digest of what an event (or an identification) says, however it was spelled: defaults filled, nulls and key order ignored."""
    document = event.model_dump(mode="json", exclude_none=True, exclude=_NOT_CONTENT)
    return hashlib.blake2b(orjson.dumps(document, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


def refuse_conflicting(event_id: str, digest: str, earlier_digest: str | None) -> None:
    """Raise ConflictingDuplicate when an event id already came with content of another digest (the same content passes)."""
    if earlier_digest is not None and earlier_digest != digest:
        raise ConflictingDuplicate(event_id)


def pseudonym(value: str, secret: bytes) -> str:
    """A stable keyed hash, so people can be matched across events without storing their ID numbers."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:24]


def offset_event_id(topic: str, partition: int, offset: int) -> str:
    """A deterministic event id for a direct-produced event that carries none, stable across replays."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kafka:{topic}/{partition}/{offset}"))


def first_error(error: ValidationError) -> tuple[str, str]:
    """The dotted field path of the first validation error (a tagged union's tag is the type field) and its message in Chinese."""
    detail = error.errors(include_url=False)[0]
    detail["loc"] = ("body", *detail["loc"])  # located as the API locates a request's fields, so both name them alike
    if detail["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return "type", error_message(detail)
    return field_path(detail["loc"]) or "body", error_message(detail)


def parse(validate: Callable[[Any], M], raw: bytes, max_bytes: int = MAX_EVENT_BYTES) -> M:
    """Decode and validate one JSON document of at most max_bytes; raise RejectedInput naming the bad field."""
    if raw is None:
        raise RejectedInput(say("validation.no_value"))
    if len(raw) > max_bytes:
        raise RejectedInput(say("validation.event_too_large", max_bytes=max_bytes, size=len(raw)))
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        problem = not_utf8(raw) or error  # orjson's words for bytes that are not UTF-8 speak of surrogates
        raise RejectedInput(say("validation.malformed_json", error=problem), kind="malformed_json") from None
    try:
        return validate(document)
    except ValidationError as error:
        field, message = first_error(error)
        raise RejectedInput(message, field, event_id_of(document)) from None


def event_id_of(document: Any) -> str | None:
    """The event id a decoded document claims, if it claims one."""
    event_id = document.get("event_id") if isinstance(document, dict) else None
    return event_id if isinstance(event_id, str) else None


def event_id_in(raw: bytes) -> str | None:
    """The event id raw bytes claim, if they are a JSON document that claims one."""
    try:
        return event_id_of(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return None


def time_of(timestamp_ms: int) -> datetime:
    """A Kafka record's timestamp as an aware UTC time."""
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def parse_input(topic: str, raw: bytes, departments: Departments, register: Register) -> InputEvent:
    """Validate an event from one of the three input topics: its schema, who may send which change, and its place in the register."""
    if topic == topics.HOTLINE_CALLS:
        event = parse(HotlineCall.model_validate, raw)
    elif topic == topics.HOSPITAL_ADMISSIONS:
        event = parse(HospitalAdmission.model_validate, raw)
    else:
        event = parse(department_change.validate_python, raw)
        refusal = departments.refusal(event.department, event.type)
        if refusal:
            reason = say("validation.at", field=field_name(["type"]), problem=refusal.render())
            raise RejectedInput(reason, "type", event.event_id, "not_allowed")
    place_refusal = register.refusal(event.area)
    if place_refusal:
        field, key, params = place_refusal
        raise RejectedInput(f"{field}: {say(key, **params)}", field, event.event_id)
    return event


def source_and_kind(event: InputEvent) -> tuple[str, str]:
    """Which source an input event is from and what kind of event it is."""
    if isinstance(event, HotlineCall):
        return "hotline", event.category.value
    if isinstance(event, HospitalAdmission):
        return "hospital", event.admission_type.value
    return "department", event.type


# Fields every input has, or that become the signal's own fields, are not repeated in its details.
_NOT_DETAILS = set(InputEvent.model_fields) | {"caller_phone", "category", "admission_type", "type"}


def _reporter(event: InputEvent) -> str | None:
    """Who sent the event, as a person reads it: the hospital's name, the department, or the operator who took the call."""
    if isinstance(event, HospitalAdmission):
        return event.hospital.name
    if isinstance(event, HotlineCall):
        return event.reported_by
    return event.department


def _not_after(at: datetime, received: datetime, skew_s: float) -> datetime:
    """A sender's time, or the receipt time when the sender's clock runs ahead of it by more than the skew allowed."""
    return received if (at - received).total_seconds() > skew_s else at


def signal_from_event(
    event: InputEvent, household_id: str, event_id: str, received: datetime, secret: bytes, skew_s: float = FUTURE_SKEW_S
) -> Signal:
    """The normalised signal of an input event received at `received`, routed to the given household.

    The sender's times are kept as reported (a month-old record stays a month old) unless they lie in the future;
    everything downstream counts from `received`.
    """
    event = stamp(event, event_id, received)
    reported_at = _not_after(event.reported_at, received, skew_s)
    occurred_at = min(_not_after(event.occurred_at, received, skew_s), reported_at)
    subject = event.subject
    if subject.id_number is None:
        shown = SubjectView(name=subject.name, sex=subject.sex, approximate_age=subject.approximate_age, description=subject.description)
        age = subject.approximate_age
    else:
        if birth_date(subject.id_number) > occurred_at.date():
            problem = say("validation.birth_after_event", date=occurred_at.date().isoformat())
            raise RejectedInput(say("validation.at", field=field_name(["subject", "id_number"]), problem=problem), "subject.id_number")
        shown = SubjectView(id_masked=mask_id_number(subject.id_number), name=subject.name)
        age = age_on(subject.id_number, occurred_at.date())
    source, kind = source_and_kind(event)
    return Signal(
        event_id=event.event_id,
        source=source,
        kind=kind,
        household_id=household_id,
        person_key=person_key_of(event, event.event_id, secret),
        caller_key=pseudonym(event.caller_phone, secret) if isinstance(event, HotlineCall) else None,
        subject=shown,
        subject_age=age,
        area=event.area,
        flags=event.flags,
        caller_phone=event.caller_phone if isinstance(event, HotlineCall) else None,
        reporter=_reporter(event),
        details=event.model_dump(mode="json", exclude=_NOT_DETAILS),
        occurred_at=occurred_at,
        reported_at=reported_at,
        received_at=received,
    )


def fallback_household(person_key: str) -> str:
    """The household id of a person no registry event has placed in a household yet."""
    return f"P{person_key[:16]}"


UNIDENTIFIED = "u:"  # how the person key of someone known by no ID number begins


def unidentified_person(event_id: str, secret: bytes) -> str:
    """The person key of a call's or admission's subject known by no ID number: from the event, never from a name."""
    return UNIDENTIFIED + pseudonym(f"event:{event_id}", secret)[:22]


def person_key_of(event: InputEvent, event_id: str, secret: bytes) -> str:
    """The pseudonymous key of an event's subject: a keyed hash of the ID number, or of the event for someone known by none."""
    id_number = event.subject.id_number
    return pseudonym(id_number, secret) if id_number else unidentified_person(event_id, secret)


def is_unidentified(person_key: str) -> bool:
    """Whether a person key stands for someone not identified by an ID number yet."""
    return person_key.startswith(UNIDENTIFIED)


def household_of_person(person_key: str) -> str:
    """The household an event about the person starts in when neither the event nor the registry names one.

    Someone known by no ID number lives in a provisional household of the call itself (U…) until identified.
    """
    if is_unidentified(person_key):
        return f"U{person_key.removeprefix(UNIDENTIFIED)[:16]}"
    return fallback_household(person_key)


def masked_bytes(raw: bytes) -> bytes:
    """The bytes with every ID-number-like run of ASCII digits masked, whether or not the rest is text."""
    # Latin-1 maps each byte to one character and back, and UTF-8 never puts ASCII bytes inside a multi-byte character.
    return mask_id_numbers_in(raw.decode("latin-1")).encode("latin-1")


def dead_letter(
    rejected: RejectedInput, topic: str, partition: int, offset: int, key: bytes | None, raw: bytes, now: datetime
) -> DeadLetter:
    """Wrap a rejected input with where it came from and an event id to look it up by, every ID number in it masked.

    The topic is readable by every broker client, so the full ID numbers are kept nowhere: the sender still has them.
    """
    masked = masked_bytes(raw)
    try:
        text = masked.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return DeadLetter(
        reason=mask_id_numbers_in(rejected.reason),
        field=rejected.field,
        source_topic=topic,
        partition=partition,
        offset=offset,
        key=mask_id_numbers_in(key.decode("utf-8", "replace")) if key is not None else None,
        event_id=rejected.event_id or offset_event_id(topic, partition, offset),
        duplicate_of=rejected.duplicate_of if isinstance(rejected, ConflictingDuplicate) else None,
        original=text,
        original_b64=base64.b64encode(masked).decode(),
        at=now,
    )


INTAKE = "system:intake"


def identification_hand_over(identification: Identification, target: str, received: datetime, secret: bytes) -> OrderedCommand:
    """The hand_over an identification becomes: the provisional household gives its case up to the person's household,
    with the verified subject (ID masked, age from the ID number, the person's key); the ID itself goes no further."""
    id_number = identification.id_number
    if birth_date(id_number) > received.date():
        problem = say("validation.birth_after_event", date=received.date().isoformat())
        raise RejectedInput(say("validation.at", field=field_name(["id_number"]), problem=problem), "id_number")
    return OrderedCommand(
        type="hand_over",
        household_id=identification.household_id,
        issued_at=received,
        actor=identification.actor,
        actor_name=identification.actor_name,
        command_id=identification.identification_id,
        case_id=identification.case_id,
        target_household_id=target,
        subject=SubjectView(id_masked=mask_id_number(id_number), name=identification.name),
        subject_age=age_on(id_number, received.date()),
        person_key=pseudonym(id_number, secret),
    )


def registry_hand_over(event: MemberAdded, person_key: str, event_id: str, received: datetime) -> OrderedCommand:
    """The hand_over of a person's own household to the registry household a member_added places them in."""
    return OrderedCommand(
        type="hand_over",
        household_id=fallback_household(person_key),
        issued_at=received,
        actor=INTAKE,
        command_id=f"registry:{event_id}",
        target_household_id=event.household_id,
    )
