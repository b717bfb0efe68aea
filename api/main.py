"""The FastAPI application: wiring of settings, Redis, the Kafka publisher and the routes."""

import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.config import ApiSettings
from api.limits import TokenBuckets
from api.live import LiveHub
from api.middleware import BodyLimits, RequestMetrics
from api.publisher import Publisher
from api.responses import EncodableJSONResponse
from api.routes import access, cases, households, intake, live, ops, referrals, register, reports, visits, watch
from api.store import HouseholdReads
from api.tokens import TokenRegistry
from schemas.departments import load_departments
from schemas.ids import mask_id_numbers_in
from schemas.messages import Text, language_from, say
from schemas.messages.validation import localise_errors
from schemas.partners import load_partners
from schemas.register import load_register

STATIC = resources.files("api") / "static"
# The pages, each one HTML file of STATIC that reads its data from the API with the reader's token.
PAGES = {
    "/": "board.html",
    "/intake": "intake.html",
    "/partner": "partner.html",
    "/household": "household.html",
    "/visits": "visits.html",
    "/reports": "reports.html",
}
# Swagger UI and ReDoc as files of an installed package, so /docs works without internet.
DOCS_ASSETS = resources.files("fastapi_offline") / "static"


def create_app(settings: ApiSettings, clock: Callable[[], float] = time.monotonic) -> FastAPI:
    """Build the API for the given settings; `clock` (monotonic seconds) drives the rate limits."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        app.state.tokens = TokenRegistry(settings.people_file, settings.tokens_file)
        app.state.departments = load_departments(settings.departments)
        app.state.partners = load_partners(settings.partners)
        app.state.register = load_register(settings.county_register)
        app.state.redis = Redis.from_url(settings.redis)
        app.state.households = HouseholdReads(app.state.redis)
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
        title="RapidAid",
        version="0.1.0",
        lifespan=lifespan,
        description="Rapid-response emergency aid: intake, cases, live board.",
        docs_url=None,
        redoc_url=None,
        default_response_class=EncodableJSONResponse,
        # Metrics are Prometheus's (api.metrics); FastAPI's own OpenTelemetry would look up its providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    for module in (intake, cases, households, live, ops, register, access, watch, referrals, visits, reports):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.mount("/docs-assets", StaticFiles(directory=str(DOCS_ASSETS)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="RapidAid API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
            # No validator badge: Swagger UI would fetch it from the internet.
            swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url,
            title="RapidAid API",
            redoc_js_url="/docs-assets/redoc.standalone.js",
            redoc_favicon_url="/docs-assets/favicon.png",
            with_google_fonts=False,
        )

    for path, page in PAGES.items():
        app.add_api_route(path, page_route(page), include_in_schema=False, name=page)

    app.add_middleware(BodyLimits, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth)
    app.add_middleware(RequestMetrics)

    # Every error answer is an EncodableJSONResponse: a 422 echoes the request's input, which may hold what JSON cannot carry.
    @app.exception_handler(RedisError)
    async def read_model_unavailable(request: Request, error: RedisError) -> EncodableJSONResponse:
        detail = say("error.read_model_unavailable", language_of(request), error=type(error).__name__)
        return EncodableJSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> EncodableJSONResponse:
        detail = http_detail(error, language_of(request))
        return EncodableJSONResponse({"detail": detail}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> EncodableJSONResponse:
        return EncodableJSONResponse({"detail": localise_errors(error.errors(), language_of(request))}, status_code=422)

    return app


def page_route(page: str) -> Callable[[], Awaitable[FileResponse]]:
    """A route answering with one of the pages."""

    async def serve() -> FileResponse:
        return FileResponse(str(STATIC / page))

    return serve


def language_of(request: Request) -> str:
    """The catalogue language the request asks for (Accept-Language; Chinese by default)."""
    return language_from(request.headers.get("accept-language"))


# Starlette's own refusals (no such route, wrong method) carry the bare HTTP phrase.
_STARLETTE_PHRASES = {404: "error.not_found", 405: "error.method_not_allowed"}


def http_detail(error: StarletteHTTPException, language: str) -> object:
    """An HTTP error's detail in the language, with every ID number masked: details quote what the caller sent."""
    detail = _rendered_detail(error, language)
    return mask_id_numbers_in(detail) if isinstance(detail, str) else detail


def _rendered_detail(error: StarletteHTTPException, language: str) -> object:
    """A catalogue Text rendered, Starlette's bare phrases translated, any other detail as it is."""
    if isinstance(error.detail, Text):
        return error.detail.render(language)
    if error.status_code in _STARLETTE_PHRASES and error.detail == HTTPStatus(error.status_code).phrase:
        return say(_STARLETTE_PHRASES[error.status_code], language)
    return error.detail
