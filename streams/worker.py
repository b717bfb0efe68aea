"""Entry point of the stream worker process."""

import faust

from streams.agents import deadlines, intake, projection, triage  # noqa: F401  (registers the agents)
from streams.app import app, settings


def run_worker() -> None:
    """Run the Faust worker until it is stopped by a signal."""
    faust.Worker(app, loglevel=settings.log_level).execute_from_commandline()
