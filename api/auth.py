"""Bearer-token authentication and role checks: deny by default."""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import orjson
from fastapi import Depends, HTTPException, Request, status

BASE_ROLES = ("operator", "hospital", "admin", "metrics")
OFFICER_TIERS = ("village", "town", "city", "leadership")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role such as operator, admin, department:civil-affairs or officer:town:370784101."""

    role: str

    @property
    def kind(self) -> str:
        """The role without its qualifier (department, officer, ...)."""
        return self.role.split(":", 1)[0]

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


def _digest(token: str) -> str:
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
    ):
        return name
    raise ValueError(f"unknown role {name!r} in tokens file")


class TokenRegistry:
    """Known tokens, kept only as SHA-256 digests."""

    def __init__(self, tokens_by_role: dict[str, str]) -> None:
        self._roles = {_digest(token): normalise_role(role) for role, token in tokens_by_role.items()}

    @classmethod
    def from_file(cls, path: Path) -> "TokenRegistry":
        """Load a JSON object of role → token."""
        return cls(orjson.loads(path.read_bytes()) if path.exists() else {})

    def principal(self, token: str) -> Principal | None:
        """The principal a token belongs to, if any."""
        role = self._roles.get(_digest(token))
        return Principal(role) if role else None


def bearer_token(request: Request) -> str | None:
    """The token from the Authorization header, or from ?token= (EventSource cannot send headers)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return request.query_params.get("token")


def require(*kinds: str):
    """A dependency admitting only principals whose role kind is listed (admin always passes)."""

    # async so FastAPI runs it on the event loop: a sync dependency costs a thread-pool hop per request.
    async def check(request: Request) -> Principal:
        token = bearer_token(request)
        principal = request.app.state.tokens.principal(token) if token else None
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or unknown bearer token", headers={"WWW-Authenticate": "Bearer"})
        if principal.kind != "admin" and principal.kind not in kinds:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"role {principal.role!r} may not do this; allowed: {', '.join(kinds) or 'admin'}"
            )
        return principal

    return check


Operator = Annotated[Principal, Depends(require("operator"))]
HospitalRole = Annotated[Principal, Depends(require("hospital"))]
DepartmentRole = Annotated[Principal, Depends(require("department"))]
Admin = Annotated[Principal, Depends(require())]
Officer = Annotated[Principal, Depends(require("officer"))]
Reader = Annotated[Principal, Depends(require("operator", "officer", "hospital", "department"))]
Scraper = require("metrics")


def token_digest(request: Request) -> str | None:
    """The SHA-256 digest of the caller's bearer token (what rate limits are kept by)."""
    token = bearer_token(request)
    return _digest(token) if token else None
