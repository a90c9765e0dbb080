"""The one place that reads the environment: every ``SANCTRACE_*`` setting, with its default.

Interfaces build one ``Settings`` (the environment, then their own options such as ``--db`` and
``--data-dir`` on top) and hand it to the services; engines never read the environment.

| variable | setting | default |
|---|---|---|
| ``SANCTRACE_DB`` | ``db``: database URL | ``sqlite:///sanctrace.db`` |
| ``SANCTRACE_DATA_DIR`` | ``data_dir``: downloaded lists, the chain store | ``./sanctrace-data`` |
| ``SANCTRACE_SOURCES`` | ``sources``: TOML file of list URLs | the packaged ``lists/sources.toml`` |
| ``SANCTRACE_RULES`` | ``rules``: YAML file of monitoring rules | the packaged ``monitor/rules/rules.yml`` |
| ``SANCTRACE_USER`` | ``user``: who acts in commands that change cases, holds, decisions | none: they refuse |
| ``SANCTRACE_SLA_HOURS`` | ``sla_hours``: hours to resolve a case, by severity (JSON) | 24 / 72 / 168 / 336 |
| ``SANCTRACE_SUPPRESSION_DAYS`` | ``suppression_days``: how long a false-positive decision mutes | 365 |
| ``SANCTRACE_TIMEZONE`` | ``timezone``: the console's and reports' time zone | ``Asia/Tokyo`` |
| ``SANCTRACE_WEBHOOK_URL`` | ``webhook_url``: where hold and decision changes are posted | none |
| ``SANCTRACE_WEBHOOK_SECRET`` | ``webhook_secret``: the HMAC-SHA256 key that signs them | none |
| ``SANCTRACE_BTC_RPC_URL`` | ``btc_rpc_url``: Bitcoin Core JSON-RPC URL (no credentials in it) for ``chain follow`` and deposits' on-demand history | none: no on-demand fetch |
| ``SANCTRACE_BTC_RPC_USER`` / ``_PASSWORD`` | ``btc_rpc_user`` / ``btc_rpc_password``: its basic-auth credentials | none |
| ``SANCTRACE_BTC_RPC_COOKIE`` | ``btc_rpc_cookie``: Core's ``.cookie`` file, read instead of user and password | none |
| ``SANCTRACE_ETH_RPC_URL`` | ``eth_rpc_url``: Ethereum JSON-RPC URL (an API key in its path stays out of logs) | none |
| ``SANCTRACE_ETH_RPC_USER`` / ``_PASSWORD`` | ``eth_rpc_user`` / ``eth_rpc_password``: its basic-auth credentials | none |
| ``SANCTRACE_RPC_TIMEOUT`` | ``rpc_timeout``: seconds one node request may take | 60 |
| ``SANCTRACE_DB_CONNECT_TIMEOUT`` | ``db_connect_timeout``: seconds to connect (PostgreSQL) | 10 |
| ``SANCTRACE_DB_STATEMENT_TIMEOUT`` | ``db_statement_timeout``: seconds one statement may run (PostgreSQL; 0 = no limit) | 120 |
| ``SANCTRACE_DB_BUSY_TIMEOUT`` | ``db_busy_timeout``: seconds to wait for another writer's lock (SQLite) | 30 |
| ``SANCTRACE_MAX_BODY_BYTES`` | ``max_body_bytes``: largest request body the API reads (413 above) | 1048576 (1 MiB) |
| ``SANCTRACE_MAX_RECORDS`` | ``max_records``: records per request (bulk and company endpoints) | 1000 |
| ``SANCTRACE_REQUEST_TIMEOUT`` | ``request_timeout``: seconds an API request may take (504 after) | 30 |
| ``SANCTRACE_RATE_LIMIT`` | ``rate_limit``: requests per minute per API key (429 above; 0 = off) | 0 |
| ``SANCTRACE_METRICS_TOKEN`` | ``metrics_token``: bearer token that may read ``/metrics`` from anywhere | none: loopback only |
| ``SANCTRACE_LOG_FORMAT`` | ``log_format``: ``json`` (one object a line) or ``text``, for ``serve`` | ``json`` |
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_DB",
    "DEFAULT_SLA_HOURS",
    "Settings",
    "export_to_environment",
    "load_settings",
]

DEFAULT_DB = "sqlite:///sanctrace.db"
DEFAULT_DATA_DIR = Path("sanctrace-data")
DEFAULT_SLA_HOURS = {"critical": 24, "high": 72, "medium": 168, "low": 336}


class Settings(BaseSettings):
    """sanctrace's configuration (environment variables ``SANCTRACE_<NAME>``)."""

    model_config = SettingsConfigDict(env_prefix="SANCTRACE_", frozen=True, extra="ignore")

    db: str = Field(default=DEFAULT_DB, min_length=1)
    data_dir: Path = DEFAULT_DATA_DIR
    sources: Path | None = None
    rules: Path | None = None
    user: str | None = None
    sla_hours: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_SLA_HOURS))
    suppression_days: int = Field(default=365, ge=1)
    timezone: str = "Asia/Tokyo"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # The exchange's own nodes (sanctrace.nodes): credentials only here, never on a command line.
    btc_rpc_url: SecretStr | None = None
    btc_rpc_user: SecretStr | None = None
    btc_rpc_password: SecretStr | None = None
    btc_rpc_cookie: Path | None = None
    eth_rpc_url: SecretStr | None = None
    eth_rpc_user: SecretStr | None = None
    eth_rpc_password: SecretStr | None = None
    rpc_timeout: float = Field(default=60.0, gt=0)
    # Faults and limits (docs/operations.md).
    db_connect_timeout: float = Field(default=10.0, gt=0)
    db_statement_timeout: float = Field(default=120.0, ge=0)
    db_busy_timeout: float = Field(default=30.0, ge=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_records: int = Field(default=1000, ge=1)
    request_timeout: float = Field(default=30.0, gt=0)
    rate_limit: int = Field(default=0, ge=0)
    metrics_token: SecretStr | None = None
    log_format: str = Field(default="json", pattern="^(json|text)$")

    @field_validator("sla_hours")
    @classmethod
    def _every_severity(cls, value: dict[str, int]) -> dict[str, int]:
        # An override may name only the severities it changes.
        return {**DEFAULT_SLA_HOURS, **value}

    @property
    def chain_dir(self) -> Path:
        """Root of the Parquet chain store."""
        return self.data_dir / "chain"

    @property
    def lists_dir(self) -> Path:
        """Where ``lists fetch`` keeps downloaded files."""
        return self.data_dir / "lists"


def load_settings(**overrides: Any) -> Settings:
    """The environment's settings with ``overrides`` on top (``None`` values are ignored)."""
    given = {k: v for k, v in overrides.items() if v is not None and v != ""}
    return Settings(**given)


def export_to_environment(settings: Settings) -> None:
    """Put ``settings`` into this process's environment, where child processes (the workers
    of ``sanctrace serve --workers``) read them back with ``load_settings``."""
    values = {
        "SANCTRACE_DB": settings.db,
        "SANCTRACE_DATA_DIR": str(settings.data_dir),
        "SANCTRACE_RULES": str(settings.rules) if settings.rules is not None else None,
        "SANCTRACE_USER": settings.user,
    }
    for name, value in values.items():
        if value is not None:
            os.environ[name] = value
