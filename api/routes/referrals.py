"""Referrals to partners (转办转介): officers refer a case, partners read what was referred to them and answer it."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Officer, PartnerRole, Principal, ReferralReader
from api.routes.cases import CaseId, command_on, submit, visible_case
from api.store import referral_case, referral_ids, referred_cases
from schemas import readmodel
from schemas.aftercare import Referral, ReferralStatus
from schemas.case import Case
from schemas.intake import FreeText
from schemas.messages import Text, language_from, say
from streams.rules.referrals import find_referral, referral_refusal

router = APIRouter(prefix="/v1", tags=["referrals"])
REFERRAL_ID_PATTERN = r"^R[0-9]{1,6}-C[0-9A-F]{12}$"
ReferralId = Annotated[str, Path(pattern=REFERRAL_ID_PATTERN)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReferBody(_Body):
    """What is referred, and to whom."""

    partner: str = Field(min_length=1, max_length=100, description="the partner's name in the partners file (GET /v1/partners)")
    request: FreeText = Field(min_length=1, max_length=2000, description="what the partner is asked to do")


class ReasonBody(_Body):
    """Why a referral is declined, or revoked."""

    reason: FreeText = Field(min_length=1, max_length=2000)


class ReportBody(_Body):
    """The help the partner gave."""

    report: FreeText = Field(min_length=1, max_length=2000)


@router.get("/partners")
async def get_partners(request: Request, _: Officer) -> dict:
    """The partners a case may be referred to: departments, charities and social organisations, by name."""
    return {"items": request.app.state.partners.listed()}


@router.post("/cases/{case_id}/refer", status_code=status.HTTP_202_ACCEPTED)
async def refer(case_id: CaseId, body: ReferBody, request: Request, principal: Officer) -> dict:
    """Refer the case, or one part of the help it needs, to a partner, which must accept or decline before the accept deadline."""
    known = request.app.state.partners.partners
    if body.partner not in known:
        language = language_from(request.headers.get("accept-language"))
        message = say("error.referral.partner_unknown", language, partner=body.partner, partners="、".join(known))
        raise RequestValidationError([{"type": "partner_unknown", "loc": ("body", "partner"), "msg": message, "input": body.partner}])
    case = Case.model_validate(await visible_case(request, principal, case_id))
    return await submit(request, case, command_on(principal, case, "refer", partner=body.partner, request=body.request), referral_refusal)


def forbidden(key: str, referral_id: str, principal: Principal) -> HTTPException:
    """A 403 saying why the caller may not act on the referral."""
    return HTTPException(status.HTTP_403_FORBIDDEN, Text(key, {"referral_id": referral_id, "role": principal.role}))


async def case_of(request: Request, principal: Principal, referral_id: str) -> Case:
    """The case the referral is on, or 404 when there is no such referral; 403 for an officer of another area."""
    doc = await referral_case(request.app.state.redis, referral_id)
    case = Case.model_validate(doc) if doc else None
    referral = find_referral(case, referral_id) if case else None
    if referral is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, Text("error.referral.not_found", {"referral_id": referral_id}))
    if principal.kind == "officer" and not principal.may_see(doc):
        raise forbidden("error.referral.outside_area", referral_id, principal)
    return case


async def answer(request: Request, principal: Principal, referral_id: str, kind: str, text: str | None = None) -> dict:
    """A partner's answer to a referral made to it (403 for any other caller, admins included: only the partner answers)."""
    case = await case_of(request, principal, referral_id)
    if principal.partner != find_referral(case, referral_id).partner:
        raise forbidden("error.referral.not_yours", referral_id, principal)
    return await submit(request, case, command_on(principal, case, kind, referral_id=referral_id, text=text), referral_refusal)


@router.post("/referrals/{referral_id}/accept", status_code=status.HTTP_202_ACCEPTED)
async def accept(referral_id: ReferralId, request: Request, principal: PartnerRole) -> dict:
    """Accept a referral: the delivery deadline starts."""
    return await answer(request, principal, referral_id, "accept_referral")


@router.post("/referrals/{referral_id}/decline", status_code=status.HTTP_202_ACCEPTED)
async def decline(referral_id: ReferralId, body: ReasonBody, request: Request, principal: PartnerRole) -> dict:
    """Decline a referral with the reason: it goes back to the officer."""
    return await answer(request, principal, referral_id, "decline_referral", body.reason)


@router.post("/referrals/{referral_id}/report", status_code=status.HTTP_202_ACCEPTED)
async def report(referral_id: ReferralId, body: ReportBody, request: Request, principal: PartnerRole) -> dict:
    """Report the help given on an accepted referral."""
    return await answer(request, principal, referral_id, "report_referral", body.report)


@router.post("/referrals/{referral_id}/revoke", status_code=status.HTTP_202_ACCEPTED)
async def revoke(referral_id: ReferralId, body: ReasonBody, request: Request, principal: Officer) -> dict:
    """Withdraw a pending or accepted referral with the reason: its unmet deadlines are removed."""
    case = await case_of(request, principal, referral_id)
    command = command_on(principal, case, "revoke_referral", referral_id=referral_id, text=body.reason)
    return await submit(request, case, command, referral_refusal)


def referral_item(request: Request, referral_id: str, case: dict) -> dict:
    """A referral as its partner reads it: the need, the place by name, the person's name with the ID masked, the deadlines and
    the status; never a phone, the reports or the rest of the case."""
    [referral] = [r for r in case["referrals"] if r["referral_id"] == referral_id]
    clocks = Referral.model_validate(referral)
    deadlines = case["deadlines"]
    register = request.app.state.register
    area = case["area"]
    return {
        **referral,
        "case_id": case["case_id"],
        "case_status": case["status"],
        "category": case["category"],
        "track": case["track"],
        "priority": case["priority"],
        "place": {**{f: area[f] for f in ("town", "village")}, **{f"{f}_name": register.name_of(area[f]) for f in ("town", "village")}},
        "person": {"name": case["subject"].get("name"), "id_masked": case["subject"].get("id_masked")},
        "deadlines": {
            "accept": deadlines.get(clocks.accept_deadline),
            "deliver": deadlines.get(clocks.deliver_deadline),
        },
    }


@router.get("/referrals")
async def get_referrals(
    request: Request, principal: ReferralReader, status_: Annotated[ReferralStatus | None, Query(alias="status")] = None
) -> dict:
    """A partner's referrals (only those made to it), or those of cases in an officer's area; newest first."""
    if principal.kind == "partner":
        key = readmodel.partner_referrals_key(principal.partner)
    else:
        key = readmodel.area_referrals_key(*principal.area_scope) if principal.area_scope else readmodel.area_referrals_key()
    redis = request.app.state.redis
    items = [referral_item(request, rid, case) for rid, case in await referred_cases(redis, await referral_ids(redis, key))]
    items = [item for item in items if status_ is None or item["status"] == status_]
    partner = request.app.state.partners.partners.get(principal.partner) if principal.partner else None
    # A partner's page names the partner it speaks for; the partners list itself is the officers'.
    return {"items": items, "total": len(items), "partner": {"name": principal.partner, **partner.model_dump()} if partner else None}
