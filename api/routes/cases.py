"""Case routes: the read model as duty officers query it, and their commands on cases."""

from collections.abc import Callable
from typing import Annotated, Literal

import uuid_utils
from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Officer, Principal, token_digest
from api.privilege import BoardReader, CaseReader, case_for
from api.store import get_case, list_cases, mark_accepted, read_by
from schemas import topics
from schemas.case import Case, CaseCommand, OrderedCommand, Outcome, PossibleMatch, Priority, Stage
from schemas.intake import FreeText, Identification, IdNumber
from schemas.messages import Text
from schemas.timing import Tier
from streams.rules.clock import SystemClock
from streams.rules.workflow import refusal

router = APIRouter(prefix="/v1/cases", tags=["cases"])
PAGE_LIMIT_MAX = 500
OFFSET_MAX = 10_000_000  # beyond any county's cases; Redis refuses offsets near 2**63
CASE_ID_PATTERN = r"^C[0-9A-F]{12}$"
CaseId = Annotated[str, Path(pattern=CASE_ID_PATTERN)]
Note = Annotated[str | None, Field(default=None, min_length=1, max_length=2000)]
clock = SystemClock()
Refusal = Callable[[Case, CaseCommand], Text | None]  # why a command cannot apply to the case, as far as it tells


@router.get("")
async def get_cases(
    request: Request,
    principal: CaseReader,
    state: Literal["open", "closed"] = "open",
    status_: Annotated[Literal["green", "yellow", "red"] | None, Query(alias="status")] = None,
    tier: Tier | None = None,
    town: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
    priority: Priority | None = None,
    track: Literal["emergency", "standard"] | None = None,
    stage: Stage | None = None,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = 100,
) -> dict:
    """Open cases by next deadline (or closed ones, latest first), filtered, paginated, limited to the caller's area."""
    asked = {"status": status_, "tier": tier, "town": town, "priority": priority, "track": track, "stage": stage}
    filters = {k: v for k, v in asked.items() if v}
    if principal.area_scope:
        field, area = principal.area_scope
        filters[field] = area
    items, total = await list_cases(request.app.state.redis, state == "closed", filters, offset, limit)
    return {"items": [case_for(principal, case) for case in items], "total": total, "offset": offset, "limit": limit}


async def visible_case(request: Request, principal: Principal, case_id: str, read: str | None = None) -> dict:
    """The case with its timeline, or 404 / 403 when it is unknown or outside the caller's area; a read is access-logged."""
    reader = read_by(principal.name, principal.role, read, clock.now()) if read else None
    case = await get_case(request.app.state.redis, case_id, reader)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, Text("error.case_not_found", {"case_id": case_id}))
    if not principal.may_see(case):
        raise HTTPException(status.HTTP_403_FORBIDDEN, Text("error.case_outside_area", {"case_id": case_id, "role": principal.role}))
    return case_for(principal, case)


@router.get("/{case_id}")
async def get_one_case(case_id: CaseId, request: Request, principal: CaseReader) -> dict:
    """One case with its full timeline; the read is recorded in the access log."""
    return await visible_case(request, principal, case_id, read="case")


@router.get("/{case_id}/timeline")
async def get_timeline(case_id: CaseId, request: Request, principal: CaseReader) -> dict:
    """Every event of the case in order, with actor, time and reason; the read is recorded in the access log."""
    case = await visible_case(request, principal, case_id, read="timeline")
    return {"case_id": case_id, "timeline": case["timeline"]}


@router.get("/{case_id}/programmes")
async def get_programmes(case_id: CaseId, request: Request, principal: BoardReader) -> dict:
    """多事一核 for the case's household: each programme's verdict, its facts and what is missing (advice, not a decision)."""
    case = await visible_case(request, principal, case_id, read="programmes")
    view = await request.app.state.households.view(case["household_id"])
    return {"case_id": case_id, "household_id": case["household_id"], "programmes": view["programmes"] if view else []}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AcknowledgeBody(_Body):
    """Acknowledging a case: someone is on it."""

    note: Note


class AssignBody(_Body):
    """Assigning a case to a person or unit."""

    assignee: str = Field(min_length=1, max_length=100)
    note: Note


class DeliverBody(Outcome):
    """Recording that aid was delivered: its type, and amount when cash."""

    note: Note


class CloseBody(_Body):
    """Closing a case with its outcome."""

    outcome: Outcome
    note: Note


class ReopenBody(_Body):
    """Reopening a closed case."""

    reason: str = Field(min_length=1, max_length=2000)


class NoteBody(_Body):
    """A note on the case's timeline."""

    text: str = Field(min_length=1, max_length=2000)


class IdentifyBody(_Body):
    """Who the subject of a case opened without an ID number is."""

    id_number: IdNumber
    name: FreeText | None = Field(
        default=None, min_length=1, max_length=50, description="the person's name, when the case has none or a wrong one"
    )


async def accepted(request: Request, command_id: str) -> dict:
    """Remember the command as accepted for its sender, and say where to follow it."""
    state = request.app.state
    await mark_accepted(state.redis, command_id, state.settings.event_result_ttl_s, token_digest(request))
    return {"command_id": command_id, "status_url": f"/v1/events/{command_id}"}


async def issue(request: Request, principal: Principal, case_id: str, kind: str, refused: Refusal = refusal, **fields) -> dict:
    """Check the command against the read model (409 with the reason at once, in the caller's language), then hand it to the case agent."""
    case = Case.model_validate(await visible_case(request, principal, case_id))
    return await submit(request, case, command_on(principal, case, kind, **fields), refused)


def command_on(principal: Principal, case: Case, kind: str, **fields) -> CaseCommand:
    """A command on the case from the caller, naming the person behind the token."""
    return CaseCommand(
        type=kind,
        household_id=case.household_id,
        case_id=case.case_id,
        issued_at=clock.now(),
        actor=principal.role,
        actor_name=principal.name,
        command_id=str(uuid_utils.uuid7()),
        **fields,
    )


async def submit(request: Request, case: Case, command: CaseCommand, refused: Refusal) -> dict:
    """Refuse the command with 409 when the read model already shows why, else hand it to the case agent."""
    if reason := refused(case, command):
        raise HTTPException(status.HTTP_409_CONFLICT, reason)
    body = command.model_dump_json(exclude_none=True).encode()
    await request.app.state.publisher.publish(topics.CASE_COMMANDS, case.household_id.encode(), body)
    return await accepted(request, command.command_id)


@router.post("/{case_id}/acknowledge", status_code=status.HTTP_202_ACCEPTED)
async def acknowledge(case_id: CaseId, body: AcknowledgeBody, request: Request, principal: Officer) -> dict:
    """Acknowledge the case: stops the acknowledgement clock, not the aid clock."""
    return await issue(request, principal, case_id, "acknowledge", text=body.note)


@router.post("/{case_id}/assign", status_code=status.HTTP_202_ACCEPTED)
async def assign(case_id: CaseId, body: AssignBody, request: Request, principal: Officer) -> dict:
    """Assign the case to someone who will deliver the aid."""
    return await issue(request, principal, case_id, "assign", assignee=body.assignee, text=body.note)


@router.post("/{case_id}/deliver", status_code=status.HTTP_202_ACCEPTED)
async def deliver(case_id: CaseId, body: DeliverBody, request: Request, principal: Officer) -> dict:
    """Record the aid as delivered; the paperwork deadline starts."""
    outcome = Outcome.model_validate(body.model_dump(exclude={"note"}))
    return await issue(request, principal, case_id, "deliver", outcome=outcome, text=body.note)


@router.post("/{case_id}/close", status_code=status.HTTP_202_ACCEPTED)
async def close(case_id: CaseId, body: CloseBody, request: Request, principal: Officer) -> dict:
    """Close the case with its outcome."""
    return await issue(request, principal, case_id, "close", outcome=body.outcome, text=body.note)


@router.post("/{case_id}/reopen", status_code=status.HTTP_202_ACCEPTED)
async def reopen(case_id: CaseId, body: ReopenBody, request: Request, principal: Officer) -> dict:
    """Reopen a closed case with fresh deadlines."""
    return await issue(request, principal, case_id, "reopen", text=body.reason)


@router.post("/{case_id}/notes", status_code=status.HTTP_202_ACCEPTED)
async def add_note(case_id: CaseId, body: NoteBody, request: Request, principal: Officer) -> dict:
    """Add a note to the case's timeline."""
    return await issue(request, principal, case_id, "note", text=body.text)


@router.post("/{case_id}/identify", status_code=status.HTTP_202_ACCEPTED)
async def identify(case_id: CaseId, body: IdentifyBody, request: Request, principal: Officer) -> dict:
    """Identify the subject of a case opened without an ID number: the case moves into the person's household (merged
    with its open case, if it has one), through intake and triage like every other change; 409 once identified."""
    case = Case.model_validate(await visible_case(request, principal, case_id))
    if case.merged_into:
        raise HTTPException(status.HTTP_409_CONFLICT, Text("refusal.case_merged", {"case_id": case_id, "into": case.merged_into}))
    if case.identity_verified:
        raise HTTPException(status.HTTP_409_CONFLICT, Text("refusal.already_verified", {"case_id": case_id}))
    identification = Identification(
        identification_id=str(uuid_utils.uuid7()),
        case_id=case_id,
        household_id=case.household_id,
        id_number=body.id_number,
        name=body.name,
        requested_at=clock.now(),
        actor=principal.role,
        actor_name=principal.name,
    )
    state = request.app.state
    # Keyed by the ID number like the input topics: the one topic the ID travels on in clear, read by intake alone.
    await state.publisher.publish(
        topics.IDENTIFICATIONS, body.id_number.encode(), identification.model_dump_json(exclude_none=True).encode()
    )
    return await accepted(request, identification.identification_id)


async def listed_match(request: Request, principal: Principal, case_id: str, other_id: str) -> tuple[Case, Case]:
    """The caller's case and the other case it shows as possibly the same person, or 409 when it shows no such match."""
    case = Case.model_validate(await visible_case(request, principal, case_id))
    listed = next((m for m in case.possible_matches if m.case_id == other_id and m.status == "open"), None)
    other_doc = await get_case(request.app.state.redis, other_id) if listed else None
    if other_doc is None or case.merged_into:
        raise HTTPException(status.HTTP_409_CONFLICT, Text("refusal.no_such_match", {"case_id": case_id, "other": other_id}))
    return case, Case.model_validate(other_doc)


@router.post("/{case_id}/matches/{other_id}/confirm", status_code=status.HTTP_202_ACCEPTED)
async def confirm_match(case_id: CaseId, other_id: CaseId, request: Request, principal: Officer) -> dict:
    """可能是同一人, confirmed: the case about someone not identified moves into the other's household, and one case
    remains (the older absorbing the newer), exactly as an identification would; the merge names the officer."""
    case, other = await listed_match(request, principal, case_id, other_id)
    moving, staying = (case, other) if not case.identity_verified or other.identity_verified else (other, case)
    hand_over = OrderedCommand(
        type="hand_over",
        household_id=moving.household_id,
        case_id=moving.case_id,
        target_household_id=staying.household_id,
        issued_at=clock.now(),
        actor=principal.role,
        actor_name=principal.name,
        command_id=str(uuid_utils.uuid7()),
    )
    # A move rides on aid.signals, in the household's own order with its signals (streams.rules.merge).
    body = hand_over.model_dump_json(exclude_none=True).encode()
    await request.app.state.publisher.publish(topics.SIGNALS, moving.household_id.encode(), body)
    return await accepted(request, hand_over.command_id)


@router.post("/{case_id}/matches/{other_id}/dismiss", status_code=status.HTTP_202_ACCEPTED)
async def dismiss_match(case_id: CaseId, other_id: CaseId, request: Request, principal: Officer) -> dict:
    """Not the same person: the possible match is marked dismissed on both cases, naming the officer."""
    case, other = await listed_match(request, principal, case_id, other_id)
    command_id = str(uuid_utils.uuid7())
    # Each case gets its own command id: one id's result must come from one case's event (streams.rules.merge explains why).
    for here, there, sent_id in ((case, other, command_id), (other, case, f"{command_id}:other")):
        command = OrderedCommand(
            type="dismiss_match",
            household_id=here.household_id,
            case_id=here.case_id,
            issued_at=clock.now(),
            actor=principal.role,
            actor_name=principal.name,
            command_id=sent_id,
            match=PossibleMatch(case_id=there.case_id, household_id=there.household_id),
        )
        body = command.model_dump_json(exclude_none=True).encode()
        await request.app.state.publisher.publish(topics.SIGNALS, here.household_id.encode(), body)
    return await accepted(request, command_id)
