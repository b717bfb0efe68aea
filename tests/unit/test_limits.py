"""Request limits: per-token buckets, the JSON nesting scan and the UTF-8 check."""

from api.limits import TokenBuckets
from api.middleware import _too_deep
from schemas.messages.validation import not_utf8


def test_a_token_may_burst_then_is_held_to_its_rate():
    buckets = TokenBuckets(rate=10, burst=3)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", 0.0) == 0.1  # one request comes back every 0.1 s
    assert buckets.take("b", 0.0) == 0.0  # another token has its own bucket
    assert buckets.take("a", 0.2) == 0.0


def test_nesting_counts_only_brackets_outside_strings():
    assert not _too_deep(b'{"a": [[1]]}', 3)
    assert _too_deep(b'{"a": [[[1]]]}', 3)
    assert not _too_deep(b'{"a": "[[[[[[[[", "b": "\\"[[[["}', 1)


def test_the_utf8_check_names_the_first_byte_that_is_not_utf8():
    assert not_utf8('{"name": "王芳"}'.encode()) is None
    assert not_utf8(b'{"subject": \xff}') == "从第 13 个字节起不是 UTF-8 文本"
    assert not_utf8('{"name": "王'.encode()[:-1]) == "从第 11 个字节起不是 UTF-8 文本"  # a character cut short
    assert not_utf8(b'"\xed\xa0\x80"', "en") == "not UTF-8 text from byte 2 on"  # a surrogate encoded as a character
