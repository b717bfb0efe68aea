"""Every JSON answer encodes: what a hostile request echoes into an error is replaced, never a failed response."""

import orjson

from api.responses import EncodableJSONResponse, encodable


def test_ordinary_content_is_rendered_as_it_is():
    content = {"detail": [{"loc": ["body", "subject", "name"], "msg": "字段缺失", "input": {"n": 1.5, "ok": True, "none": None}}]}
    assert orjson.loads(EncodableJSONResponse(content).body) == content


def test_what_json_cannot_carry_is_replaced_not_fatal():
    echoed = {
        "lone": "a\ud800b",
        "reversed": "\udc00\ud800",
        "pair": "\ud83d\ude00",
        "raw": b"\xff\xfe\xc0\xaf",
        "huge": 10**400,
        "nan": float("nan"),
        "\udfff": ValueError("bad \udc80"),
        7: (1, {2}),
    }
    decoded = orjson.loads(EncodableJSONResponse({"detail": echoed}).body)["detail"]
    assert decoded["lone"] == "a\ufffdb" and decoded["reversed"] == "\ufffd\ufffd" and decoded["pair"] == "😀"
    assert decoded["raw"] == "\ufffd" * 4 and decoded["huge"] == str(10**400) and decoded["nan"] is None
    assert decoded["\ufffd"] == "bad \ufffd" and decoded["7"] == [1, [2]]


def test_encodable_leaves_what_json_carries_alone():
    value = {"text": "张三 \u2028 \x00", "n": -(2**63), "big": 2**64 - 1, "f": 0.1, "list": [True, None]}
    assert encodable(value) == value
