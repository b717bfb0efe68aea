"""ASGI middleware: plain ASGI rather than BaseHTTPMiddleware, which costs a task group per request."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import request_seconds, requests_total


class RequestMetrics:
    """Counts requests by method, route template and status; times each to its response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def observe_start(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")
                path = route.path if route is not None else "unmatched"
                requests_total.labels(scope["method"], path, str(message["status"])).inc()
                request_seconds.labels(scope["method"], path).observe(time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, observe_start)
