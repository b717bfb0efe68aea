"""The benchmark's empty agent: iterate and count, on the worker's own Faust settings (the framework's floor)."""

import time
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry
from pydantic import Field

from schemas import topics
from streams.config import WorkerSettings
from streams.plumbing.app import create_app
from streams.plumbing.worker import run_faust


class FloorSettings(WorkerSettings):
    """How many events the empty agent waits for and where it reports."""

    bench_events: int = Field(default=0, description="events to count before reporting")
    bench_result: Path = Field(default=Path("floor.json"), description="file the timing is written to")


settings = FloorSettings()
app = create_app(settings.app_id, CollectorRegistry())
inputs = app.topic(*topics.INPUTS, partitions=settings.partitions, key_type=bytes, value_type=bytes)


@app.agent(inputs)
async def count(stream):
    """Count events; write the time from the first to the last expected one."""
    seen, first = 0, 0.0
    async for _ in stream:
        seen += 1
        if seen == 1:
            first = time.perf_counter()
        if seen == settings.bench_events:
            settings.bench_result.write_bytes(orjson.dumps({"events": seen, "seconds": time.perf_counter() - first}))


if __name__ == "__main__":
    run_faust(app)
