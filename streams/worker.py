"""Entry point of the stream worker process."""

import faust
from prometheus_client import start_http_server

from streams.agents import deadlines, intake, projection, triage  # noqa: F401  (registers the agents)
from streams.app import app, settings
from streams.metrics import registry


def run_worker() -> None:
    """Run the Faust worker until it is stopped by a signal."""
    start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
    faust.Worker(app, loglevel=settings.log_level).execute_from_commandline()
