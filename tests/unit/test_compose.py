"""The production compose file's structure: services, pinned images, health checks, known settings."""

import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from api.config import ApiSettings
from streams.config import WorkerSettings
from streams.devtools.dev import DevSettings
from streams.devtools.kafka import PROJECT, KafkaCluster, KafkaNode, node_properties

DOCKER = Path(__file__).parents[2] / "docker"
COMPOSE = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


KAFKA_NODES = ("kafka-1", "kafka-2", "kafka-3")
# Settings only of the test machine: a small heap, and quick group joins for short-lived test workers.
TEST_MACHINE_ONLY = {"log.cleaner.dedupe.buffer.size", "group.initial.rebalance.delay.ms", "group.min.session.timeout.ms"}
# Per node, or where compose's network differs from loopback.
PER_NODE = {"node.id", "controller.quorum.voters", "listeners", "advertised.listeners", "log.dirs"}
PER_NODE |= {"offsets.topic.num.partitions", "transaction.state.log.num.partitions"}


def test_the_whole_system_is_there():
    assert set(SERVICES) == {*KAFKA_NODES, "redis", "topics", "worker-1", "worker-2", "api", "prometheus", "grafana"}
    for node in KAFKA_NODES:
        assert SERVICES[node]["image"].startswith("apache/kafka:")
        assert "broker,controller" in SERVICES[node]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert "--appendonly" in SERVICES["redis"]["command"]
    assert SERVICES["topics"]["command"] == ["topics"] and SERVICES["topics"]["restart"] == "no"
    assert all(SERVICES[w]["command"] == ["worker"] for w in ("worker-1", "worker-2"))


def test_images_are_pinned_and_long_running_services_have_health_checks():
    for name, service in SERVICES.items():
        tag = service["image"].rsplit(":", 1)
        assert len(tag) == 2 and tag[1] not in ("latest", ""), name
        if name != "topics":
            assert service["healthcheck"]["test"], name


def test_workers_and_api_wait_for_topics_and_redis():
    for name in ("worker-1", "worker-2", "api"):
        assert SERVICES[name]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        assert SERVICES[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    # Creating topics on a cluster that lost its data marks the read model in Redis for a rebuild.
    assert SERVICES["topics"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_every_rapidaid_variable_is_a_setting():
    known = {
        (info.validation_alias or f"RAPIDAID_{name}").upper()
        for cls in (WorkerSettings, ApiSettings, DevSettings)
        for name, info in cls.model_fields.items()
    }
    used = {key for service in SERVICES.values() for key in service.get("environment", {}) if key.startswith("RAPIDAID_")}
    assert used and used <= known, used - known


def test_prometheus_loads_the_rules_and_scrapes_both_workers():
    config = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    targets = {t for job in config["scrape_configs"] for group in job["static_configs"] for t in group["targets"]}
    assert targets == {"api:8000", "worker-1:6067", "worker-2:6067"}


def test_kafka_runs_the_tested_version_and_settings():
    """Compose's cluster is the one the tests run: the pom's Kafka version, and node_properties' settings for 3 nodes."""
    version = ET.parse(PROJECT / "pom.xml").getroot().find("m:properties/m:kafka.version", {"m": "http://maven.apache.org/POM/4.0.0"}).text
    nodes = tuple(KafkaNode(n, "127.0.0.1", 9092 + n, 9192 + n, Path("/tmp")) for n in (1, 2, 3))
    tested = dict(line.split("=", 1) for line in node_properties(KafkaCluster("x", nodes), nodes[0], 4).splitlines())
    for node in KAFKA_NODES:
        assert SERVICES[node]["image"] == f"apache/kafka:{version}"
        composed = {
            key.removeprefix("KAFKA_").lower().replace("_", "."): str(value) for key, value in SERVICES[node]["environment"].items()
        }
        for key in tested.keys() - TEST_MACHINE_ONLY - PER_NODE:
            assert composed.get(key) == tested[key], f"{node}: {key} is {composed.get(key)} in compose, {tested[key]} in the tests"
    rapidaid = SERVICES["topics"]["environment"]
    assert (rapidaid["RAPIDAID_PARTITIONS"], rapidaid["RAPIDAID_REPLICATION"], rapidaid["RAPIDAID_BROKER"]) == (
        tested["num.partitions"],
        "3",
        "kafka",
    )
