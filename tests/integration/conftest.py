"""A real stack (broker, Valkey/Redis, worker, API) started once per test session and broker by `rapidaid dev`.

Tests marked both_brokers run on Tansu and on Apache Kafka (from Maven Central, kafka/pom.xml); the rest on Tansu.
Every test asking for `broker` (directly or through `stack`) gets the parameter, so the Tansu stack is shared by all.
"""

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import psutil
import pytest

from streams.devtools.dev import DEV_ROLES
from streams.devtools.kafka import KafkaUnavailable, classpath
from tests.factories import call_body, id_number
from tests.integration.helpers import processed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Stack:
    api_url: str
    worker_metrics_url: str
    kafka: str
    redis: str
    tokens: dict[str, str]
    data_dir: Path
    launcher: subprocess.Popen

    def client(self, role: str = "operator") -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api_url, headers={"Authorization": f"Bearer {self.tokens[role]}"}, timeout=10)


def _wait_ready(api_url: str, launcher: subprocess.Popen, data_dir: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if launcher.poll() is not None:
            logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in (data_dir / "logs").glob("*.log"))
            raise RuntimeError(f"rapidaid dev exited with {launcher.returncode}\n{logs}")
        try:
            if httpx.get(f"{api_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("embedded stack not ready in time")


async def _first_event_processed(stack: Stack) -> None:
    """Wait until the worker has joined its group and processes events (a warm-up call for the timeline only)."""
    async with stack.client("operator") as operator:
        response = await operator.post(
            "/v1/hotline/calls", json=call_body(category="other", subject={"id_number": id_number(999), "name": "预热"})
        )
        await processed(operator, response.json()["event_id"], timeout_s=60)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "broker" in metafunc.fixturenames:
        brokers = ["tansu", "kafka"] if metafunc.definition.get_closest_marker("both_brokers") else ["tansu"]
        metafunc.parametrize("broker", brokers, indirect=True, scope="session")


@pytest.fixture(scope="session")
def broker(request) -> str:
    """The broker a test runs on: tansu (embedded, in memory) or kafka (Apache Kafka nodes from Maven Central)."""
    if request.param == "kafka":
        try:
            classpath()  # resolves the jars once, before any test's clock starts
        except KafkaUnavailable as reason:
            pytest.skip(f"Apache Kafka tests skipped: {reason}")
    return request.param


@pytest.fixture(scope="session")
def stack(broker, tmp_path_factory) -> Stack:
    data_dir = tmp_path_factory.mktemp(f"rapidaid-{broker}")
    kafka, redis, api, worker, metrics = (free_port() for _ in range(5))
    env = {
        **os.environ,
        "RAPIDAID_KAFKA": f"127.0.0.1:{kafka}",
        "RAPIDAID_REDIS": f"redis://127.0.0.1:{redis}/0",
        "RAPIDAID_PORT": str(api),
        "RAPIDAID_WORKER_PORT": str(worker),
        "RAPIDAID_METRICS_PORT": str(metrics),
        "RAPIDAID_DATA_DIR": str(data_dir),
        "RAPIDAID_POLICY": "fast",
        "RAPIDAID_SESSION_TIMEOUT_S": "6",
        "RAPIDAID_TICK_INTERVAL_S": "0.05",
        "RAPIDAID_BROKER": broker,
    }
    # Besides the development roles, officers scoped to one town and one village.
    roles = [*DEV_ROLES, "officer:town:370784101", "officer:village:370784107201", "department:education"]
    (data_dir / "dev-tokens.json").write_bytes(orjson.dumps({role: secrets.token_urlsafe(16) for role in roles}))
    launcher = subprocess.Popen([sys.executable, "-m", "streams", "dev"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    api_url = f"http://127.0.0.1:{api}"
    try:
        _wait_ready(api_url, launcher, data_dir)
        children = psutil.Process(launcher.pid).children(recursive=True)
        tokens = orjson.loads((data_dir / "dev-tokens.json").read_bytes())
        stack = Stack(
            api_url, f"http://127.0.0.1:{metrics}/metrics", env["RAPIDAID_KAFKA"], env["RAPIDAID_REDIS"], tokens, data_dir, launcher
        )
        asyncio.run(_first_event_processed(stack))
    except BaseException:
        launcher.kill()  # its children die with it (PR_SET_PDEATHSIG)
        raise
    yield stack
    launcher.send_signal(signal.SIGTERM)
    launcher.wait(30)
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, f"rapidaid dev left processes behind: {alive}"
