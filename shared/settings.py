"""Settings from the environment that every service reads; each process runs one service. A service's
own settings extend these in the service (same environment variable names)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = "service"
    database_url: str = ""  # default: sqlite file under ./data/<service>.db
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = ""  # e.g. "staging." to share one cluster between environments
    # topics as deploy/ creates them: 1/1 for one development broker; 3/2 on a three-node cluster, so
    # that one node down refuses no write and loses nothing acknowledged (acks=all)
    kafka_replication_factor: int = 1
    kafka_min_insync_replicas: int = 1
    # static group membership (KIP-345), one id per running instance (e.g. "kpi-2"): a restarted
    # instance takes its partitions back without a rebalance of the group; empty means dynamic members
    kafka_group_instance_id: str = ""
    # how long the group waits for a silent member (a killed one) before giving its partitions away
    kafka_session_timeout_ms: int = 10_000
    auth_secret: SecretStr = Field(default=SecretStr(""))
    http_host: str = "127.0.0.1"
    http_port: int = 0
    log_level: str = "INFO"
    outbox_batch_size: int = 500
    outbox_poll_seconds: float = 0.5
    consumer_batch_size: int = 1000
    public_base_url: str = ""  # where people reach this service's own public pages
    # personal links (see shared.links): the mailing service and the serving service share the secret
    link_secret: SecretStr = Field(default=SecretStr(""))
    # what only one service reads lives in its own settings class: services/feedback/settings.py
    # (FEEDBACK_*), services/newsletter/settings.py (SMTP_*, MAIL_FROM, NEWSLETTER_*, ...)
    cors_origins: str = ""  # comma-separated; empty means CORS is off
    max_body_bytes: int = 1_000_000
    public_rate_per_minute: int = 60  # requests per client address on public pages
    # comma-separated addresses or networks (CIDR) of the reverse proxies in front of the service:
    # only a request from one of them may name its client in X-Forwarded-For; empty trusts nobody
    trusted_proxies: str = ""

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///./data/{self.service_name}.db"

    def topic(self, base: str) -> str:
        return f"{self.kafka_topic_prefix}{base}"


DEFAULT_PORTS: dict[str, int] = {
    "members": 8001,
    "events": 8002,
    "feedback": 8003,
    "newsletter": 8004,
    "kpi": 8005,
}


def load(service_name: str) -> Settings:
    settings = Settings(service_name=service_name)
    if not settings.http_port:
        settings.http_port = DEFAULT_PORTS.get(service_name, 8000)
    return settings
