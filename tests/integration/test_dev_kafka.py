"""`rapidaid dev --broker kafka` keeps a county's data: stopped by SIGTERM, Ctrl-C or SIGKILL and started again, every
case, timeline, event result, idempotency key and token is as before, and a deadline that fell due meanwhile acts at once."""

import os
import signal
import subprocess
import sys
import time

import httpx
import orjson
import psutil
import pytest

from streams.devtools.kafka import KafkaUnavailable, classpath
from tests.factories import call_body, id_number
from tests.integration.conftest import free_port
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.integration
ACKNOWLEDGE_S = 20
# The default policy with a 20 s acknowledge deadline, so one can fall due while the stack is down.
POLICY = 'extends = "default"\nversion = "restart-test"\n' + "".join(
    f"\n[tracks.{p}]\nacknowledge_s = {ACKNOWLEDGE_S}\n" for p in ("P1", "P2", "P3")
)
CALLS = 8


def start(env: dict[str, str]) -> subprocess.Popen:
    """Start the launcher and return once it says the stack is up."""
    launcher = subprocess.Popen([sys.executable, "-m", "streams", "dev"], env=env, stdout=subprocess.PIPE, text=True)
    for line in launcher.stdout:
        if line.startswith("RapidAid is up"):
            return launcher
    raise AssertionError(f"rapidaid dev exited with {launcher.wait()} before it was up")


def stop(launcher: subprocess.Popen, how: signal.Signals) -> None:
    """Stop the launcher the way a person or the machine would, and check it left no process behind."""
    children = psutil.Process(launcher.pid).children(recursive=True)
    launcher.send_signal(how)
    launcher.wait(60)
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"{how.name} left processes behind: {alive}"


def view(api: httpx.Client, event_ids: list[str]) -> dict:
    """What the people of the county see: open cases with their documents and timelines, the stats, each event's result."""
    cases = api.get("/v1/cases", params={"limit": 500}).json()["items"]
    stats = api.get("/v1/stats").json()
    return {
        "cases": {
            c["case_id"]: (api.get(f"/v1/cases/{c['case_id']}").json(), api.get(f"/v1/cases/{c['case_id']}/timeline").json()) for c in cases
        },
        "stats": (stats["open_cases"], stats["counters"]),
        "events": {e: api.get(f"/v1/events/{e}").json() for e in event_ids},
    }


def timeline_types(api: httpx.Client, case_id: str) -> list[str]:
    return [entry["type"] for entry in api.get(f"/v1/cases/{case_id}/timeline").json()["timeline"]]


def test_a_county_on_one_machine_keeps_everything_across_restarts(tmp_path):
    try:
        classpath()
    except KafkaUnavailable as reason:
        pytest.skip(f"Apache Kafka tests skipped: {reason}")
    (tmp_path / "policy.toml").write_text(POLICY)
    kafka, redis, port, worker, metrics = (free_port() for _ in range(5))
    env = {
        **os.environ,
        "RAPIDAID_BROKER": "kafka",
        "RAPIDAID_KAFKA": f"127.0.0.1:{kafka}",
        "RAPIDAID_REDIS": f"redis://127.0.0.1:{redis}/0",
        "RAPIDAID_PORT": str(port),
        "RAPIDAID_WORKER_PORT": str(worker),
        "RAPIDAID_METRICS_PORT": str(metrics),
        "RAPIDAID_DATA_DIR": str(tmp_path / "data"),
        "RAPIDAID_POLICY": str(tmp_path / "policy.toml"),
        "RAPIDAID_SESSION_TIMEOUT_S": "6",
    }
    launcher = start(env)
    tokens = orjson.loads((tmp_path / "data" / "dev-tokens.json").read_bytes())
    added = subprocess.run(
        [sys.executable, "-m", "streams", "tokens", "add", "--role", "officer:town:370784101", "--name", "刘洋"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    person_token = added.stdout.strip().splitlines()[-1]
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {tokens['officer']}"}, timeout=10)
    operator = {"Authorization": f"Bearer {tokens['operator']}"}
    try:
        accepted = [
            api.post(
                "/v1/hotline/calls",
                json=call_body(subject={"id_number": id_number(500 + n), "name": f"住户{n}"}),
                headers={**operator, "Idempotency-Key": f"restart-{n}"},
            ).json()
            for n in range(CALLS)
        ]
        event_ids = [a["event_id"] for a in accepted]

        def results_in() -> list[dict] | None:
            results = [api.get(f"/v1/events/{e}").json() for e in event_ids]
            return results if all(r["state"] == "processed" for r in results) else None

        case_ids = {r["case_id"] for r in wait_until(results_in, 60, "the calls to be processed")}
        for case_id in case_ids:  # acknowledged: no deadline falls due while the views are compared
            api.post(f"/v1/cases/{case_id}/acknowledge", json={})
        wait_until(lambda: all("acknowledged" in timeline_types(api, c) for c in case_ids), 30, "the acknowledgements")
        before = view(api, event_ids)
        assert len(before["cases"]) == len(case_ids)

        for how in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
            stop(launcher, how)
            started = time.monotonic()
            launcher = start(env)
            back_s = time.monotonic() - started
            assert view(api, event_ids) == before, f"after {how.name} the county's data differs"
            replay = api.post(
                "/v1/hotline/calls",
                json=call_body(subject={"id_number": id_number(500), "name": "住户0"}),
                headers={**operator, "Idempotency-Key": "restart-0"},
            )
            assert replay.json() == {"event_id": event_ids[0], "replayed": True}
            assert httpx.get(f"{api.base_url}/v1/me", headers={"Authorization": f"Bearer {person_token}"}).json()["name"] == "刘洋"
            kept = f"{len(case_ids)} open cases, {CALLS} events, an idempotency key and a named token as before"
            print(f"\n{how.name}: {kept}; up again in {back_s:.1f}s")

        # A call nobody acknowledges; the stack is killed and stays down past its acknowledge deadline.
        late = api.post(
            "/v1/hotline/calls", json=call_body(subject={"id_number": id_number(599), "name": "无人应答"}), headers=operator
        ).json()
        late_case = wait_until(lambda: api.get(f"/v1/events/{late['event_id']}").json().get("case_id"), 60, "the late call's case")
        opened = time.monotonic()
        stop(launcher, signal.SIGKILL)
        time.sleep(max(0.0, ACKNOWLEDGE_S + 2 - (time.monotonic() - opened)))
        launcher = start(env)
        up = time.monotonic()
        wait_until(lambda: "escalated" in timeline_types(api, late_case), 30, "the missed deadline to escalate once the stack is back")
        print(f"deadline that fell due while down: escalated {time.monotonic() - up:.1f}s after the stack was up again")
    finally:
        stop(launcher, signal.SIGTERM)
        api.close()
