"""Outages on a stack of the test's own, on each broker: Redis frozen for 30 s mid-stream, the broker frozen, Redis and
the broker lost and back empty.

SIGSTOP makes the server unresponsive while keeping its data (Tansu and Redis in memory, a Kafka node on disk), which
is what clients see of an outage.
"""

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from urllib.parse import urlparse

import httpx
import pytest
from redis import Redis

from schemas import readmodel, topics
from schemas.departments import BUNDLED, load_departments
from streams.devtools.bench.api import api_server
from streams.devtools.bench.stack import HOST, BenchStack, bench_stack
from streams.devtools.bench.timers import calls, produce_calls
from streams.devtools.dev import start_broker, start_kafka, start_redis
from streams.devtools.generator import Generator
from tests.integration.helpers import committed_offsets, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.both_brokers]
PARTITIONS = 4


@contextmanager
def frozen(stack, name: str):
    """Stop a child process of the stack (SIGSTOP) until the block ends."""
    process = next(child for child_name, child in stack.supervisor.children if child_name == name)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def post_call(client: httpx.Client, generator: Generator) -> httpx.Response:
    return client.post("/v1/hotline/calls", json=calls(generator, 1)[0][1])


def processed(client: httpx.Client, event_id: str) -> bool:
    response = client.get(f"/v1/events/{event_id}")
    return response.status_code == 200 and response.json()["state"] == "processed"


def test_redis_outage_holds_offsets_and_the_read_model_catches_up(broker):
    generator = Generator(load_departments(BUNDLED), seed=41)
    with bench_stack(PARTITIONS, broker) as stack, api_server(stack) as (url, tokens):
        stack.start_worker("worker", "outage-redis")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['operator']}"}, timeout=10) as client:
            warm = post_call(client, generator).json()["event_id"]
            wait_until(lambda: processed(client, warm), 90, "the worker to process a first call")
            time.sleep(4)  # let Faust commit what it has acked (it commits every few seconds)
            before = asyncio.run(committed_offsets(stack.kafka, "outage-redis", [topics.SIGNALS]))
            bodies = calls(generator, 40)
            for n, (_, body) in enumerate(bodies):
                body["event_id"] = f"outage-{n}"
            with frozen(stack, "redis"):
                stopped = time.monotonic()
                ready = client.get("/readyz", timeout=5)
                assert ready.status_code == 503 and ready.json()["checks"]["redis"] is False
                assert time.monotonic() - stopped < 3
                assert client.get("/v1/cases", timeout=10).status_code == 503
                asyncio.run(produce_calls(stack.kafka, bodies))
                time.sleep(max(0.0, 30 - (time.monotonic() - stopped)))
                during = asyncio.run(committed_offsets(stack.kafka, "outage-redis", [topics.SIGNALS]))
                assert during == before, "offsets were committed for events whose projection could not be written"
            redis = Redis.from_url(stack.redis)
            done = wait_until(
                lambda: all(redis.hget(readmodel.event_key(f"outage-{n}"), "state") == b"processed" for n in range(len(bodies))),
                60,
                "every call sent during the outage to reach the read model",
            )
            assert done
            wait_until(lambda: client.get("/readyz").status_code == 200, 10, "readiness within seconds of Redis returning")
            print(f"Redis frozen 30 s: committed offsets held at {before}; all {len(bodies)} calls projected after it returned")


def test_broker_outage_answers_503_never_202_and_the_worker_resumes(broker):
    generator = Generator(load_departments(BUNDLED), seed=43)
    with bench_stack(PARTITIONS, broker) as stack, api_server(stack, produce_timeout_s="2") as (url, tokens):
        stack.start_worker("worker", "outage-broker")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['operator']}"}, timeout=15) as client:
            warm = post_call(client, generator).json()["event_id"]
            wait_until(lambda: processed(client, warm), 90, "the worker to process a first call")
            with frozen(stack, stack.broker_names[0]):
                refused = [post_call(client, generator) for _ in range(3)]
            assert [r.status_code for r in refused] == [503, 503, 503]
            assert all(r.headers["Retry-After"] for r in refused)
            accepted = wait_until(lambda: (r := post_call(client, generator)).status_code == 202 and r, 60, "the API to accept calls again")
            event_id = accepted.json()["event_id"]
            wait_until(lambda: processed(client, event_id), 90, "the worker to resume after the broker came back")
            print("broker frozen: 3 calls answered 503 with Retry-After; after it returned a new call was accepted and processed")


def _view(client: httpx.Client, event_ids: list[str]) -> dict:
    """What a reader sees: open cases with their timelines, the stats, and every event's result."""
    cases = client.get("/v1/cases", params={"limit": 500}).json()["items"]
    return {
        "cases": {c["case_id"]: [e["version"] for e in client.get(f"/v1/cases/{c['case_id']}/timeline").json()["timeline"]] for c in cases},
        "stats": client.get("/v1/stats").json(),
        "events": {event_id: client.get(f"/v1/events/{event_id}").json()["state"] for event_id in event_ids},
    }


def test_a_redis_that_comes_back_empty_is_rebuilt_before_anything_moves_on(broker):
    generator = Generator(load_departments(BUNDLED), seed=43)
    with bench_stack(PARTITIONS, broker) as stack, api_server(stack) as (url, tokens):
        stack.start_worker("worker", "outage-redis-lost")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['officer']}"}, timeout=10) as client:
            operator = {"Authorization": f"Bearer {tokens['operator']}"}
            bodies = [body for _, body in calls(generator, 35)]
            retried = {**operator, "Idempotency-Key": "sent-before-the-loss"}
            event_ids = [client.post("/v1/hotline/calls", json=bodies[0], headers=retried).json()["event_id"]]
            event_ids += [client.post("/v1/hotline/calls", json=body, headers=operator).json()["event_id"] for body in bodies[1:30]]
            wait_until(lambda: all(processed(client, e) for e in event_ids), 90, "the calls to be processed")
            before = _view(client, event_ids)
            assert len(before["cases"]) >= 10
            # Redis dies and comes back empty on the same port (no persistence in the embedded stack).
            redis_process = next(child for name, child in stack.supervisor.children if name == "redis")
            redis_process.kill()
            redis_process.wait()
            redis_url = urlparse(stack.redis)
            start_redis(stack.supervisor, redis_url.hostname, redis_url.port, stack.supervisor.log_dir, False, stack.env)
            wait_until(lambda: client.get("/readyz").status_code == 200, 60, "the read model to be rebuilt and ready")
            after = _view(client, event_ids)
            # A client retrying a call it sent before the loss gets its event back: the key is restored from the log.
            again = client.post("/v1/hotline/calls", json=bodies[0], headers=retried).json()
            during_the_loss = [client.post("/v1/hotline/calls", json=body, headers=operator).json()["event_id"] for body in bodies[30:]]
            wait_until(lambda: all(processed(client, e) for e in during_the_loss), 60, "new calls after the loss to be processed")
    assert after["cases"] == before["cases"], "open cases or their timelines differ after the rebuild"
    assert after["stats"]["open_cases"] == before["stats"]["open_cases"]
    assert after["stats"]["counters"] == before["stats"]["counters"]
    assert after["events"] == before["events"]
    assert again == {"event_id": event_ids[0], "replayed": True}
    print(f"Redis lost: {len(before['cases'])} open cases, {len(event_ids)} events, all back after the automatic rebuild")


def restart_broker_empty(stack: BenchStack, broker: str) -> None:
    """Kill the broker (SIGKILL) and start it again on the same port with nothing: Tansu keeps its data in memory only;
    the Kafka node's storage is deleted and formatted anew, for a new cluster id."""
    process = next(child for name, child in stack.supervisor.children if name == stack.broker_names[0])
    process.kill()
    process.wait()
    port = int(stack.kafka.rsplit(":", 1)[1])
    if broker == "kafka":
        root = stack.supervisor.log_dir / "kafka"  # where bench_stack keeps the node (cluster.json and its storage)
        shutil.rmtree(root)
        start_kafka(stack.supervisor, root, HOST, port, 1, stack.env)
    else:
        start_broker(stack.supervisor, HOST, port, port, stack.env)


def _logs(stack: BenchStack, *names: str) -> str:
    return "\n".join((stack.supervisor.log_dir / f"{name}.log").read_text(errors="replace") for name in names)


def _board_starts_over(client: httpx.Client, stack: BenchStack, bodies: list[dict]) -> list[str]:
    """With a fresh worker ready on the emptied broker: the board shows nothing from before, and new calls are processed."""
    wait_until(lambda: client.get("/readyz").status_code == 200, 90, "a fresh worker ready on the new broker")
    assert client.get("/v1/cases").json()["total"] == 0
    after = [client.post("/v1/hotline/calls", json=body) for body in bodies]
    accepted = [response.json()["event_id"] for response in after if response.status_code == 202]
    wait_until(lambda: all(processed(client, e) for e in accepted), 90, "every call accepted after the reset to be processed")
    return accepted


def test_a_worker_facing_a_broker_that_restarted_empty_starts_over_from_what_it_has(broker):
    generator = Generator(load_departments(BUNDLED), seed=47)
    with bench_stack(PARTITIONS, broker) as stack, api_server(stack) as (url, tokens):
        worker = stack.start_worker("worker", "outage-reset")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['operator']}"}, timeout=10) as client:
            bodies = [body for _, body in calls(generator, 40)]
            before = [client.post("/v1/hotline/calls", json=body).json()["event_id"] for body in bodies[:20]]
            wait_until(lambda: all(processed(client, e) for e in before), 90, "the calls before the reset to be processed")
            restart_broker_empty(stack, broker)
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(120)
            # The worker exits for its supervisor to start a fresh one: 75 when its own check notices the lost topics first,
            # a crash when aiokafka's fetcher trips over them first (its fetch task dies on a topic gone from the metadata).
            assert worker.returncode not in (None, 0), f"the worker did not exit; its log ends:\n{_logs(stack, 'worker')[-8000:]}"
            stack.start_worker("worker-after-reset", "outage-reset")
            accepted = _board_starts_over(client, stack, bodies[20:])
            # Whichever noticed, one of them says so in its log.
            assert "the broker lost its data" in _logs(stack, "worker", "worker-after-reset")
    assert len(accepted) == 20
    print(f"broker reset: worker exited {worker.returncode}; 20 events before (lost with the broker), 20 accepted after, all processed")


@pytest.mark.parametrize("creator", ["worker", "topics"])
def test_a_broker_that_restarted_empty_while_no_worker_ran_is_noticed_by_whoever_creates_the_topics(broker, creator):
    generator = Generator(load_departments(BUNDLED), seed=53)
    app_id = "outage-reset-idle"
    with bench_stack(PARTITIONS, broker) as stack, api_server(stack) as (url, tokens):
        worker = stack.start_worker("worker", app_id)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens['operator']}"}, timeout=10) as client:
            bodies = [body for _, body in calls(generator, 30)]
            before = [client.post("/v1/hotline/calls", json=body).json()["event_id"] for body in bodies[:15]]
            wait_until(lambda: all(processed(client, e) for e in before), 90, "the calls before the reset to be processed")
            assert client.get("/v1/cases").json()["total"] > 0
            stack.stop(worker)
            restart_broker_empty(stack, broker)
            if creator == "topics":  # as compose does: `rapidaid topics` runs before any worker starts
                assert stack.start_module("topics", "streams", "topics", app_id=app_id).wait(120) == 0
            stack.start_worker("worker-after-reset", app_id)
            accepted = _board_starts_over(client, stack, bodies[15:])
            assert "the broker lost its data" in _logs(stack, "topics" if creator == "topics" else "worker-after-reset")
    assert len(accepted) == 15
    print(f"broker reset while no worker ran, topics created by the {creator}: board rebuilt from the empty log; 15 new calls processed")
