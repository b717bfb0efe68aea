"""ASGI middleware: plain ASGI rather than BaseHTTPMiddleware, which costs a task group per request."""

import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import request_seconds, requests_total
from schemas.messages import language_from, say
from schemas.messages.validation import not_utf8


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


def _too_deep(body: bytes, limit: int) -> bool:
    """Whether JSON text nests arrays or objects deeper than limit (brackets inside strings do not count)."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


class BodyLimits:
    """Refuses bodies over max_bytes (413) and JSON nested deeper than max_depth (422) before any parsing."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_depth: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        language = language_from(headers.get(b"accept-language", b"").decode("latin-1"))
        too_large = say("error.body_too_large", language, max_bytes=self.max_bytes)
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _refuse(send, 413, too_large)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(send, 413, too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        # Counting brackets in C first keeps the byte-by-byte scan off ordinary, shallow bodies.
        if body.count(b"[") + body.count(b"{") > self.max_depth and _too_deep(body, self.max_depth):
            problem = say("validation.json_too_deep", language, max_depth=self.max_depth)
            await _refuse_body(send, language, problem, "json_too_deep")
            return
        # JSON between systems is UTF-8 (RFC 8259); FastAPI would answer other bytes with a bare English 400 naming nothing.
        if (where := not_utf8(body, language)) is not None:
            problem = say("validation.json_invalid", language, error=where)
            await _refuse_body(send, language, problem, "json_invalid")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _refuse_body(send: Send, language: str, problem: str, error_type: str) -> None:
    """A 422 naming the body as the field at fault, shaped like every other 422."""
    message = say("validation.at", language, field=say("validation.field.body", language), problem=problem)
    await _refuse(send, 422, message, loc=["body"], error_type=error_type)


async def _refuse(send: Send, status: int, message: str, loc: list[str] | None = None, error_type: str = "value_error") -> None:
    detail = [{"loc": loc, "msg": message, "type": error_type}] if loc else message
    payload = orjson.dumps({"detail": detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
