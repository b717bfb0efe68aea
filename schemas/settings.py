"""Where the shared infrastructure is: the base of every service's settings."""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConnectionSettings(BaseSettings):
    """Kafka and Redis locations and what every service shares, read from RAPIDAID_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="RAPIDAID_", extra="ignore")

    kafka: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,host:port]")
    redis: str = Field(default="redis://127.0.0.1:6379/0", description="Redis URL of the read model")
    partitions: int = Field(default=4, ge=1, le=1024, description="partition count of every RapidAid topic")
    replication: int = Field(default=1, ge=1, le=5, description="replication factor of every RapidAid topic (3 on a Kafka cluster)")
    broker: Literal["tansu", "kafka"] = Field(
        default="tansu", description="the broker: tansu (embedded, in memory) or kafka (Apache Kafka, which needs no Tansu workarounds)"
    )
    departments: str = Field(default="bundled", description="department → allowed change types: 'bundled' or a TOML file path")
    # The API checks partner roles and names against it, the worker names partners in notices.
    partners: str = Field(default="bundled", description="partners referrals go to (转办转介): 'bundled' or a TOML file path")
    # Not `register`: that name is taken by pydantic's model machinery, hence the alias keeping the variable RAPIDAID_REGISTER.
    county_register: str = Field(
        default="bundled",
        validation_alias="RAPIDAID_REGISTER",
        description="county register of towns, villages and grids: 'bundled' (Anqiu) or a CSV file path",
    )
    # The worker hashes ID numbers and phones with it; the API hashes a search for one the same way, so both need it.
    pseudonym_secret: str = Field(
        default="rapidaid-dev-secret", description="key of the hash that matches people without storing ID numbers"
    )
    event_result_ttl_s: int = Field(default=30 * 86400, description="how long an intake event's result stays readable")

    @property
    def broker_reports_true_end(self) -> bool:
        """Whether the broker's end offsets are those after each partition's last record (Apache Kafka; not Tansu 0.6)."""
        return self.broker == "kafka"
