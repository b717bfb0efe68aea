"""Property-based hostile input: whatever bytes arrive, intake and triage either accept or reject naming why, never crash."""

import contextlib

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import topics
from schemas.departments import BUNDLED, load_departments
from schemas.intake import InputEvent
from schemas.register import load_register
from streams.rules.normalise import MAX_EVENT_BYTES, RejectedInput, parse, parse_input
from tests.factories import admission_body, call_body, change_body

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
@given(st.sampled_from(list(VALID)), st.text(min_size=1, max_size=20).filter(lambda name: name not in ("event_id",)))
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


def test_report_how_many_hostile_inputs_were_tried():
    print(f"hostile inputs tried on the intake rules: {tried['count']}")
    assert tried["count"] > 1000
