"""A real Prometheus server scrapes the API and the worker, and the service-level queries return data."""

import shutil
import subprocess
from urllib.parse import urlparse

import httpx
import pytest

from tests.factories import call_body, id_number
from tests.integration.conftest import free_port
from tests.integration.helpers import eventually, processed

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not shutil.which("prometheus"), reason="prometheus not installed (make test installs Debian's prometheus as root)"),
]
SERVICE_LEVEL_QUERIES = ("rapidaid_open_cases", "rapidaid_open_cases_by_tier", "sum by (priority, track) (rapidaid_cases_opened_total)")


@pytest.fixture
def prometheus(stack, tmp_path):
    api, worker = urlparse(stack.api_url), urlparse(stack.worker_metrics_url)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - {{job_name: rapidaid-api, static_configs: [{{targets: ['{api.netloc}']}}],\n"
        f"      authorization: {{credentials: '{stack.tokens['metrics']}'}}}}\n"
        f"  - {{job_name: rapidaid-worker, static_configs: [{{targets: ['{worker.netloc}']}}]}}\n"
    )
    port = free_port()
    server = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(20)


async def test_prometheus_scrapes_both_and_answers_service_level_queries(stack, prometheus):
    async with stack.client("operator") as operator:
        response = await operator.post("/v1/hotline/calls", json=call_body(subject={"id_number": id_number(951), "name": "普罗"}))
        assert (await processed(operator, response.json()["event_id"]))["case_id"]
    async with httpx.AsyncClient(base_url=prometheus, timeout=5) as client:

        async def query(expr: str) -> list:
            try:
                response = await client.get("/api/v1/query", params={"query": expr})
            except httpx.HTTPError:
                return []
            return response.json()["data"]["result"] if response.status_code == 200 else []

        async def both_up():
            return {r["metric"]["job"] for r in await query("up == 1")} >= {"rapidaid-api", "rapidaid-worker"}

        await eventually(both_up, timeout_s=30, interval_s=0.5)
        for expr in SERVICE_LEVEL_QUERIES:
            result = await eventually(lambda expr=expr: query(expr), timeout_s=15, interval_s=0.5)
            assert result, expr


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool not installed (make test installs Debian's prometheus as root)")
async def test_both_scrapes_pass_promtools_check(stack):
    async with stack.client("operator") as operator:  # a case first, so the case metrics have series
        response = await operator.post("/v1/hotline/calls", json=call_body(subject={"id_number": id_number(952), "name": "普罗"}))
        assert (await processed(operator, response.json()["event_id"]))["case_id"]
    headers = {"Authorization": f"Bearer {stack.tokens['metrics']}"}
    for url in (f"{stack.api_url}/metrics", stack.worker_metrics_url):
        scrape = httpx.get(url, headers=headers, timeout=10)
        assert scrape.status_code == 200
        checked = subprocess.run(["promtool", "check", "metrics"], input=scrape.text, capture_output=True, text=True, timeout=60)
        assert (checked.returncode, checked.stdout + checked.stderr) == (0, ""), url
