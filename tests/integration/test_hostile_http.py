"""Hostile HTTP against the real API: fuzzing from the OpenAPI spec, size and nesting limits, every route × every role,
per-token rate limits and idempotency after a client-side timeout."""

import asyncio
import uuid

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from api.config import ApiSettings
from api.main import create_app
from streams.plumbing.log import read_log
from tests.factories import call_body, id_number
from tests.integration.helpers import processed

pytestmark = pytest.mark.integration

# Who may call what: role kinds allowed on each route ("public" = no token needed). Every route of the
# API must be listed, so a new route cannot ship without deciding who may use it.
ACCESS = {
    ("POST", "/v1/hotline/calls"): {"operator"},
    ("POST", "/v1/hospital/admissions"): {"hospital"},
    ("POST", "/v1/departments/civil-affairs/changes"): {"department"},
    ("GET", "/v1/events/E1"): {"operator", "officer", "hospital", "department", "partner"},
    ("GET", "/v1/cases"): {"operator", "officer"},
    ("GET", "/v1/cases/C000000000000"): {"operator", "officer"},
    ("GET", "/v1/cases/C000000000000/timeline"): {"operator", "officer"},
    ("GET", "/v1/cases/C000000000000/programmes"): {"officer"},
    ("POST", "/v1/cases/C000000000000/acknowledge"): {"officer"},
    ("POST", "/v1/cases/C000000000000/assign"): {"officer"},
    ("POST", "/v1/cases/C000000000000/deliver"): {"officer"},
    ("POST", "/v1/cases/C000000000000/close"): {"officer"},
    ("POST", "/v1/cases/C000000000000/reopen"): {"officer"},
    ("POST", "/v1/cases/C000000000000/notes"): {"officer"},
    ("POST", "/v1/cases/C000000000000/identify"): {"officer"},
    ("POST", "/v1/cases/C000000000000/matches/C000000000001/confirm"): {"officer"},
    ("POST", "/v1/cases/C000000000000/matches/C000000000001/dismiss"): {"officer"},
    ("GET", "/v1/live"): {"officer"},
    ("GET", "/v1/search"): {"officer"},
    ("GET", "/v1/households/H1"): {"officer"},
    ("POST", "/v1/households/H1/watch"): {"officer"},
    ("POST", "/v1/households/H1/unwatch"): {"officer"},
    ("POST", "/v1/cases/C000000000000/visits"): {"officer"},
    ("POST", "/v1/cases/C000000000000/satisfaction"): {"operator", "officer"},
    ("POST", "/v1/households/H1/visits"): {"officer"},
    ("GET", "/v1/follow-ups"): {"operator", "officer"},
    ("GET", "/v1/watchlist"): {"officer"},
    ("GET", "/healthz"): {"public"},
    ("GET", "/readyz"): {"public"},
    ("GET", "/metrics"): {"metrics"},
    ("GET", "/v1/stats"): {"officer"},
    ("GET", "/v1/me"): {"operator", "officer", "hospital", "department", "partner"},
    ("GET", "/v1/messages/zh-CN"): {"public"},
    ("GET", "/v1/deadletter"): set(),
    ("GET", "/v1/access-log"): set(),
    ("GET", "/v1/schemas/hotline-call"): {"public"},
    ("GET", "/v1/register"): {"public"},
    # Referrals (转办转介): officers refer and revoke, the named partner answers, each reads its own part of the list.
    ("GET", "/v1/partners"): {"officer"},
    ("POST", "/v1/cases/C000000000000/refer"): {"officer"},
    ("GET", "/v1/referrals"): {"officer", "partner"},
    ("POST", "/v1/referrals/R1-C000000000000/accept"): {"partner"},
    ("POST", "/v1/referrals/R1-C000000000000/decline"): {"partner"},
    ("POST", "/v1/referrals/R1-C000000000000/report"): {"partner"},
    ("POST", "/v1/referrals/R1-C000000000000/revoke"): {"officer"},
    ("GET", "/v1/reports"): {"officer"},
}
ROLES = ("operator", "officer", "admin", "hospital", "department:civil-affairs", "metrics", "partner:county-charity", None)


def test_fuzzed_requests_never_get_a_server_error(stack):
    schema = schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")
    headers = {"Authorization": f"Bearer {stack.tokens['admin']}"}
    sent: list[tuple[str, int]] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/v1/live":  # an endless SSE stream: covered by the role table below
            continue

        fuzz(operation, headers, sent)
    print(f"schemathesis requests against the OpenAPI spec: {len(sent)} over {len({label for label, _ in sent})} operations")
    assert len(sent) > 200


def fuzz(operation, headers: dict[str, str], sent: list[tuple[str, int]]) -> None:
    """Send hypothesis-generated requests for one operation; none may get a 5xx."""

    @given(case=operation.as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def send(case):
        response = case.call(headers=headers, timeout=10)
        sent.append((operation.label, response.status_code))
        assert response.status_code < 500, f"{operation.label}: {response.status_code} {response.text[:300]}"

    send()


async def test_oversized_deep_and_unknown_bodies_are_refused_by_name(stack):
    async with stack.client("operator") as operator:
        huge = await operator.post("/v1/hotline/calls", json=call_body(description="x" * 70_000))
        assert huge.status_code == 413
        assert huge.json()["detail"] == "请求体超过 65536 字节"
        deep = orjson.dumps(call_body(description="HOLE")).replace(b'"HOLE"', b"[" * 40 + b"1" + b"]" * 40)
        nested = await operator.post("/v1/hotline/calls", content=deep, headers={"Content-Type": "application/json"})
        assert nested.status_code == 422
        assert nested.json()["detail"][0]["msg"] == "请求体：JSON 嵌套超过 16 层"
        unknown = await operator.post("/v1/hotline/calls", json=call_body(favourite_colour="blue"))
        assert unknown.status_code == 422
        assert unknown.json()["detail"][0]["loc"][-1] == "favourite_colour"
        assert unknown.json()["detail"][0]["msg"] == "favourite_colour：不是可接受的字段（请检查拼写）"
        wrong = await operator.post("/v1/hotline/calls", content=b"{not json", headers={"Content-Type": "application/json"})
        assert wrong.status_code == 422 and wrong.json()["detail"][0]["msg"].startswith("请求体：不是有效的 JSON")
        latin1_body = '{"subject": "é"}'.encode("latin-1")  # a client that did not send UTF-8
        latin1 = await operator.post("/v1/hotline/calls", content=latin1_body, headers={"Content-Type": "application/json"})
        assert latin1.status_code == 422 and latin1.json()["detail"][0]["loc"] == ["body"]
        assert latin1.json()["detail"][0]["msg"] == "请求体：不是有效的 JSON：从第 14 个字节起不是 UTF-8 文本"


@pytest.mark.parametrize("role", ROLES)
async def test_every_route_admits_exactly_its_roles(stack, role):
    openapi = httpx.get(f"{stack.api_url}/openapi.json").json()
    listed = {(method.upper(), path) for path, operations in openapi["paths"].items() for method in operations}
    templated = {(method, _template(path)) for method, path in ACCESS}
    assert listed == templated, "a route is missing from the access table (or the table names one that is gone)"
    headers = {"Authorization": f"Bearer {stack.tokens[role]}"} if role else {}
    kind = role.split(":")[0] if role else None
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=10) as client:
        for (method, path), allowed in ACCESS.items():
            async with client.stream(method, path, json={} if method == "POST" else None) as response:
                status = response.status_code
            admitted = "public" in allowed or kind == "admin" or kind in allowed
            if admitted:
                assert status not in (401, 403), f"{role} refused on {method} {path}"
            else:
                assert status == (403 if role else 401), f"{role} got {status} on {method} {path}"


def _template(path: str) -> str:
    for concrete, name in (
        ("R1-C000000000000", "{referral_id}"),
        ("C000000000000", "{case_id}"),
        ("C000000000001", "{other_id}"),
        ("civil-affairs", "{dept}"),
        ("/E1", "/{event_id}"),
        ("/H1", "/{household_id}"),
        ("hotline-call", "{name}"),
        ("zh-CN", "{language}"),
    ):
        path = path.replace(concrete, name)
    return path


async def test_a_token_over_its_intake_rate_gets_429_with_retry_after(stack):
    # The API in this process against the stack's Kafka and Redis, its clock frozen: the bucket never refills, so
    # exactly the burst is served and the next request is refused however fast or slow this machine is.
    settings = ApiSettings(
        kafka=stack.kafka, redis=stack.redis, tokens_file=stack.data_dir / "dev-tokens.json", intake_rate_per_s=10, intake_burst=5
    )
    app = create_app(settings, clock=lambda: 1000.0)
    headers = {"Authorization": f"Bearer {stack.tokens['department:education']}"}
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://api") as api:
        # Empty bodies: refused by validation after the rate check, so the burst creates no events.
        codes = [(await api.post("/v1/departments/education/changes", json={}, headers=headers)).status_code for _ in range(6)]
        limited = await api.post("/v1/departments/education/changes", json={}, headers=headers)
        other = await api.post(
            "/v1/departments/education/changes", json={}, headers={"Authorization": f"Bearer {stack.tokens['operator']}"}
        )
    assert codes == [422] * 5 + [429]
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"  # one request back every 0.1 s
    assert other.status_code == 403  # another token has its own bucket: refused for its role, not its rate


async def test_a_retry_after_a_client_timeout_gets_the_same_event_and_creates_one(stack):
    key = str(uuid.uuid4())
    body = call_body(subject={"id_number": id_number(977), "name": "重试"})
    async with stack.client("operator") as operator:
        with pytest.raises(httpx.TimeoutException):
            await operator.post("/v1/hotline/calls", json=body, headers={"Idempotency-Key": key}, timeout=0.0005)
        await asyncio.sleep(0.5)
        first = await operator.post("/v1/hotline/calls", json=body, headers={"Idempotency-Key": key})
        again = await operator.post("/v1/hotline/calls", json=body, headers={"Idempotency-Key": key})
        assert first.status_code == again.status_code == 202
        event_id = first.json()["event_id"]
        assert again.json() == {"event_id": event_id, "replayed": True}
        await processed(operator, event_id)
    written = [
        record
        async for records in read_log(stack.kafka, ["hotline.calls"])
        for record in records
        if body["subject"]["id_number"].encode() in (record.value or b"")
    ]
    assert [orjson.loads(r.value)["event_id"] for r in written] == [event_id]
