"""The message catalogue: every text a person reads, Simplified Chinese first, English second, one file per language."""

import tomllib
from functools import cache
from importlib import resources
from typing import NamedTuple

from pydantic_core import PydanticCustomError

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= _flatten(value, f"{name}.")
        else:
            flat[name] = value
    return flat


@cache
def messages(language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """The catalogue of one language as dotted keys (stage.opened → 待受理)."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    text = resources.files("schemas.messages").joinpath(f"{language}.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(text))


def say(key: str, language: str = DEFAULT_LANGUAGE, **params: object) -> str:
    """The text of a key in a language with its {parameters} filled in; the key itself when unknown."""
    template = messages(language).get(key)
    return key if template is None else template.format_map(params)


def language_from(accept_language: str | None) -> str:
    """The catalogue language an Accept-Language header asks for first (zh-CN when none matches)."""
    for part in (accept_language or "").split(","):
        tag = part.split(";", 1)[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return DEFAULT_LANGUAGE


# Parameters whose values are codes with a label in the catalogue, and the section holding the labels.
@cache
def labelled() -> dict[str, str]:
    """Which catalogue section names the codes each {parameter} carries (the catalogue's [labelled] section)."""
    return {key.removeprefix("labelled."): section for key, section in messages(DEFAULT_LANGUAGE).items() if key.startswith("labelled.")}


def _shown(value: object, language: str, section: str | None) -> str:
    """A parameter as a reader sees it: codes by their label, lists joined, large whole numbers grouped."""
    if isinstance(value, list | tuple):
        return messages(language)["factor.separator"].join(_shown(item, language, section) for item in value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return f"{value:.1f}"
    text = str(value)
    return messages(language).get(f"{section}.{label_code(section, text)}", text) if section else text


def label_code(section: str, code: str) -> str:
    """The code a section labels a value by: a clock of its own object (referral:<id>:accept) by its kind (referral.accept)."""
    if section != "deadline" or code.count(":") < 2:
        return code
    kind, _, rest = code.partition(":")
    return f"{kind}.{rest.rpartition(':')[2]}"


def render(key: str, language: str = DEFAULT_LANGUAGE, /, **params: object) -> str:
    """Like say(), but code parameters (stage, tier, command, …) are shown by their label and lists are joined."""
    template = messages(language).get(key)
    if template is None:
        return key
    return template.format_map({name: _shown(value, language, labelled().get(name)) for name, value in params.items()})


class Text(NamedTuple):
    """Words still to be put in a reader's language: a catalogue key and its parameters."""

    key: str
    params: dict = {}

    def render(self, language: str = DEFAULT_LANGUAGE) -> str:
        """The text in the given language."""
        return render(self.key, language, **self.params)


def catalogue_error(error_type: str) -> PydanticCustomError:
    """A validation error of a catalogue type (validation.<type>): Chinese by default, put in the reader's language by the API."""
    return PydanticCustomError(error_type, say(f"validation.{error_type}"))
