import pytest
from pydantic_core import PydanticCustomError

from schemas.ids import check_digit, id_number_error, mask_id_number, mask_id_numbers_in, mask_phone, normalise_id_number
from schemas.messages import messages


@pytest.mark.parametrize("valid", ["370784198001011234", "11010519491231002X", "11010519491231002x", "440306200002290017"])
def test_valid_id_numbers_pass(valid):
    assert id_number_error(valid) is None


def test_check_digit_follows_gb11643():
    # Worked example of the standard: 11010519491231002 -> X
    assert check_digit("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("370784198001011235", "id_number_check_digit"),
        ("37078419800101123", "id_number_length"),
        ("37078419800101123A", "id_number_characters"),
        ("370784198002301234", "id_number_birth_date"),
    ],
)
def test_invalid_id_numbers_say_why(value, error):
    assert id_number_error(value) == error
    assert f"validation.{error}" in messages("zh-CN")


def test_normalise_uppercases_x_and_rejects_bad_in_chinese():
    assert normalise_id_number("11010519491231002x") == "11010519491231002X"
    with pytest.raises(PydanticCustomError, match="校验码不正确") as caught:
        normalise_id_number("370784198001011235")
    assert caught.value.type == "id_number_check_digit"


def test_mask_keeps_first_and_last_four():
    assert mask_id_number("370784198001011234") == "3707**********1234"
    assert mask_id_number("1234") == "****"


def test_free_text_masks_id_numbers_however_they_are_typed():
    text = "孩子身份证370784198001011234，老人 370784 19400101 1235，旧证370784400101123，手机13800001111"
    masked = mask_id_numbers_in(text)
    assert "198001011234" not in masked and "19400101" not in masked and "400101123" not in masked
    assert "3707**********1234" in masked
    assert "13800001111" in masked  # a mobile number is not an ID number


def test_an_event_id_whose_groups_happen_to_be_digits_is_not_taken_for_an_id_number():
    event_id = "01a24dc0-8512-7345-9012-340371a354a1"
    assert mask_id_numbers_in(f"没有编号为 {event_id} 的事件") == f"没有编号为 {event_id} 的事件"
    assert mask_id_numbers_in(f"{event_id}:370784198001011234") == f"{event_id}:3707**********1234"


def test_a_phone_is_masked_to_its_first_three_and_last_four_digits():
    assert mask_phone("13800001111") == "138****1111"
