import struct

from streams.devtools.broker_proxy import read_uvarint, without_trailing_tags

# The tagged fields Tansu appends to ApiVersions v3: SupportedFeatures (empty), FinalizedFeaturesEpoch (-1),
# FinalizedFeatures (empty), ZkMigrationReady (false), as captured from the embedded broker.
TANSU_TAGS = bytes.fromhex("040001010108ffffffffffffffff020101030100")


def api_versions_response(tags: bytes) -> bytes:
    keys = [(0, 0, 11), (18, 0, 4)]
    body = struct.pack(">ih", 7, 0) + bytes([len(keys) + 1])
    for key, low, high in keys:
        body += struct.pack(">hhh", key, low, high) + b"\x00"
    return body + struct.pack(">i", 0) + tags


def test_trailing_tagged_fields_are_dropped_and_the_rest_kept():
    rewritten = without_trailing_tags(api_versions_response(TANSU_TAGS))
    assert rewritten == api_versions_response(b"\x00")


def test_a_reply_without_tags_is_unchanged():
    plain = api_versions_response(b"\x00")
    assert without_trailing_tags(plain) == plain


def test_uvarint_decoding():
    assert read_uvarint(bytes([0x01]), 0) == (1, 1)
    assert read_uvarint(bytes([0xAC, 0x02]), 0) == (300, 2)
