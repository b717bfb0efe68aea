"""Bearer-token authentication and role checks: deny by default."""

import hashlib
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.config import settings
from schemas.messages import Text
from schemas.partners import load_partners

BASE_ROLES = ("operator", "hospital", "admin", "metrics")
OFFICER_TIERS = ("village", "town", "city", "leadership")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the person a token belongs to, and their role (operator, admin, department:civil-affairs, officer:town:370784101)."""

    role: str
    name: str | None = None

    @property
    def kind(self) -> str:
        """The role without its qualifier (department, officer, ...)."""
        return self.role.split(":", 1)[0]

    @property
    def partner(self) -> str | None:
        """The partner a partner's token speaks for (partner:county-charity → county-charity), else None."""
        return self.role.split(":", 1)[1] if self.kind == "partner" else None

    @property
    def area_scope(self) -> tuple[str, str] | None:
        """For village and town officers, the area field and code they are limited to; None means everything."""
        if self.kind != "officer":
            return None
        _, tier, area = self.role.split(":", 2)
        return (tier, area) if tier in ("village", "town") else None

    def may_see(self, case: dict) -> bool:
        """Whether the case lies in the caller's area (officers see their own village or town; the city sees all)."""
        scope = self.area_scope
        return scope is None or case["area"][scope[0]] == scope[1]


def digest(token: str) -> str:
    """The SHA-256 hex digest of a token: all that is ever stored of it."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_role(name: str) -> str:
    """Validate a role name from the tokens file; a bare 'officer' is the city duty centre."""
    if name == "officer":
        return "officer:city:*"
    kind, _, rest = name.partition(":")
    officer_tier = rest.split(":", 1)[0]
    if (
        name in BASE_ROLES
        or (kind == "department" and rest)
        or (kind == "officer" and rest.count(":") == 1 and officer_tier in OFFICER_TIERS)
        or (kind == "partner" and rest in load_partners(settings.partners).partners)
    ):
        return name
    raise ValueError(f"unknown role {name!r} in tokens file")


def bearer_token(request: Request) -> str | None:
    """The token from the Authorization header, or from ?token= (EventSource cannot send headers)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return request.query_params.get("token")


# Declares bearer auth in the OpenAPI spec, so /docs has an Authorize button; the token itself is read by
# bearer_token, which also takes ?token=.
bearer_scheme = HTTPBearer(auto_error=False, description="a token from `rapidaid tokens add` (or the development tokens file)")


def require(*kinds: str):
    """A dependency admitting only principals whose role kind is listed (admin always passes)."""

    # async so FastAPI runs it on the event loop: a sync dependency costs a thread-pool hop per request.
    async def check(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)] = None) -> Principal:
        token = bearer_token(request)
        principal = request.app.state.tokens.principal(token) if token else None
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, Text("error.unauthorized"), headers={"WWW-Authenticate": "Bearer"})
        if principal.kind == "partner" and "partner" not in kinds:
            raise HTTPException(status.HTTP_403_FORBIDDEN, Text("privilege.partner.referrals_only", {"role": principal.role}))
        if principal.kind != "admin" and principal.kind not in kinds:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, Text("error.forbidden_role", {"role": principal.role, "roles": [*kinds, "admin"]})
            )
        return principal

    return check


Operator = Annotated[Principal, Depends(require("operator"))]
HospitalRole = Annotated[Principal, Depends(require("hospital"))]
DepartmentRole = Annotated[Principal, Depends(require("department"))]
Admin = Annotated[Principal, Depends(require())]
Officer = Annotated[Principal, Depends(require("officer"))]
Reader = Annotated[Principal, Depends(require("operator", "officer", "hospital", "department", "partner"))]
PartnerRole = Annotated[Principal, Depends(require("partner"))]
# Officers and partners: the referral list, each seeing its own part.
ReferralReader = Annotated[Principal, Depends(require("officer", "partner"))]
Scraper = require("metrics")


def token_digest(request: Request) -> str | None:
    """The SHA-256 digest of the caller's bearer token (what rate limits are kept by)."""
    token = bearer_token(request)
    return digest(token) if token else None
