import base64
from datetime import UTC, datetime

import orjson
import pytest

from schemas import topics
from schemas.departments import load_departments
from schemas.intake import HotlineCall, stamp
from schemas.register import load_register
from streams.rules.normalise import RejectedInput, dead_letter, offset_event_id, parse, parse_input, signal_from_event
from tests.factories import admission_body, call_body, change_body, id_number

SECRET = b"test"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
DEPARTMENTS = load_departments("bundled")
REGISTER = load_register()


def test_valid_call_becomes_a_masked_signal_with_age():
    call = parse_input(topics.HOTLINE_CALLS, orjson.dumps(call_body(event_id="ev-1")), DEPARTMENTS, REGISTER)
    signal = signal_from_event(call, "H1", "fallback", NOW, SECRET)
    assert (signal.event_id, signal.source, signal.kind, signal.household_id) == ("ev-1", "hotline", "medical_emergency", "H1")
    assert signal.subject.id_masked == "3707**********1234"
    assert "370784198001011234" not in signal.model_dump_json()
    assert signal.subject_age == 46
    assert signal.details == {"description": "fell from a ladder, two children at home"}
    assert signal.caller_key and signal.reported_at == NOW and signal.occurred_at == NOW


def test_admission_and_change_carry_their_own_details():
    admission = parse_input(topics.HOSPITAL_ADMISSIONS, orjson.dumps(admission_body()), DEPARTMENTS, REGISTER)
    signal = signal_from_event(admission, "H1", "a", NOW, SECRET)
    assert (signal.source, signal.kind, signal.caller_key) == ("hospital", "icu", None)
    assert signal.details["estimated_cost_yuan"] == 40000 and signal.details["hospital"]["code"] == "AQ-PH-1"
    change = parse_input(
        topics.DEPARTMENT_CHANGES,
        orjson.dumps(change_body("household.member_died", "civil-affairs", breadwinner=True)),
        DEPARTMENTS,
        REGISTER,
    )
    signal = signal_from_event(change, "H1", "b", NOW, SECRET)
    assert (signal.source, signal.kind) == ("department", "household.member_died")
    assert signal.details == {"department": "civil-affairs", "breadwinner": True}


def test_the_same_person_gets_the_same_key_across_sources():
    call = signal_from_event(parse(HotlineCall.model_validate, orjson.dumps(call_body())), "H", "a", NOW, SECRET)
    admission = signal_from_event(
        parse_input(topics.HOSPITAL_ADMISSIONS, orjson.dumps(admission_body()), DEPARTMENTS, REGISTER), "H", "b", NOW, SECRET
    )
    assert call.person_key == admission.person_key


@pytest.mark.parametrize(
    ("topic", "raw", "field", "reason"),
    [
        (topics.HOTLINE_CALLS, b"{not json", None, "不是有效的 JSON"),
        (topics.HOTLINE_CALLS, b"\xff\xfe garbage", None, "不是有效的 JSON：从第 1 个字节起不是 UTF-8 文本"),
        (topics.HOTLINE_CALLS, b"[1, 2]", "body", "请求体：应为 JSON 对象"),
        (
            topics.HOTLINE_CALLS,
            orjson.dumps(call_body(subject={"id_number": "370784198001011235", "name": "x"})),
            "subject.id_number",
            "身份证号（subject.id_number）：校验码不正确",
        ),
        (
            topics.HOTLINE_CALLS,
            orjson.dumps(call_body(category="alien_invasion")),
            "category",
            "来电类别（category）：应为以下之一：medical_emergency、accident_or_disaster、",
        ),
        (
            topics.HOTLINE_CALLS,
            orjson.dumps(call_body(area={"town": "370784999", "village": "370784999201"})),
            "area.town",
            "370784999 不在本县区划名录中",
        ),
        (
            topics.HOSPITAL_ADMISSIONS,
            orjson.dumps(admission_body(area={"town": "370784101", "village": "370784107201"})),
            "area.village",
            "属于兴安街道，不属于景芝镇",
        ),
        (
            topics.DEPARTMENT_CHANGES,
            orjson.dumps(
                change_body(
                    "lowincome.enrolled", "civil-affairs", area={"town": "370784101", "village": "370784101201", "grid": "370784101201-99"}
                )
            ),
            "area.grid",
            "网格代码 370784101201-99 不在景芝村的网格名录中",
        ),
        (topics.HOTLINE_CALLS, orjson.dumps({**call_body(), "surprise": 1}), "surprise", "surprise：不是可接受的字段"),
        (
            topics.HOSPITAL_ADMISSIONS,
            orjson.dumps(admission_body(self_pay_share=1.5)),
            "self_pay_share",
            "自付比例（self_pay_share）：应不大于 1",
        ),
        (
            topics.HOSPITAL_ADMISSIONS,
            orjson.dumps(admission_body(admission_type="spa")),
            "admission_type",
            "入院类型（admission_type）：应为以下之一：emergency、icu、inpatient",
        ),
        (
            topics.DEPARTMENT_CHANGES,
            orjson.dumps(change_body("ufo.landed", "civil-affairs")),
            "type",
            "变动类型（type）：未知类型 ufo.landed",
        ),
        (
            topics.DEPARTMENT_CHANGES,
            orjson.dumps(change_body("household.member_died", "civil-affairs")),
            "breadwinner",
            "家庭经济支柱（breadwinner）：必填",
        ),
        (
            topics.DEPARTMENT_CHANGES,
            orjson.dumps(change_body("employment.lost", "civil-affairs")),
            "type",
            "部门 民政 不能报送 employment.lost",
        ),
        (
            topics.DEPARTMENT_CHANGES,
            orjson.dumps(change_body("employment.lost", "ministry-of-magic")),
            "type",
            "未知部门 ministry-of-magic",
        ),
    ],
)
def test_bad_inputs_are_rejected_naming_the_field(topic, raw, field, reason):
    with pytest.raises(RejectedInput) as caught:
        parse_input(topic, raw, DEPARTMENTS, REGISTER)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_dead_letter_keeps_origin_bytes_and_an_event_id():
    rejected = RejectedInput("不是有效的 JSON：x")
    letter = dead_letter(rejected, "hotline.calls", 2, 41, b"key", b"\xff\xfe", NOW)
    assert (letter.source_topic, letter.partition, letter.offset, letter.key) == ("hotline.calls", 2, 41, "key")
    assert letter.original is None and letter.original_b64 == "//4="
    assert letter.event_id == offset_event_id("hotline.calls", 2, 41)


def test_dead_letter_masks_every_id_number_in_its_original_key_and_reason():
    full = id_number(321)
    raw = orjson.dumps(call_body(subject={"id_number": full, "name": "张三"}, description="邻居 3707 8419 8001 0132 1X 也来过"))
    letter = dead_letter(RejectedInput(f"subject.id_number: {full} is odd"), "hotline.calls", 0, 7, full.encode(), raw, NOW)
    masked = full[:4] + "*" * 10 + full[-4:]
    written = letter.model_dump_json()
    assert full not in written and full not in base64.b64decode(letter.original_b64).decode()
    assert letter.key == masked and masked in letter.reason and masked in letter.original
    assert "8419 8001" not in letter.original and "张三" in letter.original  # digits typed with spaces are masked too
    assert base64.b64decode(letter.original_b64).decode() == letter.original


def test_dead_letter_masks_id_numbers_inside_bytes_that_are_not_text():
    full = id_number(322)
    letter = dead_letter(RejectedInput("malformed JSON: x"), "hotline.calls", 0, 8, None, b"\xff" + full.encode() + b"\xfe", NOW)
    assert letter.original is None
    assert base64.b64decode(letter.original_b64) == b"\xff" + (full[:4] + "*" * 10 + full[-4:]).encode() + b"\xfe"


def test_dead_letter_prefers_the_inputs_own_event_id():
    with pytest.raises(RejectedInput) as caught:
        parse(HotlineCall.model_validate, orjson.dumps(call_body(event_id="mine", category="nope")))
    assert dead_letter(caught.value, "hotline.calls", 0, 0, None, b"{}", NOW).event_id == "mine"


def _call(**times) -> HotlineCall:
    return parse_input(topics.HOTLINE_CALLS, orjson.dumps(call_body(**times)), DEPARTMENTS, REGISTER)


def test_a_month_old_record_keeps_its_age_and_is_received_now():
    signal = signal_from_event(
        _call(occurred_at="2026-10-20T08:00:00+08:00", reported_at="2026-10-21T08:00:00+08:00"), "H", "a", NOW, SECRET
    )
    assert signal.occurred_at.date().isoformat() == "2026-10-20" and signal.reported_at.day == 21
    assert signal.received_at == NOW


def test_a_sender_clock_ahead_of_ours_is_not_believed():
    tomorrow = "2026-11-23T08:00:00+00:00"
    signal = signal_from_event(_call(occurred_at=tomorrow, reported_at=tomorrow), "H", "a", NOW, SECRET)
    assert signal.occurred_at == signal.reported_at == signal.received_at == NOW
    slightly_ahead = "2026-11-22T08:02:00+00:00"  # within the skew a sender's clock may have
    assert signal_from_event(_call(reported_at=slightly_ahead), "H", "a", NOW, SECRET).reported_at.minute == 2
    occurred_after_report = signal_from_event(
        _call(occurred_at=slightly_ahead, reported_at="2026-11-22T07:00:00+00:00"), "H", "a", NOW, SECRET
    )
    assert occurred_after_report.occurred_at == occurred_after_report.reported_at


def test_ages_are_taken_at_the_events_date_and_impossible_birth_dates_refused():
    child = call_body(subject={"id_number": id_number(5, born="20190305"), "name": "王小明"}, occurred_at="2026-03-04T08:00:00+08:00")
    signal = signal_from_event(parse_input(topics.HOTLINE_CALLS, orjson.dumps(child), DEPARTMENTS, REGISTER), "H", "a", NOW, SECRET)
    assert signal.subject_age == 6  # the day before the seventh birthday
    unborn = call_body(subject={"id_number": id_number(5, born="20261201"), "name": "未生"})
    with pytest.raises(RejectedInput) as refused:
        signal_from_event(parse_input(topics.HOTLINE_CALLS, orjson.dumps(unborn), DEPARTMENTS, REGISTER), "H", "a", NOW, SECRET)
    assert refused.value.field == "subject.id_number"
    assert refused.value.reason.startswith("身份证号（subject.id_number）：出生日期晚于事件发生日期")
    for year in ("0001", "1000"):
        with pytest.raises(RejectedInput, match="出生日期不可能"):
            parse_input(
                topics.HOTLINE_CALLS,
                orjson.dumps(call_body(subject={"id_number": id_number(5, born=f"{year}0101"), "name": "甲"})),
                DEPARTMENTS,
                REGISTER,
            )


def test_the_operator_who_took_a_call_is_its_signals_reporter():
    call = parse_input(topics.HOTLINE_CALLS, orjson.dumps(call_body(reported_by="话务员小刘")), DEPARTMENTS, REGISTER)
    signal = signal_from_event(call, "H1", "e", NOW, SECRET)
    assert signal.reporter == "话务员小刘" and "reported_by" not in signal.details
    assert stamp(call, "e", NOW, "王芳").reported_by == "王芳"  # the API's word on who sent it beats the sender's
