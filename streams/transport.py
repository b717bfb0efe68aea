"""Faust's aiokafka transport with a configurable fetch wait and true end offsets for table recovery.

Faust hard-codes fetch_max_wait_ms=1500. Tansu does not answer a long-polling fetch early when
data arrives on one of several partitions, so every agent hop would wait up to 1.5 s; a short wait
keeps end-to-end latency in tens of milliseconds at the cost of a few idle fetches per second.
"""

import faust
from faust.transport.drivers import aiokafka as driver

from streams.log import log_end_offsets


class ConsumerThread(driver.AIOKafkaConsumerThread):
    """Creates the worker's aiokafka consumer with the app's fetch wait."""

    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms  # read by aiokafka when the consumer starts
        return consumer

    async def _highwaters(self, partitions):
        """End offsets for table recovery, read from the log itself (see streams.log)."""
        return await log_end_offsets(driver.server_list(self.transport.url, self.transport.default_port), partitions)


class Consumer(driver.Consumer):
    """The aiokafka consumer driver using ConsumerThread."""

    def _new_consumer_thread(self):
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    """The aiokafka transport using Consumer."""

    Consumer = Consumer


class App(faust.App):
    """A Faust app on Transport, with fetch_max_wait_ms as a setting."""

    fetch_max_wait_ms = 1500

    def _new_transport(self):
        return Transport(self.conf.broker_consumer, self)
