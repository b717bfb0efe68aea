"""Operations routes: health, readiness, metrics, stats and published schemas."""

import asyncio
import time
from typing import Annotated

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.auth import Admin, Reader, Scraper
from api.metrics import read_model, registry
from api.privilege import BoardReader
from api.store import recent_deadletters, stats
from schemas import readmodel
from schemas.intake import HospitalAdmission, HotlineCall, department_change
from schemas.messages import LANGUAGES, Text, language_from, messages, render
from schemas.readmodel import DEADLETTERS_KEPT

router = APIRouter(tags=["operations"])
SCHEMAS = {
    "hotline-call": HotlineCall.model_json_schema(),
    "hospital-admission": HospitalAdmission.model_json_schema(),
    "department-change": department_change.json_schema(),
}


@router.get("/healthz")
async def healthz() -> dict:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when Kafka and Redis answer, the read model is complete and the workers hold every partition; 503 naming what is not."""
    state = request.app.state
    try:
        async with asyncio.timeout(1), state.redis.pipeline(transaction=False) as pipe:
            raw_reports, complete = await pipe.hvals(readmodel.WORKERS).exists(readmodel.COMPLETE).execute()
        redis_ok, reports = True, [orjson.loads(report) for report in raw_reports]
    except Exception:
        redis_ok, reports, complete = False, [], 0
    missing = readmodel.uncovered(reports, state.settings.partitions, time.time()) if redis_ok else []
    checks = {
        "kafka": await state.publisher.ready(),
        "redis": redis_ok,
        "read_model": bool(complete),  # false while a worker rebuilds it from the log
        "workers": redis_ok and not missing,
    }
    down = [name for name, ok in checks.items() if not ok]
    body = {"ready": not down, "checks": checks}
    if missing:
        body["partitions_not_held"] = missing
    if down:
        body["detail"] = render("error.not_ready", language_from(request.headers.get("accept-language")), down=down)
    return JSONResponse(body, status_code=status.HTTP_503_SERVICE_UNAVAILABLE if down else status.HTTP_200_OK)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text exposition; needs a metrics (or admin) token unless RAPIDAID_METRICS_PUBLIC is set."""
    if not request.app.state.settings.metrics_public:
        await Scraper(request)
    try:
        read_model.snapshot = await stats(request.app.state.redis)
    except Exception:  # Redis down: still expose the API's own metrics
        read_model.snapshot = None
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/stats")
async def get_stats(request: Request, principal: BoardReader) -> dict:
    """Open cases per colour and tier of the caller's town or village, or of the county with the pipeline's counters."""
    return await stats(request.app.state.redis, principal.area_scope)


@router.get("/v1/me")
async def me(principal: Reader) -> dict:
    """Who the token belongs to (role and the person's name), so pages can show what the caller may do."""
    return {"role": principal.role, "name": principal.name}


@router.get("/v1/deadletter")
async def get_deadletters(request: Request, _: Admin, limit: Annotated[int, Query(ge=1, le=DEADLETTERS_KEPT)] = 100) -> dict:
    """The latest dead letters, newest first, with ID numbers masked (the full bytes stay on aid.deadletter)."""
    return {"items": await recent_deadletters(request.app.state.redis, limit)}


@router.get("/v1/schemas/{name}")
async def get_schema(name: str) -> JSONResponse:
    """The JSON Schema of an input event, for senders to validate against."""
    schema = SCHEMAS.get(name)
    if schema is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, Text("error.schema_unknown", {"name": name, "known": list(SCHEMAS)}))
    return JSONResponse(schema)


@router.get("/v1/messages/{language}")
async def get_messages(language: str) -> JSONResponse:
    """The message catalogue of one language (zh-CN, en), for the pages to render every text from."""
    if language not in LANGUAGES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, Text("error.catalogue_unknown", {"language": language, "known": list(LANGUAGES)}))
    return JSONResponse(messages(language), headers={"Cache-Control": "max-age=300"})
