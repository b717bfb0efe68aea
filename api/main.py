"""The FastAPI application: wiring of settings, Redis, the Kafka publisher and the routes."""

import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.auth import TokenRegistry
from api.config import ApiSettings
from api.limits import TokenBuckets
from api.live import LiveHub
from api.middleware import BodyLimits, RequestMetrics
from api.publisher import Publisher
from api.routes import cases, intake, live, ops, register
from schemas.departments import load_departments
from schemas.register import load_register

STATIC = resources.files("api") / "static"


def create_app(settings: ApiSettings, clock: Callable[[], float] = time.monotonic) -> FastAPI:
    """Build the API for the given settings; `clock` (monotonic seconds) drives the rate limits."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        app.state.tokens = TokenRegistry.from_file(settings.tokens_file)
        app.state.departments = load_departments(settings.departments)
        app.state.register = load_register(settings.county_register)
        app.state.redis = Redis.from_url(settings.redis)
        app.state.intake_buckets = TokenBuckets(settings.intake_rate_per_s, settings.intake_burst)
        app.state.clock = clock
        app.state.publisher = Publisher(settings.kafka, settings.produce_timeout_s)
        app.state.live = LiveHub(settings.redis, settings.live_connections_per_token)
        await app.state.publisher.start()
        await app.state.live.start()
        try:
            yield
        finally:
            await app.state.live.stop()
            await app.state.publisher.stop()
            await app.state.redis.aclose()

    app = FastAPI(
        title="RapidAid", version="0.1.0", lifespan=lifespan, description="Rapid-response emergency aid: intake, cases, live board."
    )
    for module in (intake, cases, live, ops, register):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", include_in_schema=False)
    async def board() -> FileResponse:
        return FileResponse(str(STATIC / "board.html"))

    @app.get("/intake", include_in_schema=False)
    async def intake_page() -> FileResponse:
        return FileResponse(str(STATIC / "intake.html"))

    app.add_middleware(BodyLimits, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth)
    app.add_middleware(RequestMetrics)

    @app.exception_handler(RedisError)
    async def read_model_unavailable(request: Request, error: RedisError) -> JSONResponse:
        return JSONResponse(
            {"detail": f"read model unavailable ({type(error).__name__}); try again"}, status_code=503, headers={"Retry-After": "5"}
        )

    return app
