import pytest

from api.store import masked_text
from schemas.ids import mask_phones_in


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("回电 13912345678 或 +8613912345678", "回电 139****5678 或 +86*******5678"),
        ("住院号 23912345678、金额 40000", "住院号 23912345678、金额 40000"),  # not a mobile number
        ("139123456789", "139123456789"),  # twelve digits: not a mobile number either
    ],
)
def test_mobile_numbers_in_free_text_are_masked(text, masked):
    assert mask_phones_in(text) == masked


def test_a_dead_letters_text_has_id_numbers_mobiles_and_any_caller_phone_masked():
    original = '{"caller_phone": "053642212345", "subject": {"id_number": "370784198001011234"}, "description": "邻居13912345678"}'
    shown = masked_text(original)
    assert "053642212345" not in shown and '"caller_phone": "053*****2345"' in shown
    assert "3707**********1234" in shown and "139****5678" in shown
