"""The production compose file's structure: services, pinned images, health checks, known settings."""

from pathlib import Path

import yaml

from api.config import ApiSettings
from streams.config import WorkerSettings
from streams.devtools.dev import DevSettings

DOCKER = Path(__file__).parents[2] / "docker"
COMPOSE = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_the_whole_system_is_there():
    assert set(SERVICES) == {"kafka", "redis", "topics", "worker-1", "worker-2", "api", "prometheus", "grafana"}
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert "broker,controller" in SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
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
