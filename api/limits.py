"""Per-token rate limits for the intake routes: a token bucket per caller, in this API process."""

import math
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from api.auth import token_digest
from schemas.messages import Text


class TokenBuckets:
    """Each key may spend `burst` requests at once, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float) -> float:
        """Spend one request for key: 0 if allowed, else the seconds until one is available."""
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[key] = (tokens - 1, now)
        return 0.0


async def intake_quota(request: Request) -> None:
    """Refuse with 429 and Retry-After when the caller's token is over its intake rate."""
    buckets: TokenBuckets = request.app.state.intake_buckets
    wait = buckets.take(token_digest(request) or "anonymous", request.app.state.clock())
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            Text("error.rate_limited", {"rate": buckets.rate}),
            headers={"Retry-After": str(math.ceil(wait))},
        )


IntakeQuota = Annotated[None, Depends(intake_quota)]
