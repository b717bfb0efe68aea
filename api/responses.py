"""JSON responses that always encode: whatever a hostile request put into an error's echo, the answer is valid UTF-8 JSON."""

from typing import Any

import orjson
from fastapi.responses import JSONResponse

# The integers orjson writes as integers (and every JSON reader reads back as such).
_INT_RANGE = range(-(2**63), 2**64)


def encodable(value: Any) -> Any:
    """The value with what JSON in UTF-8 cannot carry replaced: lone surrogates and undecodable bytes by U+FFFD,
    integers beyond 64 bits and objects JSON does not know by their text."""
    if isinstance(value, str):
        # Through UTF-16 a surrogate pair becomes its character again and a lone surrogate U+FFFD.
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {encodable(str(key)): encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encodable(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT_RANGE:
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value  # orjson writes NaN and infinities as null
    return encodable(str(value))


class EncodableJSONResponse(JSONResponse):
    """A JSON response by orjson; when the content holds what JSON cannot carry (a lone surrogate or a huge number echoed
    from a request, the raw bytes of a body that was no JSON), rendered from encodable(content) instead."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:
            return orjson.dumps(encodable(content))
