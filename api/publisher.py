"""Hands intake events to Kafka and answers only once the broker has them (acks=all)."""

import asyncio

from aiokafka import AIOKafkaProducer
from fastapi import HTTPException, status

from schemas.messages import Text

RETRY_AFTER_S = "5"


class Publisher:
    """A started Kafka producer with a bounded wait per event."""

    def __init__(self, bootstrap: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            request_timeout_ms=int(timeout_s * 1000),
            linger_ms=1,
        )

    async def start(self) -> None:
        """Connect to the broker."""
        await self.producer.start()

    async def stop(self) -> None:
        """Flush and disconnect."""
        await self.producer.stop()

    async def publish(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> None:
        """Write one event, or raise 503 with Retry-After when Kafka cannot take it in time."""
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.producer.send_and_wait(topic, value, key=key, headers=headers)
        except Exception as error:  # any failure means the event is not known to be written
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                Text("error.kafka_unavailable", {"error": type(error).__name__}),
                headers={"Retry-After": RETRY_AFTER_S},
            ) from None

    async def ready(self) -> bool:
        """True when the broker answers a metadata request."""
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), 2)
        except Exception:
            return False
        return True
