"""The message catalogue: every text a person reads, Simplified Chinese first, English second, one file per language."""

import tomllib
from functools import cache
from importlib import resources

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
