"""Entry point of the stream worker process."""

import asyncio
import gc
import shutil

import faust
import mode.loop
from prometheus_client import start_http_server

from streams.config import settings
from streams.plumbing.metrics import registry
from streams.plumbing.rebuild import prepare_topics

# The tables keep a model per household; with the default thresholds the cyclic collector
# re-walks them every few thousand allocations, which at 100,000 households costs more than the rules.
GC_THRESHOLDS = (100_000, 50, 1000)


def run_faust(app: faust.App) -> None:
    """Run a Faust app as a worker on the configured event loop until it is stopped by a signal."""
    mode.loop.use(settings.event_loop)
    # A table on disk may hold entries of a batch whose changelog records were never written (a killed worker):
    # recovering every table from its changelog, the truth, keeps a restart from applying that batch twice.
    shutil.rmtree(app.conf.datadir, ignore_errors=True)
    app.conf.datadir.mkdir(parents=True)
    worker = faust.Worker(app, loglevel=settings.log_level)
    # At WARNING and above Faust's terminal spinner sets the root logger to DEBUG, so every library
    # debug call would build a log record; the worker is not an interactive terminal program.
    worker.spinner = None
    worker.execute_from_commandline()


def run_worker() -> None:
    """Run the RapidAid worker with its Prometheus endpoint."""
    from streams.agents import deadlines, intake, matcher, triage  # noqa: F401  (registers the agents)
    from streams.plumbing.app import app

    # A broker that restarted empty has no topics: create them, or table recovery would wait for them forever.
    asyncio.run(prepare_topics(settings))
    start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
    gc.set_threshold(*GC_THRESHOLDS)
    run_faust(app)
