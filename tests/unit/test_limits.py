"""Request limits: per-token buckets, the JSON nesting scan and the UTF-8 check."""

from api.limits import TokenBuckets
from api.middleware import _not_utf8_at, _too_deep


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


def test_the_utf8_check_finds_the_first_byte_that_is_not_utf8():
    assert _not_utf8_at('{"name": "王芳"}'.encode()) is None
    assert _not_utf8_at(b'{"subject": \xff}') == 12
    assert _not_utf8_at('{"name": "王'.encode()[:-1]) == 10  # a character cut short
    assert _not_utf8_at(b'"\xed\xa0\x80"') == 1  # a surrogate encoded as if it were a character
