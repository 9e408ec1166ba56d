"""Settings from the environment. Every service reads the same names; each process runs one service."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = "service"
    database_url: str = ""  # default: sqlite file under ./data/<service>.db
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = ""  # e.g. "staging." to share one cluster between environments
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
    feedback_public_url: str = "http://127.0.0.1:8003"  # where the feedback pages are reached
    newsletter_public_url: str = "http://127.0.0.1:8004"  # subscribe, confirm and unsubscribe pages
    feedback_link_valid_days: int = 30
    # outgoing mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_security: str = "none"  # none | starttls | tls
    smtp_username: str = ""
    smtp_password: SecretStr = Field(default=SecretStr(""))
    mail_from: str = "Digitale inclusie VVSG <digitale.inclusie@vvsg.be>"
    service_mail_max_age_days: int = 7  # a replayed old event never mails anyone
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
