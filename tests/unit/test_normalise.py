from datetime import UTC, datetime

import orjson
import pytest

from schemas.intake import HotlineCall
from streams.normalise import RejectedInput, dead_letter, offset_event_id, parse, signal_from_call
from tests.factories import call_body

SECRET = b"test"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_valid_call_becomes_a_masked_household_signal():
    call = parse(HotlineCall, orjson.dumps(call_body(event_id="ev-1")))
    signal = signal_from_call(call, "fallback", NOW, SECRET)
    assert signal.event_id == "ev-1"
    assert signal.subject.id_masked == "3707**********1234"
    assert "370784198001011234" not in signal.model_dump_json()
    assert signal.household_id.startswith("P") and len(signal.household_id) == 17
    assert signal.reported_at == NOW and signal.occurred_at == NOW


def test_household_id_from_the_call_wins_and_fallback_is_stable():
    call = parse(HotlineCall, orjson.dumps(call_body(household_id="HH-42")))
    assert signal_from_call(call, "x", NOW, SECRET).household_id == "HH-42"
    plain = parse(HotlineCall, orjson.dumps(call_body()))
    assert signal_from_call(plain, "a", NOW, SECRET).household_id == signal_from_call(plain, "b", NOW, SECRET).household_id
    assert signal_from_call(plain, "a", NOW, SECRET).event_id == "a"


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        (b"{not json", None, "malformed JSON"),
        (b"[1, 2]", "body", "valid dictionary"),
        (orjson.dumps(call_body(subject={"id_number": "370784198001011235", "name": "x"})), "subject.id_number", "check digit"),
        (orjson.dumps(call_body(category="alien_invasion")), "category", "medical_emergency"),
        (orjson.dumps(call_body(area={"town": "370784101", "village": "370784999201"})), "area", "start with its town"),
        (orjson.dumps({**call_body(), "surprise": 1}), "surprise", "Extra inputs"),
    ],
)
def test_bad_inputs_are_rejected_naming_the_field(raw, field, reason):
    with pytest.raises(RejectedInput) as caught:
        parse(HotlineCall, raw)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_dead_letter_keeps_origin_bytes_and_an_event_id():
    rejected = RejectedInput("malformed JSON: x")
    letter = dead_letter(rejected, "hotline.calls", 2, 41, b"key", b"\xff\xfe", NOW)
    assert (letter.source_topic, letter.partition, letter.offset, letter.key) == ("hotline.calls", 2, 41, "key")
    assert letter.original is None and letter.original_b64 == "//4="
    assert letter.event_id == offset_event_id("hotline.calls", 2, 41)


def test_dead_letter_prefers_the_inputs_own_event_id():
    with pytest.raises(RejectedInput) as caught:
        parse(HotlineCall, orjson.dumps(call_body(event_id="mine", category="nope")))
    assert dead_letter(caught.value, "hotline.calls", 0, 0, None, b"{}", NOW).event_id == "mine"
