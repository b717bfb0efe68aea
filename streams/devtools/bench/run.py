"""`rapidaid bench`: every figure measured side by side in one run, each scenario on a fresh embedded stack."""

import asyncio
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from itertools import product

from schemas.departments import BUNDLED, load_departments
from streams.config import WorkerSettings
from streams.devtools.bench import api, board, live, rules, search, state, throughput, timers
from streams.devtools.bench.stack import bench_stack


@dataclass(frozen=True)
class BenchSettings:
    """The sizes of one benchmark run."""

    quick: bool
    events: int
    workers: int
    partitions: int
    open_cases: int
    lateness_probes: int
    lateness_window_s: float
    e2e_rate_per_s: float
    e2e_seconds: float
    api_connections: int
    api_seconds: float
    sse_clients: int
    sse_rate_per_s: float
    sse_seconds: float
    tick_interval_s: float
    search_households: int
    search_queries: int
    state_households: tuple[int, ...]
    seed: int = 7

    @classmethod
    def for_run(cls, quick: bool, workers: int) -> "BenchSettings":
        """The sizes of a quick (a few minutes) or full run."""
        worker = WorkerSettings()
        return cls(
            quick=quick,
            events=20_000 if quick else 100_000,
            workers=workers,
            partitions=worker.partitions,
            open_cases=10_000 if quick else 100_000,
            lateness_probes=100 if quick else 500,
            lateness_window_s=10 if quick else 30,
            e2e_rate_per_s=500,
            e2e_seconds=6 if quick else 30,
            api_connections=32,
            api_seconds=3 if quick else 10,
            sse_clients=100 if quick else 500,
            sse_rate_per_s=100,
            sse_seconds=4 if quick else 20,
            tick_interval_s=worker.tick_interval_s,
            search_households=10_000 if quick else 100_000,
            search_queries=1000 if quick else 5000,
            state_households=(10_000,) if quick else (100_000, 1_000_000),
        )


TABLE_STORES = ("memory", "rocksdb")  # the state figures of the in-memory tables are unsuffixed, as issue 17 names them
WATCHED = 100_000  # watched households in the tick benchmark, beside its 100,000 open cases (issue 16)


def count_label(count: int) -> str:
    """A household count as the figures name it: 10k, 100k, 1m."""
    return f"{count // 1_000_000}m" if count % 1_000_000 == 0 else f"{count // 1000}k"


@contextmanager
def scenario(name: str):
    """Say on stderr when a scenario starts and how long it took, so a slow or stuck run shows where it is."""
    started = time.monotonic()
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    yield
    print(f"bench: {name} took {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)


def run_bench(settings: BenchSettings) -> dict:
    """Run every scenario and return the figures and the settings used."""
    departments = load_departments(os.environ.get("RAPIDAID_DEPARTMENTS", BUNDLED))
    worker = WorkerSettings()
    with scenario(f"throughput over {settings.events:,} events"), bench_stack(settings.partitions) as stack:
        records = throughput.bench_events(settings.events, departments, settings.seed)
        produce_per_s = asyncio.run(throughput.produce(stack.kafka, records))
        raw = asyncio.run(throughput.raw_consume(stack.kafka, settings.events, worker.fetch_max_wait_ms, timeout_s=120))
        floor = throughput.faust_floor(stack, settings.events, stack.supervisor.log_dir, timeout_s=120 + settings.events / 1000)
        pipeline = throughput.pipeline(stack, settings.events, timeout_s=120 + settings.events / 200, workers=settings.workers)
    with scenario(f"the worker's own code over the same {settings.events:,} events, without I/O"):
        own_code = rules.rules_cost(records)
    with scenario("deadline tick over 100,000 open cases"):
        tick_ms = timers.tick_cost_ms(100_000, ticks=300, interval_s=settings.tick_interval_s, seed=settings.seed, watched=WATCHED)
    with scenario(f"escalation lateness and recovery with {settings.open_cases:,} open cases"), bench_stack(settings.partitions) as stack:
        scale = timers.open_cases_scenario(
            stack, departments, settings.open_cases, settings.lateness_probes, settings.lateness_window_s, settings.seed
        )
    with scenario("end-to-end latency, live feed and API rates"), bench_stack(settings.partitions) as stack:
        worker_process = stack.start_worker("e2e-worker", "bench-e2e")
        with api.api_server(stack, live_connections_per_token=str(settings.sse_clients)) as (url, tokens):
            latencies = asyncio.run(api.e2e_latency_ms(url, tokens, departments, settings.e2e_rate_per_s, settings.e2e_seconds))
            sse_lag_p99_ms, sse_updates = asyncio.run(
                live.live_lag_ms(
                    url,
                    tokens["officer"],
                    tokens["operator"],
                    departments,
                    settings.sse_clients,
                    settings.sse_rate_per_s,
                    settings.sse_seconds,
                )
            )
            stack.stop(worker_process)  # the request rates measure the API alone
            intake_per_s, noop_per_s = api.api_rates(url, tokens, departments, settings.api_connections, settings.api_seconds)
    with scenario(f"search over {settings.search_households:,} households"), bench_stack(settings.partitions) as stack:
        found = search.search_figures(stack, departments, settings.search_households, settings.search_queries, settings.seed)
    with scenario("board in Chromium"):
        board_ms = board.board_figures(500)
    held = {}
    for households, store in product(settings.state_households, TABLE_STORES):
        with scenario(f"table recovery of {households:,} households in {store}"), bench_stack(settings.partitions) as stack:
            figures = state.state_figures(stack, departments, households, settings.seed, store)
        label = count_label(households) + ("" if store == "memory" else f"_{store}")
        held[f"worker_rss_mb_{label}"] = round(figures["worker_rss_mb"])
        held[f"recovery_s_{label}"] = round(figures["recovery_s"], 1)
    return {
        "raw_consume_events_per_s": round(raw),
        "faust_floor_events_per_s": round(floor),
        "pipeline_events_per_s": round(pipeline),
        "ratio": round(pipeline / floor, 3),
        "raw_ratio": round(pipeline / raw, 4),
        "intake_us_per_event": round(own_code.intake_us, 1),
        "triage_us_per_event": round(own_code.triage_us, 1),
        "triaged_per_event": round(own_code.triaged_per_event, 2),
        "rules_only_ratio": round(1e6 / (own_code.intake_us + own_code.triage_us) / floor, 3),
        "e2e_p50_ms": round(api.percentile(latencies, 50), 1),
        "e2e_p99_ms": round(api.percentile(latencies, 99), 1),
        "timer_tick_ms_100k": round(tick_ms, 3),
        "escalation_lateness_p99_ms": round(scale["escalation_lateness_p99_ms"], 1),
        "api_requests_per_s": round(intake_per_s),
        "api_ratio": round(intake_per_s / noop_per_s, 3),
        "recovery_s": round(scale["recovery_s"], 2),
        "sse_clients": settings.sse_clients,
        "sse_lag_p99_ms": round(sse_lag_p99_ms, 1),
        "board_first_render_ms": board_ms["board_first_render_ms"],
        "board_update_ms": board_ms["board_update_ms"],
        "search_p50_ms": round(found["search_p50_ms"], 1),
        "search_p99_ms": round(found["search_p99_ms"], 1),
        **held,
        "settings": {
            **asdict(settings),
            "produce_events_per_s": round(produce_per_s),
            "open_cases_at_recovery": scale["open_cases"],
            "lateness_probes_measured": scale["lateness_probes"],
            "e2e_calls": len(latencies),
            "sse_updates_received": sse_updates,
            "noop_requests_per_s": round(noop_per_s),
            "event_loop": worker.event_loop,
            "batch_size": worker.batch_size,
            "fetch_max_wait_ms": worker.fetch_max_wait_ms,
            "policy": "default",
            "watched_households_at_tick": WATCHED,
            "cpus": os.cpu_count(),
            "search_found": found["search_found"],
            "search_load_s": found["search_load_s"],
        },
    }


TARGETS = {
    "ratio": (">=", 1.0),
    "pipeline_events_per_s": (">=", 8000),
    "e2e_p99_ms": ("<=", 250),
    "timer_tick_ms_100k": ("<=", 5),
    "escalation_lateness_p99_ms": ("<=", 1000),
    "api_ratio": (">=", 0.5),
    "recovery_s": ("<=", 30),
    "sse_lag_p99_ms": ("<=", 1000),
    "board_first_render_ms": ("<=", 1000),
    "board_update_ms": ("<=", 1000),
    "search_p99_ms": ("<=", 100),
}


def report(result: dict) -> str:
    """The figures as a table, each target marked met or missed."""
    lines = [f"{'figure':<28} {'measured':>12}  target"]
    for key, value in result.items():
        if key == "settings":
            continue
        target = TARGETS.get(key)
        verdict = ""
        if target:
            met = value >= target[1] if target[0] == ">=" else value <= target[1]
            verdict = f"{target[0]} {target[1]}  {'met' if met else 'MISSED'}"
        lines.append(f"{key:<28} {value:>12}  {verdict}")
    return "\n".join(lines)
