"""Property-based hostile input: whatever bytes arrive, intake and triage either accept or reject naming why, never crash."""

import contextlib
from datetime import UTC, datetime

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import topics
from schemas.departments import BUNDLED, load_departments
from schemas.intake import EmploymentLost, HospitalAdmission, HotlineCall, InputEvent
from schemas.register import load_register
from streams.rules.normalise import MAX_EVENT_BYTES, RejectedInput, content_digest, dead_letter, parse, parse_input, signal_from_event
from tests.factories import admission_body, call_body, change_body

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)

DEPARTMENTS = load_departments(BUNDLED)
REGISTER = load_register()
VALID = {
    topics.HOTLINE_CALLS: call_body(),
    topics.HOSPITAL_ADMISSIONS: admission_body(),
    topics.DEPARTMENT_CHANGES: change_body("employment.lost", "human-resources"),
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
# Fields an event may leave out (Hypothesis also tries the strings it finds in the code, these among them).
OPTIONAL_FIELDS = {name for model in (HotlineCall, HospitalAdmission, EmploymentLost) for name in model.model_fields}
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
tried = {"count": 0}


def outcome(topic: str, raw: bytes) -> InputEvent | RejectedInput:
    """parse_input's result, or the rejection it raised; any other exception fails the test."""
    tried["count"] += 1
    try:
        return parse_input(topic, raw, DEPARTMENTS, REGISTER)
    except RejectedInput as rejected:
        assert rejected.reason
        return rejected


@EXAMPLES
@given(st.sampled_from(list(VALID)), st.binary(max_size=300))
def test_arbitrary_bytes_are_rejected_or_accepted_never_crash(topic, raw):
    outcome(topic, raw)


@EXAMPLES
@given(st.sampled_from(list(VALID)), JSON)
def test_arbitrary_json_is_rejected_or_accepted_never_crash(topic, document):
    outcome(topic, orjson.dumps(document))


@EXAMPLES
@given(st.sampled_from(list(VALID)), st.data())
def test_a_valid_event_with_one_field_replaced_is_rejected_naming_that_field(topic, data):
    body = dict(VALID[topic])
    field = data.draw(st.sampled_from(sorted(body)))
    body[field] = data.draw(JSON.filter(lambda value: value != VALID[topic][field]))
    result = outcome(topic, orjson.dumps(body))
    if isinstance(result, RejectedInput) and result.field is not None:
        # The rejection names the replaced field (or, for a department change whose type changed, the type).
        assert result.field.split(".")[0] in (field, "type", "department")


@EXAMPLES
@given(st.sampled_from(list(VALID)), st.text(min_size=1, max_size=20).filter(lambda name: name not in OPTIONAL_FIELDS))
def test_unknown_fields_are_rejected_by_name(topic, name):
    body = dict(VALID[topic])
    if name in body:
        return
    body[name] = "x"
    result = outcome(topic, orjson.dumps(body))
    assert isinstance(result, RejectedInput)
    assert name in result.reason


def test_oversized_and_deeply_nested_events_are_rejected():
    padded = call_body(description="x" * MAX_EVENT_BYTES)
    assert "事件超过 65536 字节" in outcome(topics.HOTLINE_CALLS, orjson.dumps(padded)).reason
    for depth in (20, 2000):  # past orjson's recursion limit, and well within it
        nested = orjson.dumps(call_body(description="HOLE")).replace(b'"HOLE"', b"[" * depth + b"1" + b"]" * depth)
        assert isinstance(outcome(topics.HOTLINE_CALLS, nested), RejectedInput)
    assert outcome(topics.HOTLINE_CALLS, None).reason == "记录没有内容"


@EXAMPLES
@given(JSON)
def test_signals_and_commands_from_foreign_producers_are_rejected_not_crashing(document):
    from schemas.case import CaseCommand, Signal

    for model in (Signal, CaseCommand):
        tried["count"] += 1
        with contextlib.suppress(RejectedInput):
            parse(model.model_validate, orjson.dumps(document))


# Malformed Unicode in a JSON string: escapes (lone surrogates, NUL, line separators) and bytes that are no UTF-8.
HOSTILE_STRINGS = [rb"\ud800", rb"\udfff", rb"a\udc00b", rb"\udc00\ud800", rb"\ud83d\ude00", rb"\u0000", rb"\u2028", b"\x00"]
HOSTILE_STRINGS += [b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff\xfe", b"\xe2\x82"]
ESCAPES = st.integers(0, 0xFFFF).map(lambda code: b"\\u%04x" % code)


def reaches_its_end(topic: str, raw: bytes, key: bytes | None = b"\xed\xa0\x80") -> None:
    """The worker's path for one record: a signal, or a dead letter; either must encode as JSON and decode again."""
    result = outcome(topic, raw)
    if isinstance(result, RejectedInput):
        letter = dead_letter(result, topic, 0, 7, key, raw, NOW)
        document = orjson.loads(letter.model_dump_json())
        assert document["reason"] and document["original_b64"]
        assert document["original"] is None or orjson.dumps(document["original"])
    else:
        content_digest(result)
        orjson.loads(signal_from_event(result, "H1", "e1", NOW, b"secret").model_dump_json())


def test_malformed_unicode_in_a_record_becomes_a_dead_letter_that_encodes():
    for topic, body in VALID.items():
        valid = orjson.dumps(body | {"subject": {**body["subject"], "name": "HOLE"}})
        for hostile in HOSTILE_STRINGS:
            reaches_its_end(topic, valid.replace(b"HOLE", hostile))
            reaches_its_end(topic, valid.replace(b'"HOLE"', b'"ok","' + hostile + b'":1'))
        for whole in (b'"\\ud800"', b"\xef\xbb\xbf" + valid, valid[:-3], b"\xed\xa0\x80", b"NaN", b"1e999999"):
            reaches_its_end(topic, whole, None)


@EXAMPLES
@given(st.sampled_from(list(VALID)), st.lists(ESCAPES | st.binary(max_size=3), max_size=5), st.booleans())
def test_any_escape_or_bytes_in_a_records_string_reaches_a_signal_or_a_dead_letter(topic, pieces, as_key):
    body = VALID[topic]
    valid = orjson.dumps(body | {"subject": {**body["subject"], "name": "HOLE"}})
    hostile = b"".join(pieces)
    reaches_its_end(topic, valid.replace(b'"HOLE"', b'"ok","' + hostile + b'":1' if as_key else b'"' + hostile + b'"'))


def test_report_how_many_hostile_inputs_were_tried():
    print(f"hostile inputs tried on the intake rules: {tried['count']}")
    assert tried["count"] > 1000
