"""Settings of the API service."""

from pathlib import Path

from pydantic import Field

from schemas.settings import ConnectionSettings

PEOPLE_FILE = "tokens.json"


class ApiSettings(ConnectionSettings):
    """Everything the API reads from RAPIDAID_* environment variables."""

    host: str = Field(default="127.0.0.1", description="address the API listens on")
    port: int = Field(default=8000, description="port the API listens on")
    data_dir: Path = Field(default=Path(".rapidaid"), description="where the people file tokens.json is kept (rapidaid tokens)")
    tokens_file: Path = Field(
        default=Path(".rapidaid/dev-tokens.json"), description="development tokens: a JSON object mapping roles to bearer tokens"
    )
    produce_timeout_s: float = Field(default=5.0, gt=0, description="how long an intake request waits for Kafka's acknowledgement")
    idempotency_ttl_s: int = Field(default=86400, description="how long an Idempotency-Key is remembered")
    metrics_public: bool = Field(default=False, description="serve /metrics without a token (only behind a private network)")
    max_body_bytes: int = Field(default=65536, gt=0, description="largest request body accepted (413 above it)")
    max_json_depth: int = Field(default=16, gt=0, description="deepest JSON nesting accepted in a request body (422 deeper)")
    intake_rate_per_s: float = Field(default=100.0, gt=0, description="intake requests per second allowed per token (429 above it)")
    live_connections_per_token: int = Field(default=10, gt=0, description="open /v1/live connections allowed per token (429 above it)")
    intake_burst: int = Field(default=200, gt=0, description="intake requests a token may send at once before the rate applies")

    @property
    def people_file(self) -> Path:
        """The tokens of named people, as SHA-256 digests (written by `rapidaid tokens`)."""
        return self.data_dir / PEOPLE_FILE


settings = ApiSettings()
