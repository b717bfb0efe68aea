"""A live update's frame stays one data line for every SSE client, whatever a caller typed."""

import orjson
from httpx._decoders import LineDecoder

from api.live import Entry


def test_a_text_with_unicode_line_separators_stays_on_one_data_line_and_means_the_same():
    update = {"type": "case", "case": {"case_id": "C1", "text": "家里没人\u2028请速来\u2029谢谢\x85完"}}
    entry = Entry("1-0", orjson.dumps(update))
    for frame in (entry.frame, entry.masked_frame):
        lines = LineDecoder().decode(frame.decode())  # httpx's own line splitting, as its SSE clients read
        (data,) = [line for line in lines if line.startswith("data: ")]
        assert orjson.loads(data.removeprefix("data: "))["case"]["text"] == update["case"]["text"]
