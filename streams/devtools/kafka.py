"""Apache Kafka nodes from the jars of kafka/pom.xml: KRaft, each node broker and controller, storage formatted once."""

import asyncio
import base64
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka.admin import AIOKafkaAdminClient

PROJECT = Path(__file__).resolve().parents[2] / "kafka"
LIB = PROJECT / "target" / "lib"
RESOLVED = LIB / ".resolved"
# A small heap, serial GC and quick JIT: three nodes and the rest of the stack share two cores here.
JVM_OPTIONS = ("-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true")
STARTED_LINE = "Kafka Server started"


class KafkaUnavailable(RuntimeError):
    """Why Apache Kafka cannot run on this machine, in one line."""


def missing_tools() -> str | None:
    """What this machine lacks to run Kafka from Maven Central (Java, or Maven for the first resolve), or None."""
    if shutil.which("java") is None:
        return "no java on PATH (Apache Kafka needs Java 17)"
    if not RESOLVED.exists() and shutil.which("mvn") is None:
        return "no mvn on PATH to resolve Apache Kafka from Maven Central (kafka/pom.xml)"
    return None


def classpath() -> str:
    """The broker's classpath, resolving its jars with Maven the first time (~/.m2 caches them)."""
    if reason := missing_tools():
        raise KafkaUnavailable(reason)
    if not RESOLVED.exists():
        argv = ["mvn", "-q", "-B", "-f", str(PROJECT / "pom.xml"), "dependency:copy-dependencies"]
        argv += ["-DincludeScope=runtime", f"-DoutputDirectory={LIB}"]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise KafkaUnavailable(f"mvn could not resolve Apache Kafka: {(done.stdout + done.stderr).strip()[-500:]}")
        RESOLVED.touch()
    return f"{LIB}/*"


@dataclass(frozen=True)
class KafkaNode:
    """One combined broker-and-controller node on loopback."""

    node_id: int
    host: str
    port: int
    controller_port: int
    data_dir: Path

    @property
    def address(self) -> str:
        """host:port of its broker listener."""
        return f"{self.host}:{self.port}"

    @property
    def config(self) -> Path:
        """Its server.properties."""
        return self.data_dir / "server.properties"


@dataclass(frozen=True)
class KafkaCluster:
    """The nodes of one cluster and the replication they allow (3 and min ISR 2 from three nodes on)."""

    cluster_id: str
    nodes: tuple[KafkaNode, ...]

    @property
    def bootstrap(self) -> str:
        """Every node's address, so a client can start while any one node is down."""
        return ",".join(node.address for node in self.nodes)

    @property
    def replication(self) -> int:
        """Replication factor of every topic."""
        return min(3, len(self.nodes))

    @property
    def min_insync(self) -> int:
        """Replicas that must have a write before acks=all answers."""
        return 2 if self.replication >= 3 else 1


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def plan_cluster(root: Path, host: str, first_port: int, count: int) -> KafkaCluster:
    """The cluster kept under root: its id and ports chosen once (root/cluster.json), so a restart finds the same nodes."""
    plan_file = root / "cluster.json"
    plan = orjson.loads(plan_file.read_bytes()) if plan_file.exists() else None
    if plan is None or len(plan["nodes"]) != count or plan["nodes"][0]["port"] != first_port:
        if plan is not None and any((root / f"node-{n['id']}" / "meta.properties").exists() for n in plan["nodes"]):
            raise KafkaUnavailable(f"{root} holds a Kafka cluster of another shape; remove it or use another data directory")
        ports = [first_port] + [_free_port(host) for _ in range(count - 1)]
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        plan = {
            "cluster_id": cluster_id,
            "nodes": [{"id": i + 1, "port": p, "controller_port": _free_port(host)} for i, p in enumerate(ports)],
        }
        root.mkdir(parents=True, exist_ok=True)
        plan_file.write_bytes(orjson.dumps(plan, option=orjson.OPT_INDENT_2))
    nodes = tuple(KafkaNode(n["id"], host, n["port"], n["controller_port"], root / f"node-{n['id']}") for n in plan["nodes"])
    return KafkaCluster(plan["cluster_id"], nodes)


def node_properties(cluster: KafkaCluster, node: KafkaNode, partitions: int) -> str:
    """The server.properties of one node: settings that keep it small and quick to fail over on a test machine."""
    voters = ",".join(f"{n.node_id}@{n.host}:{n.controller_port}" for n in cluster.nodes)
    settings = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{node.host}:{node.port},CONTROLLER://{node.host}:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{node.address}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": node.data_dir / "log",
        "num.partitions": partitions,
        "default.replication.factor": cluster.replication,
        "min.insync.replicas": cluster.min_insync,
        "offsets.topic.replication.factor": cluster.replication,
        "offsets.topic.num.partitions": 8,
        "transaction.state.log.replication.factor": cluster.replication,
        "transaction.state.log.min.isr": cluster.min_insync,
        "transaction.state.log.num.partitions": 4,
        "auto.create.topics.enable": "false",  # rapidaid topics creates them with the tested partition count
        "unclean.leader.election.enable": "false",  # a replica that missed writes never becomes leader: nothing acked is lost
        "group.initial.rebalance.delay.ms": 0,
        "group.min.session.timeout.ms": 1000,
        # A killed node is fenced, and its partitions led elsewhere, within about 3 s instead of 9.
        "broker.session.timeout.ms": 3000,
        "broker.heartbeat.interval.ms": 500,
        "log.cleaner.dedupe.buffer.size": 8 << 20,  # changelogs are compacted; 128 MiB by default would not fit the heap
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def prepare_nodes(cluster: KafkaCluster, partitions: int) -> dict[int, list[str]]:
    """Write each node's configuration, format its storage once, and return the command that runs it, by node id."""
    java = ["java", *JVM_OPTIONS, f"-Dlog4j.configuration=file:{PROJECT / 'log4j.properties'}", "-cp", classpath()]
    commands = {}
    for node in cluster.nodes:
        node.data_dir.mkdir(parents=True, exist_ok=True)
        node.config.write_text(node_properties(cluster, node, partitions))
        if not (node.data_dir / "log" / "meta.properties").exists():
            argv = [*java, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster.cluster_id}", "-c", str(node.config)]
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise KafkaUnavailable(f"formatting Kafka node {node.node_id} failed: {(done.stdout + done.stderr).strip()[-500:]}")
        commands[node.node_id] = [*java, "kafka.Kafka", str(node.config)]
    return commands


async def wait_for_brokers(cluster: KafkaCluster, timeout_s: float) -> bool:
    """Wait until the cluster's metadata lists every node (topics of replication 3 need all three); whether it did."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            if len((await admin.describe_cluster())["brokers"]) == len(cluster.nodes):
                return True
        except Exception:  # a node still starting refuses or times out
            pass
        finally:
            await admin.close()
        await asyncio.sleep(0.3)
    return False
