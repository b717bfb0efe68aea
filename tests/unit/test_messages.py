"""The message catalogue: both languages complete, parameters matching, Accept-Language honoured."""

import string

from schemas.messages import LANGUAGES, language_from, messages, say


def _parameters(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_key_is_in_every_language_with_the_same_parameters():
    chinese = messages("zh-CN")
    for language in LANGUAGES:
        catalogue = messages(language)
        assert catalogue.keys() == chinese.keys(), (
            f"{language}: missing {chinese.keys() - catalogue.keys()}, extra {catalogue.keys() - chinese.keys()}"
        )
        for key, template in catalogue.items():
            assert template.strip(), f"{language}: {key} is empty"
            assert _parameters(template) == _parameters(chinese[key]), f"{language}: {key} parameters differ"


def test_chinese_is_the_default_and_english_is_asked_for_by_header():
    assert say("stage.opened") == "待受理"
    assert say("stage.opened", "en") == "awaiting acknowledgement"
    assert language_from(None) == "zh-CN"
    assert language_from("en-US,en;q=0.9") == "en"
    assert language_from("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert language_from("fr-FR") == "zh-CN"
