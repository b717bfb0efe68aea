"""A throwaway broker (Tansu, or Apache Kafka nodes) and Redis for one benchmark or test run, reached directly (no proxy)."""

import asyncio
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from streams.config import WorkerSettings
from streams.devtools.dev import Supervisor, free_port, start_broker, start_kafka, start_redis, wait_for_port
from streams.plumbing.topics import ensure_topics

HOST = "127.0.0.1"


class BenchStack:
    """Broker, Redis and the environment that points RapidAid processes at them."""

    def __init__(self, supervisor: Supervisor, partitions: int, env: dict[str, str], broker_names: list[str]) -> None:
        self.supervisor = supervisor
        self.partitions = partitions
        self.env = env
        self.kafka = env["RAPIDAID_KAFKA"]
        self.redis = env["RAPIDAID_REDIS"]
        self.replication = int(env["RAPIDAID_REPLICATION"])
        self.broker_names = broker_names  # the supervisor's names of the broker processes

    def process_env(self, **overrides: str) -> dict[str, str]:
        """The stack's environment with RAPIDAID_<NAME> overrides."""
        return {**self.env, **{f"RAPIDAID_{name.upper()}": value for name, value in overrides.items()}}

    def start_module(self, name: str, module: str, *args: str, **overrides: str) -> subprocess.Popen:
        """Start `python -m <module> <args>` against the stack, its output in <name>.log."""
        return self.supervisor.start(name, [sys.executable, "-m", module, *args], self.process_env(**overrides))

    def start_worker(self, name: str, app_id: str, **overrides: str) -> subprocess.Popen:
        """Start a RapidAid worker of the consumer group app_id on ports of its own."""
        worker_port, metrics_port = self.free_ports(2)
        ports = {"worker_port": str(worker_port), "metrics_port": str(metrics_port)}
        return self.start_module(name, "streams", "worker", app_id=app_id, **ports, **overrides)

    def stop(self, process: subprocess.Popen, grace_s: float = 10) -> None:
        """SIGTERM a process started here, SIGKILL it after the grace period."""
        self.supervisor.stop(process, grace_s)

    def free_ports(self, count: int) -> list[int]:
        """Ports for a process's own servers."""
        return [free_port(HOST) for _ in range(count)]

    async def ensure_topics(self, app_id: str) -> None:
        """Create the topics, including the changelogs of app_id's tables."""
        await ensure_topics(WorkerSettings(app_id=app_id, kafka=self.kafka, partitions=self.partitions, replication=self.replication))


@contextmanager
def bench_stack(partitions: int, broker: str = "tansu", kafka_nodes: int = 1):
    """Start a broker (Tansu in memory, or kafka_nodes Apache Kafka nodes) and Redis on free ports in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="rapidaid-bench-") as tmp:
        data = Path(tmp)
        supervisor = Supervisor(data)
        kafka_port, redis_port = free_port(HOST), free_port(HOST)
        env = {
            **os.environ,
            "RAPIDAID_KAFKA": f"{HOST}:{kafka_port}",
            "RAPIDAID_REDIS": f"redis://{HOST}:{redis_port}/0",
            "RAPIDAID_PARTITIONS": str(partitions),
            "RAPIDAID_REPLICATION": "1",
            "RAPIDAID_BROKER": broker,
            "RAPIDAID_SESSION_TIMEOUT_S": "6",
            "RAPIDAID_LOG_LEVEL": "warning",
            "RAPIDAID_POLICY": "default",
            "RAPIDAID_TABLES_DIR": str(data / "tables"),
            "RAPIDAID_INTAKE_RATE_PER_S": "1000000",  # the benchmark measures capacity, not the per-token limit
            "RAPIDAID_INTAKE_BURST": "1000000",
        }
        try:
            if broker == "kafka":
                cluster = start_kafka(supervisor, data / "kafka", HOST, kafka_port, kafka_nodes, env)
                env.update(RAPIDAID_KAFKA=cluster.bootstrap, RAPIDAID_REPLICATION=str(cluster.replication))
                broker_names = [f"kafka-{node.node_id}" for node in cluster.nodes]
            else:
                start_broker(supervisor, HOST, kafka_port, kafka_port, env)
                wait_for_port(HOST, kafka_port, "the Kafka broker")
                broker_names = ["broker"]
            start_redis(supervisor, HOST, redis_port, data, False, env)
            wait_for_port(HOST, redis_port, "Redis")
            stack = BenchStack(supervisor, partitions, env, broker_names)
            asyncio.run(stack.ensure_topics("rapidaid"))
            yield stack
        except Exception:
            print(supervisor.log_tails(), file=sys.stderr, flush=True)  # the logs go with the temporary directory
            raise
        finally:
            supervisor.stop_all(grace_s=5)
