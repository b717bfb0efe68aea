"""Validation errors in a reader's language: pydantic's error list, each message from the catalogue, no ID number echoed."""

import re
from collections.abc import Iterable, Sequence
from typing import Any

from schemas.ids import mask_id_number, mask_id_numbers_in
from schemas.intake import DEPARTMENT_CHANGE_TYPES
from schemas.messages import DEFAULT_LANGUAGE, messages, render, say

# Where FastAPI found a value; not part of the field's path.
_PLACES = ("body", "query", "path", "header", "cookie")
# Pydantic lists choices as English prose ('a', 'b' or 'c'); the catalogue joins them in the reader's language.
_QUOTED = re.compile(r"'([^']*)'")
_CHOICES = {"enum": "expected", "literal_error": "expected", "union_tag_invalid": "expected_tags"}
# A code pattern of digits only (^\d{9}$) says more to a clerk as a count of digits.
_DIGITS_ONLY = re.compile(r"\^\\d\{(\d+)\}\$")


def field_path(loc: Sequence[str | int]) -> str:
    """The dotted path of a field, without where it came from or the department change type the union chose."""
    parts = [str(part) for part in loc]
    if parts and parts[0] in _PLACES:
        parts = parts[1:]
    if len(parts) > 1 and parts[0] in DEPARTMENT_CHANGE_TYPES:
        parts = parts[1:]
    return ".".join(parts)


def field_name(loc: Sequence[str | int], language: str = DEFAULT_LANGUAGE) -> str:
    """How a message names a field: its label and path (身份证号（subject.id_number）), the path alone when it has no label."""
    path = field_path(loc)
    if not path:
        return say("validation.field.body", language)
    catalogue = messages(language)
    names = [part for part in path.split(".") if not part.isdigit()]
    label = (catalogue.get(f"validation.field.{'.'.join(names[-2:])}") or catalogue.get(f"validation.field.{names[-1]}")) if names else None
    return render("validation.field_named", language, label=label, path=path) if label and label != path else path


def _masked(value: Any, key: str | int | None = None) -> Any:
    """The value with ID numbers masked, whatever it nests; exceptions become their (masked) text."""
    if isinstance(value, dict):
        return {k: _masked(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    if isinstance(value, str):
        # Under an id_number key even a malformed number is masked whole: it may be a typo of a real one.
        return mask_id_number(value) if key == "id_number" else mask_id_numbers_in(value)
    if isinstance(value, BaseException):
        return mask_id_numbers_in(str(value))
    return value


def error_message(error: dict, language: str = DEFAULT_LANGUAGE) -> str:
    """The message of one pydantic error from the catalogue by its type, naming the field; its own message for unknown types."""
    key = f"validation.{error['type']}"
    if key not in messages(language):
        return mask_id_numbers_in(error["msg"])
    context = {name: _masked(value) for name, value in (error.get("ctx") or {}).items()}
    choices = _CHOICES.get(error["type"])
    if choices and isinstance(context.get(choices), str):
        context[choices] = _QUOTED.findall(context[choices])
    digits = _DIGITS_ONLY.fullmatch(str(context.get("pattern", ""))) if error["type"] == "string_pattern_mismatch" else None
    if digits:
        key, context = "validation.digits", {"count": int(digits.group(1))}
    try:
        problem = render(key, language, **context)
    except KeyError:  # a ctx without what the template names: pydantic's own words are better than none
        return mask_id_numbers_in(error["msg"])
    loc = tuple(error["loc"])
    if error["type"] == "json_invalid":  # located at the character where parsing failed, which is no field
        loc = loc[:1]
    elif error["type"] in ("union_tag_invalid", "union_tag_not_found"):  # the tag's own field is at fault
        loc = (*loc, *_QUOTED.findall(str(context.get("discriminator", "")))[:1])
    return render("validation.at", language, field=field_name(loc, language), problem=problem)


def localise_errors(errors: Iterable[dict], language: str = DEFAULT_LANGUAGE) -> list[dict]:
    """FastAPI's 422 detail list with messages in the language and the input and context masked."""
    localised = []
    for error in errors:
        item = {"type": error["type"], "loc": list(error["loc"]), "msg": error_message(error, language)}
        last = error["loc"][-1] if error["loc"] else None
        if "input" in error:
            item["input"] = _masked(error["input"], last)
        if error.get("ctx"):
            item["ctx"] = _masked(error["ctx"])
        localised.append(item)
    return localised


def not_utf8(raw: bytes, language: str = DEFAULT_LANGUAGE) -> str | None:
    """Where bytes stop being UTF-8 text, in the catalogue's words, or None when they are UTF-8 (as JSON must be, RFC 8259)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return say("validation.not_utf8", language, position=error.start + 1)
    return None
