"""Settings of the stream worker."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from schemas.settings import ConnectionSettings


class WorkerSettings(ConnectionSettings):
    """Everything the Faust worker reads from RAPIDAID_* environment variables."""

    app_id: str = Field(default="rapidaid", description="Faust application id: consumer group and changelog topic prefix")
    policy: str = Field(default="default", description="bundled policy name (default, fast) or path to a policy TOML file")
    session_timeout_s: float = Field(
        default=10.0, gt=0, description="consumer group session timeout; a new group's first join waits about half of it"
    )
    fetch_max_wait_ms: int = Field(
        default=20, ge=1, description="longest a consumer fetch waits for data; Tansu does not cut multi-partition long polls short"
    )
    event_loop: Literal["aio", "uvloop"] = Field(default="uvloop", description="asyncio loop of the worker; uvloop is about 1.5x faster")
    tick_interval_s: float = Field(default=0.2, gt=0, description="how often the deadline queue is checked")
    metrics_host: str = Field(default="127.0.0.1", description="address of the worker's Prometheus endpoint")
    metrics_port: int = Field(default=6067, description="port of the worker's Prometheus endpoint (/metrics)")
    worker_host: str = Field(default="127.0.0.1", description="address the worker's own web server listens on")
    worker_port: int = Field(default=6066, description="port of the worker's own web server")
    batch_size: int = Field(default=2000, ge=1, description="most events an agent handles, and writes out, as one batch")
    batch_wait_s: float = Field(default=0.01, gt=0, description="longest an agent waits to fill a batch before handling it")
    live_stream_length: int = Field(default=10000, description="approximate cap of the live update stream")
    table_store: Literal["memory", "rocksdb"] = Field(
        default="memory", description="where the worker keeps its tables: memory, or rocksdb on disk (a province's millions of households)"
    )
    tables_dir: Path = Field(default=Path(".rapidaid/tables"), description="folder of the workers' table files, one per app and port")
    log_level: str = "info"


settings = WorkerSettings()
