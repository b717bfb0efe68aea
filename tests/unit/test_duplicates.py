"""Conflicting duplicates: what counts as the same event, and what a reused event id with other content becomes."""

from datetime import UTC, datetime

import orjson
import pytest

from schemas import readmodel, topics
from schemas.ids import mask_id_numbers_in
from schemas.intake import HotlineCall, stamp
from streams.rules.normalise import ConflictingDuplicate, content_digest, dead_letter, offset_event_id, refuse_conflicting
from tests.factories import call_body, id_number

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def digest_of(body: dict) -> str:
    return content_digest(HotlineCall.model_validate(body))


def test_the_same_event_spelled_differently_has_the_same_digest():
    body = call_body(event_id="dup-1")
    respelled = {key: body[key] for key in reversed(body)}
    respelled |= {"household_id": None, "description": f"  {body['description']} ", "flags": {"children": 2, "pregnant": False}}
    assert digest_of(respelled) == digest_of(body)


def test_who_reported_it_is_not_part_of_what_it_says():
    body = call_body(event_id="dup-1")
    assert digest_of(body | {"reported_by": "王接线员"}) == digest_of(body)


@pytest.mark.parametrize(
    "change",
    [
        {"subject": {"id_number": id_number(5), "name": "张三"}},
        {"description": "another account"},
        {"flags": {"children": 3}},
        {"occurred_at": "2026-11-22T07:00:00+08:00"},
        {"event_id": "dup-2"},
    ],
    ids=["subject", "description", "flags", "occurred_at", "event_id"],
)
def test_other_content_has_another_digest(change):
    body = call_body(event_id="dup-1")
    assert digest_of(body | change) != digest_of(body)


def test_the_servers_stamp_changes_the_digest_so_the_api_digests_what_the_client_sent():
    call = HotlineCall.model_validate(call_body(event_id="dup-1"))
    assert content_digest(stamp(call, "dup-1", NOW)) != content_digest(call)
    assert content_digest(call) == content_digest(call.model_copy())


def test_an_event_id_seen_first_or_again_with_the_same_content_passes():
    refuse_conflicting("dup-1", "d1", None)
    refuse_conflicting("dup-1", "d1", "d1")


def test_an_event_id_seen_with_other_content_is_a_conflicting_duplicate_named_in_chinese():
    with pytest.raises(ConflictingDuplicate) as refused:
        refuse_conflicting("dup-1", "d2", "d1")
    assert refused.value.reason == "事件编号 dup-1 已用于内容不同的事件（重复冲突）"
    assert (refused.value.field, refused.value.duplicate_of) == ("event_id", "dup-1")


def test_a_conflicting_duplicates_dead_letter_leaves_the_event_id_to_the_earlier_event():
    raw = orjson.dumps(call_body(event_id="dup-1"))
    letter = dead_letter(ConflictingDuplicate("dup-1"), topics.HOTLINE_CALLS, 2, 17, b"k", raw, NOW)
    assert letter.event_id == offset_event_id(topics.HOTLINE_CALLS, 2, 17)
    assert letter.duplicate_of == "dup-1" and letter.field == "event_id"
    assert "重复冲突" in letter.reason and letter.original == mask_id_numbers_in(raw.decode())  # kept, ID numbers masked


def test_a_claim_holds_its_digest_then_where_its_event_went():
    assert readmodel.parse_claim("d1") == ("d1", None)
    assert readmodel.parse_claim(readmodel.route_claim("d1", "HH-7", 1764547200123)) == ("d1", ("HH-7", 1764547200123))
