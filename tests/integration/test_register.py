"""The county register on the real stack: unknown places refused by the API (422 naming the field) and by intake
(a dead letter with the reason), and the register served for pickers."""

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.plumbing.log import read_log
from tests.factories import call_body, change_body, id_number
from tests.integration.helpers import eventually, processed

pytestmark = pytest.mark.integration
BEIJING = {"town": "110101001", "village": "110101001001"}  # 东城区东华门街道: a real town, not this county's


async def test_the_api_refuses_a_town_or_village_not_in_the_register_naming_the_field(stack):
    async with stack.client("operator") as operator, stack.client("department:civil-affairs") as civil:
        beijing = await operator.post("/v1/hotline/calls", json=call_body(area=BEIJING), headers={"Idempotency-Key": "register-1"})
        assert beijing.status_code == 422
        assert beijing.json()["detail"] == [
            {
                "type": "register",
                "loc": ["body", "area", "town"],
                "msg": "乡镇（街道）代码 110101001 不在本县区划名录中",
                "input": "110101001",
            }
        ]
        # The refusal came before the key was taken: the corrected call under the same key is accepted.
        corrected = await operator.post(
            "/v1/hotline/calls",
            json=call_body(subject={"id_number": id_number(782), "name": "本地"}),
            headers={"Idempotency-Key": "register-1"},
        )
        assert corrected.status_code == 202 and "replayed" not in corrected.json()

        elsewhere = call_body(area={"town": "370784101", "village": "370784107201"})
        misplaced = await operator.post("/v1/hotline/calls", json=elsewhere, headers={"Accept-Language": "en-US,en;q=0.9"})
        assert misplaced.status_code == 422
        (error,) = misplaced.json()["detail"]
        assert error["loc"] == ["body", "area", "village"] and error["input"] == "370784107201"
        assert "belongs to 兴安街道, not to 景芝镇" in error["msg"]

        change = change_body("lowincome.enrolled", "civil-affairs", area={**call_body()["area"], "grid": "370784101201-99"})
        unknown_grid = await civil.post("/v1/departments/civil-affairs/changes", json=change)
        assert unknown_grid.status_code == 422 and unknown_grid.json()["detail"][0]["loc"] == ["body", "area", "grid"]


async def test_the_register_is_served_publicly_with_an_etag(stack):
    async with stack.client("operator") as anonymous:
        anonymous.headers.pop("Authorization")
        response = await anonymous.get("/v1/register")
        assert response.status_code == 200 and "max-age" in response.headers["Cache-Control"]
        register = response.json()
        assert register["county"] == {"code": "370784", "name": "安丘市"}
        assert len(register["towns"]) == 14
        town = register["towns"][0]
        assert (town["code"], town["name"]) == ("370784101", "景芝镇")
        village = next(v for v in town["villages"] if v["code"] == "370784101201")
        assert village["grids"][0] == {"code": "370784101201-01", "name": "第1网格"}
        again = await anonymous.get("/v1/register", headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.headers["ETag"] == response.headers["ETag"]


async def test_an_unknown_town_produced_straight_to_kafka_is_dead_lettered_with_the_reason(stack):
    body = call_body(event_id="register-direct-1", subject={"id_number": id_number(781), "name": "外地"}, area=BEIJING)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait("hotline.calls", orjson.dumps(body), key=body["subject"]["id_number"].encode())
    finally:
        await producer.stop()
    reason = "area.town: 乡镇（街道）代码 110101001 不在本县区划名录中"
    async with stack.client("admin") as admin:
        result = await processed(admin, "register-direct-1")
    assert result["state"] == "rejected" and result["reason"] == reason

    async def dead_letters() -> list[dict]:  # the read model is written before aid.deadletter: poll
        letters = [orjson.loads(record.value) async for records in read_log(stack.kafka, ["aid.deadletter"]) for record in records]
        return [letter for letter in letters if letter["event_id"] == "register-direct-1"]

    (letter,) = await eventually(dead_letters)
    assert (letter["reason"], letter["field"]) == (reason, "area.town")
    assert (letter["source_topic"], letter["partition"], letter["offset"]) == ("hotline.calls", sent.partition, sent.offset)
