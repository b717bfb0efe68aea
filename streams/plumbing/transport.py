"""Faust's aiokafka transport with a configurable fetch wait, true end offsets for table recovery, and
explicit offsets for topics whose acks are off (see streams.plumbing.ledger).

Faust hard-codes fetch_max_wait_ms=1500. Tansu does not answer a long-polling fetch early when
data arrives on one of several partitions, so every agent hop would wait up to 1.5 s; a short wait
keeps end-to-end latency in tens of milliseconds at the cost of a few idle fetches per second.
"""

from collections.abc import Iterable, Mapping

import faust
import mode
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from streams.plumbing.log import log_end_offsets


class ConsumerThread(driver.AIOKafkaConsumerThread):
    """Creates the worker's aiokafka consumer with the app's fetch wait."""

    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms  # read by aiokafka when the consumer starts
        return consumer

    async def _highwaters(self, partitions):
        """End offsets for table recovery and the ledger: the consumer's own on Apache Kafka, else read from the log itself
        (see streams.plumbing.log)."""
        if self.app.broker_reports_true_end:
            return await super()._highwaters(partitions)
        return await log_end_offsets(driver.server_list(self.transport.url, self.transport.default_port), partitions)

    async def resume_offsets(self, partitions: Iterable[TP]) -> dict[TP, int]:
        """Where processing of each partition resumes: its committed offset, else its first offset."""
        return await self.call_thread(self._resume_offsets, list(partitions))

    async def _resume_offsets(self, partitions: list[TP]) -> dict[TP, int]:
        consumer = self._ensure_consumer()
        kafka_tps = {tp: driver.ensure_aiokafka_TP(tp) for tp in partitions}
        first = await consumer.beginning_offsets(list(kafka_tps.values()))
        resume = {}
        for tp, kafka_tp in kafka_tps.items():
            committed = await consumer.committed(kafka_tp)
            resume[tp] = first[kafka_tp] if committed is None else committed
        return resume


class Consumer(driver.Consumer):
    """The aiokafka consumer driver using ConsumerThread."""

    def _new_consumer_thread(self):
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def resume_offsets(self, partitions: Iterable[TP]) -> dict[TP, int]:
        """Where processing of each partition resumes: its committed offset, else its first offset."""
        return await self._thread.resume_offsets(partitions)

    async def seek_in_consumer_thread(self, partition: TP, offset: int) -> None:
        """Seek as Faust's seek does, but in the consumer's own thread: Faust calls aiokafka's seek from the app's thread,
        racing the fetcher that drains the same partition there (a KeyError in aiokafka's fetched_records that crashed the
        worker when the ledger read a stalled partition again)."""
        await self._thread.call_thread(self._thread.seek, partition, offset)
        self._read_offset[partition] = offset if offset else None

    async def commit_offsets(self, offsets: Mapping[TP, int]) -> bool:
        """Commit these offsets of assigned partitions (for topics whose acks are off), reported to Faust's sensors like its own."""
        return await self._commit_offsets(offsets)


class Transport(driver.Transport):
    """The aiokafka transport using Consumer."""

    Consumer = Consumer


class App(faust.App):
    """A Faust app on Transport, with fetch_max_wait_ms and broker_reports_true_end as settings and services started with
    the app itself."""

    fetch_max_wait_ms = 1500
    broker_reports_true_end = False  # Tansu does not: end offsets are read from the log (streams.plumbing.log)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.early_services: list[mode.ServiceT] = []

    def _new_transport(self):
        return Transport(self.conf.broker_consumer, self)

    def early_service(self, service: mode.ServiceT) -> mode.ServiceT:
        """Start a service with the app, not (as app.service does) after table recovery: a consumer group of its own
        then joins while the tables recover, instead of after."""
        self.early_services.append(service)
        return service

    def on_init_dependencies(self):
        return [*super().on_init_dependencies(), *self.early_services]
