"""`rapidaid dev` as a new user meets it: a taken port gives one clear line; "up" means a call can be processed."""

import asyncio
import os
import signal
import socket
import subprocess
import sys

import httpx
import orjson
import psutil

from tests.factories import call_body
from tests.integration.conftest import free_port
from tests.integration.helpers import processed, wait_until


def test_a_taken_port_gives_one_clear_line(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        env = {
            **os.environ,
            "RAPIDAID_KAFKA": f"127.0.0.1:{free_port()}",
            "RAPIDAID_REDIS": f"redis://127.0.0.1:{free_port()}/0",
            "RAPIDAID_PORT": str(taken),
            "RAPIDAID_DATA_DIR": str(tmp_path),
        }
        done = subprocess.run([sys.executable, "-m", "streams", "dev"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    hint = "stop what holds it or choose another port with RAPIDAID_* settings"
    assert done.stderr.strip().splitlines() == [f"rapidaid dev: port {taken} on 127.0.0.1 (API) is already in use; {hint}"]


def _dev_env(tmp_path) -> dict[str, str]:
    kafka, redis, api, worker, metrics = (free_port() for _ in range(5))
    return {
        **os.environ,
        "RAPIDAID_KAFKA": f"127.0.0.1:{kafka}",
        "RAPIDAID_REDIS": f"redis://127.0.0.1:{redis}/0",
        "RAPIDAID_PORT": str(api),
        "RAPIDAID_WORKER_PORT": str(worker),
        "RAPIDAID_METRICS_PORT": str(metrics),
        "RAPIDAID_DATA_DIR": str(tmp_path),
        "RAPIDAID_SESSION_TIMEOUT_S": "6",
    }


def test_up_means_a_call_can_be_processed(tmp_path):
    env = _dev_env(tmp_path)
    launcher = subprocess.Popen([sys.executable, "-m", "streams", "dev"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        for line in launcher.stdout:
            if line.startswith("RapidAid is up"):
                break
        else:
            raise AssertionError(f"rapidaid dev exited with {launcher.wait()} before it was up")
        # At the moment the launcher says so, the worker holds every partition of both groups, and /readyz agrees.
        assert "Can process calls" in (tmp_path / "logs" / "worker.log").read_text()
        api = f"http://127.0.0.1:{env['RAPIDAID_PORT']}"
        assert httpx.get(f"{api}/readyz").json()["checks"]["workers"] is True
        token = orjson.loads((tmp_path / "dev-tokens.json").read_bytes())["operator"]
        headers = {"Authorization": f"Bearer {token}"}
        event_id = httpx.post(f"{api}/v1/hotline/calls", json=call_body(), headers=headers).json()["event_id"]
        assert asyncio.run(processed(httpx.AsyncClient(base_url=api, headers=headers), event_id))["state"] == "processed"
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(30)


def _children(launcher: subprocess.Popen) -> dict[str, psutil.Process]:
    """The launcher's children by role, from their command lines."""
    marks = (("broker", " broker --listener-url"), ("redis", "-server"), ("worker", "streams worker"), ("api", "streams api"))
    found = {}
    for child in psutil.Process(launcher.pid).children():
        command = " ".join(child.cmdline())
        found |= {name: child for name, mark in marks if mark in command}
    return found


def test_a_part_that_dies_is_restarted_and_the_broker_keeps_everything(tmp_path):
    env = _dev_env(tmp_path)
    launcher = subprocess.Popen([sys.executable, "-m", "streams", "dev"], env=env, stdout=subprocess.PIPE, text=True)
    api = httpx.Client(base_url=f"http://127.0.0.1:{env['RAPIDAID_PORT']}", timeout=10)
    try:
        for line in launcher.stdout:
            if line.startswith("RapidAid is up"):
                break
        api.headers["Authorization"] = f"Bearer {orjson.loads((tmp_path / 'dev-tokens.json').read_bytes())['operator']}"

        def processed_case(event_id: str) -> str | None:
            result = api.get(f"/v1/events/{event_id}").json()
            return result.get("case_id") if result.get("state") == "processed" else None

        first = api.post("/v1/hotline/calls", json=call_body()).json()["event_id"]
        case_id = wait_until(lambda: processed_case(first), 30, "the first call to be processed")
        before = _children(launcher)
        for part in ("redis", "worker"):
            before[part].kill()  # kill -9
            lines = []
            for line in launcher.stdout:
                lines.append(line)
                if f"{part} restarted" in line:
                    break
            assert any(f"rapidaid dev: {part} exited with code -9; restarting it in" in line for line in lines), lines
            wait_until(lambda: api.get("/readyz").status_code == 200, 90, f"readiness after {part} restarted")
        after = _children(launcher)
        assert after["broker"].pid == before["broker"].pid  # never stopped because another part died
        assert after["redis"].pid != before["redis"].pid and after["worker"].pid != before["worker"].pid
        # What was accepted before is still there (the read model rebuilt from the broker), and new calls are processed.
        assert processed_case(first) == case_id
        second = api.post("/v1/hotline/calls", json=call_body(subject={"id_number": "11010519491231002X", "name": "赵六"})).json()
        assert wait_until(lambda: processed_case(second["event_id"]), 60, "a call after the restarts to be processed")
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(30)
        api.close()
