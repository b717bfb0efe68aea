"""Validation and HTTP errors in the reader's language, naming the field, never echoing an ID number; full-width input accepted."""

import pytest
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from api.main import http_detail
from schemas.intake import HotlineCall, department_change
from schemas.messages import Text
from schemas.messages.validation import localise_errors
from tests.factories import call_body, change_body

WRONG_DIGIT = "370784198001011235"


def _errors(body: dict) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        HotlineCall.model_validate(body)
    # Located as FastAPI locates a request body's fields.
    return [{**error, "loc": ("body", *error["loc"])} for error in caught.value.errors()]


def test_a_field_error_names_the_field_in_chinese_by_default_and_in_english_when_asked():
    errors = _errors(call_body(subject={"id_number": WRONG_DIGIT, "name": "张三"}))
    [chinese] = localise_errors(errors)
    [english] = localise_errors(errors, "en")
    assert chinese["loc"] == ["body", "subject", "id_number"] and chinese["type"] == "id_number_check_digit"
    assert chinese["msg"] == "身份证号（subject.id_number）：校验码不正确"
    assert english["msg"] == "ID number (subject.id_number): has a wrong check digit"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"caller_phone": "call me"}, "来电号码（caller_phone）：格式不正确"),
        ({"flags": {"children": "two"}}, "未成年子女人数（flags.children）：应为整数"),
        ({"flags": {"children": 21}}, "未成年子女人数（flags.children）：应不大于 20"),
        ({"description": "x" * 2001}, "情况描述（description）：最多 2000 个字符"),
        ({"occurred_at": "yesterday"}, "发生时间（occurred_at）：应为带时区的时间，例如 2026-11-22T08:30:00+08:00"),
        ({"favourite_colour": "red"}, "favourite_colour：不是可接受的字段（请检查拼写）"),
        ({"area": {"town": "3707841", "village": "370784101201"}}, "乡镇（街道）代码（area.town）：应为 9 位数字"),
        (
            {"category": "fire"},
            "来电类别（category）：应为以下之一：medical_emergency、accident_or_disaster、no_food_or_shelter、"
            "child_unattended、elderly_or_disabled_unattended、loss_of_income、other",
        ),
    ],
)
def test_each_kind_of_error_reads_in_chinese(override, message):
    [error] = localise_errors(_errors(call_body(**override)))
    assert error["msg"] == message


def test_a_missing_field_is_named_and_the_echoed_body_has_its_id_number_masked():
    body = call_body()
    del body["category"]
    [error] = localise_errors(_errors(body))
    assert error["msg"] == "来电类别（category）：必填，不能缺少"
    assert error["input"]["subject"]["id_number"] == "3707**********1234"
    assert "370784198001011234" not in str(localise_errors(_errors(body), "en"))


def test_an_id_number_is_never_echoed_even_when_malformed():
    for value in (WRONG_DIGIT, "37078419800101123", "37078419800101123A"):
        [error] = localise_errors(_errors(call_body(subject={"id_number": value, "name": "张三"})))
        assert value not in str(error) and error["input"].startswith("3707*")
    [error] = localise_errors(_errors(call_body(description=f"ID {WRONG_DIGIT} " + "x" * 2000)))
    assert WRONG_DIGIT not in str(error)


def test_an_error_of_a_type_without_words_in_the_catalogue_keeps_its_own_message():
    translated = {
        "type": "register",
        "loc": ("body", "area", "village"),
        "msg": "村（社区）代码不在本县区划名录中",
        "input": "370784101999",
    }
    assert localise_errors([translated], "en")[0]["msg"] == "村（社区）代码不在本县区划名录中"


def test_http_errors_from_the_catalogue_are_rendered_in_the_language():
    error = HTTPException(409, Text("refusal.deliver_before_close"))
    assert http_detail(error, "zh-CN") == "请先登记救助到位再办结，或以转介其他部门办结"
    assert http_detail(error, "en").startswith("record the aid as delivered before closing")
    assert http_detail(HTTPException(404), "zh-CN") == "没有这个地址"
    assert http_detail(HTTPException(404, "as it was"), "zh-CN") == "as it was"


def test_full_width_input_from_chinese_input_methods_becomes_ascii():
    call = HotlineCall.model_validate(
        call_body(
            caller_phone="１３８ ０００ ００００",
            subject={"id_number": "３７０７８４１９８００１０１１２３４", "name": "张三"},
            area={"town": "３７０７８４１０１", "village": "370784101201", "grid": "370784101201－03"},
            flags={"children": "２"},
        )
    )
    assert call.subject.id_number == "370784198001011234"
    assert call.caller_phone == "1380000000"
    assert (call.area.town, call.area.grid) == ("370784101", "370784101201-03")


def test_people_s_own_words_keep_their_chinese_punctuation():
    call = HotlineCall.model_validate(
        call_body(
            description="摔伤，两个孩子在家！",
            caller_phone="+86 138-0000-0000",
            subject={"id_number": "370784198001011234", "name": "王（小）明"},
            reported_by="开发测试（operator）",
        )
    )
    assert (call.description, call.subject.name, call.reported_by) == ("摔伤，两个孩子在家！", "王（小）明", "开发测试（operator）")
    assert call.caller_phone == "+8613800000000"


def test_a_parameter_may_be_called_language():
    unknown = Text("error.catalogue_unknown", {"language": "fr", "known": ["zh-CN", "en"]})
    assert unknown.render() == "没有 fr 的消息目录；现有：zh-CN、en"
    assert unknown.render("en") == "no catalogue fr; known: zh-CN, en"


def test_invalid_json_is_the_body_s_fault_not_a_character_s():
    error = {"type": "json_invalid", "loc": ("body", 1), "msg": "JSON decode error", "input": {}, "ctx": {"error": "Expecting value"}}
    assert localise_errors([error])[0]["msg"] == "请求体：不是有效的 JSON：Expecting value"


def test_an_unknown_or_missing_department_change_type_blames_the_type_field():
    for body, problem in (
        (change_body("ufo.landed", "civil-affairs"), "未知类型 ufo.landed；可用类型：household.member_died、"),
        ({}, "必填"),
    ):
        with pytest.raises(ValidationError) as caught:
            department_change.validate_python(body)
        [error] = localise_errors([{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors()])
        assert error["msg"].startswith(f"变动类型（type）：{problem}")
