"""Hostile bytes never find a 500: every route with a body gets malformed Unicode, every JSON string escape, invalid
UTF-8, truncated documents, huge numbers and deep nesting, and answers below 500 with a body that is valid UTF-8 JSON;
the same bytes produced straight to the input topics become dead letters and the worker goes on."""

import time

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import admission_body, call_body, change_body, id_number
from tests.integration.helpers import processed

pytestmark = pytest.mark.integration
SUBJECT = {"id_number": id_number(967), "name": "字节"}  # every event that passes lands on this one household
PLACEHOLDER = b'"@@"'
CASE = "/v1/cases/C000000000000"
# Each route with a body, the role that may call it, and a valid body whose one text field is the placeholder.
ROUTES = {
    "/v1/hotline/calls": ("operator", call_body(subject={**SUBJECT, "name": "@@"})),
    "/v1/hospital/admissions": ("hospital", admission_body(subject=SUBJECT, hospital={"code": "AQ-PH-1", "name": "@@"})),
    "/v1/departments/civil-affairs/changes": (
        "department:civil-affairs",
        change_body("lowincome.enrolled", "civil-affairs", subject={**SUBJECT, "name": "@@"}),
    ),
    f"{CASE}/acknowledge": ("officer", {"note": "@@"}),
    f"{CASE}/assign": ("officer", {"assignee": "@@"}),
    f"{CASE}/deliver": ("officer", {"note": "@@"}),
    f"{CASE}/close": ("officer", {"outcome": {"note": "@@"}}),
    f"{CASE}/reopen": ("officer", {"reason": "@@"}),
    f"{CASE}/notes": ("officer", {"text": "@@"}),
}
# What may stand between the quotes of a JSON string: escapes of every kind and bytes that are no UTF-8.
NASTY_STRINGS = [
    rb"\u0000",
    rb"\ud800",
    rb"\udfff",
    rb"a\udc00b",
    rb"\udc00\ud800",
    rb"\ud800\u0041",
    rb"\ud83d\ude00",
    rb"\u2028\u2029",
    rb"\uFEFF",
    rb"\"\\\/\b\f\n\r\t",
    rb"\x",
    rb"\u12",
    b"\x00",
    b"\x1f",
    b"\xc0\xaf",
    b"\xe0\x80\xaf",
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    b"\xf4\x90\x80\x80",
    b"\xff\xfe",
    b"\x80",
    b"\xe2\x82",
]
# What may stand where a value goes.
NASTY_VALUES = [
    b"1e999999",
    b"-1e999999",
    b"1e-999999",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"-0",
    b"1" * 400,
    b"9" * 5000,
    b"0x10",
    b"[" * 15 + b"]" * 15,
    b'{"a":' * 15 + b"1" + b"}" * 15,
    b"null",
    b"true",
]


def body_with(path: str, nasty: bytes, as_key: bool = False) -> bytes:
    """The route's valid body with a nasty JSON string in its text field, or as an extra key; raw (a value) when not quoted."""
    body = ROUTES[path][1]
    if as_key:
        return orjson.dumps({"@key@": 1, **body}).replace(b'"@key@"', b'"' + nasty + b'"').replace(b"@@", b"ok")
    return orjson.dumps(body).replace(PLACEHOLDER, nasty)


def documents(path: str) -> list[bytes]:
    """The explicit nasty bodies for one route: in its text field, as a key, as a value, and whole documents."""
    valid = body_with(path, b'"ok"')
    found = [body_with(path, b'"' + nasty + b'"', as_key) for nasty in NASTY_STRINGS for as_key in (False, True)]
    found += [body_with(path, value) for value in NASTY_VALUES]
    found += [b"\xef\xbb\xbf" + valid, valid[: len(valid) // 2], valid[:-1], valid + b"x", b"", b"\x00", b"\xff" * 8]
    return [*found, b'"\\ud800"', b'["\\udfff"]', b'{"\\ud800": 1}']


def client_for(stack, role: str) -> httpx.Client:
    return httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.tokens[role]}"}, timeout=10)


def send(client: httpx.Client, path: str, body: bytes, content_type: str = "application/json") -> httpx.Response:
    """POST the bytes as they are; a 429 is waited out, so every body reaches the parser."""
    while True:
        response = client.post(path, content=body, headers={"Content-Type": content_type})
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("Retry-After", "1")))


def answered_properly(response: httpx.Response, path: str, body: bytes) -> None:
    sent = f"{path} {body[:80]!r}: {response.status_code}"
    assert response.status_code < 500, f"{sent} {response.text[:300]}"
    try:
        orjson.loads(response.content)
    except orjson.JSONDecodeError as error:
        raise AssertionError(f"{sent} answered with no valid JSON ({error}): {response.content[:200]!r}") from None


@pytest.mark.parametrize("path", list(ROUTES))
def test_known_nasty_bodies_get_a_json_answer_below_500(stack, path):
    with client_for(stack, ROUTES[path][0]) as client:
        for body in documents(path):
            answered_properly(send(client, path, body), path, body)
        for body in (b"\xff\xfe\x00", b"\xed\xa0\x80", b"\xc0\xaf"):  # not JSON at all: FastAPI echoes the raw bytes
            answered_properly(send(client, path, body, "text/plain"), path, body)


# Pieces a hostile string is made of: any \uXXXX escape, surrogates and other edges more often, raw bytes, plain text.
EDGES = (0x0000, 0x001F, 0x007F, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
ESCAPES = st.one_of(st.sampled_from(EDGES), st.integers(0, 0xFFFF)).map(lambda code: b"\\u%04x" % code)
PIECES = st.one_of(ESCAPES, ESCAPES, st.binary(min_size=1, max_size=4), st.text(max_size=4).map(str.encode))


def test_fuzzed_bytes_get_a_json_answer_below_500(stack):
    sessions = {role: client_for(stack, role) for role, _ in ROUTES.values()}
    sent = []

    @given(
        path=st.sampled_from(list(ROUTES)),
        pieces=st.lists(PIECES, max_size=6),
        as_key=st.booleans(),
        whole=st.binary(max_size=64),
        whole_document=st.booleans(),
    )
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def probe(path, pieces, as_key, whole, whole_document):
        body = whole if whole_document else body_with(path, b'"' + b"".join(pieces) + b'"', as_key)
        answered_properly(send(sessions[ROUTES[path][0]], path, body), path, body)
        sent.append(path)

    try:
        probe()
    finally:
        for session in sessions.values():
            session.close()
    assert len(set(sent)) == len(ROUTES)


async def test_nasty_records_produced_straight_to_the_topics_become_dead_letters_and_the_worker_goes_on(stack):
    hotline = "/v1/hotline/calls"
    records = documents(hotline)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
    await producer.start()
    try:
        for topic in ("hotline.calls", "hospital.admissions", "department.changes"):
            for value in records:
                await producer.send_and_wait(topic, value, key=b"\xed\xa0\x80" + value[:8])
    finally:
        await producer.stop()
    async with stack.client("admin") as admin:
        after = await admin.post(hotline, json=call_body(subject={"id_number": id_number(968), "name": "之后"}))
        assert (await processed(admin, after.json()["event_id"], timeout_s=60))["state"] == "processed"
        letters = await admin.get("/v1/deadletter", params={"limit": 1000})
        assert letters.status_code == 200
        assert any(letter["source_topic"] == "department.changes" for letter in orjson.loads(letters.content)["items"])
