"""Smoke test of `rapidaid bench --quick --json`: it runs on its own embedded stack and prints the agreed JSON."""

import json
import subprocess
import sys

import pytest

FIGURES = {
    "raw_consume_events_per_s",
    "faust_floor_events_per_s",
    "pipeline_events_per_s",
    "ratio",
    "raw_ratio",
    "intake_us_per_event",
    "triage_us_per_event",
    "triaged_per_event",
    "rules_only_ratio",
    "e2e_p50_ms",
    "e2e_p99_ms",
    "timer_tick_ms_100k",
    "escalation_lateness_p99_ms",
    "api_requests_per_s",
    "api_ratio",
    "recovery_s",
    "sse_clients",
    "sse_lag_p99_ms",
    "board_first_render_ms",
    "board_update_ms",
    "search_p50_ms",
    "search_p99_ms",
    "worker_rss_mb_10k",
    "recovery_s_10k",
    "worker_rss_mb_10k_rocksdb",
    "recovery_s_10k_rocksdb",
}

pytestmark = pytest.mark.integration


def test_quick_bench_prints_the_figures_as_json(tmp_path):
    progress = tmp_path / "bench-progress.txt"
    with progress.open("wb") as stderr:
        try:
            run = subprocess.run(
                [sys.executable, "-m", "streams", "bench", "--quick", "--json"],
                stdout=subprocess.PIPE,
                stderr=stderr,
                timeout=1200,
                cwd=tmp_path,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"the quick bench did not end within 1200s; it had got this far:\n{progress.read_text()[-5000:]}")
    assert run.returncode == 0, progress.read_text()[-5000:]
    assert "bench: board in Chromium took" in progress.read_text()
    result = json.loads(run.stdout)
    assert set(result) == FIGURES | {"settings"}
    assert all(isinstance(result[name], int | float) for name in FIGURES)
    assert result["settings"]["quick"] is True
