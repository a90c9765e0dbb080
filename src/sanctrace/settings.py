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
| ``SANCTRACE_WEBHOOK_URL`` | ``webhook_url``: where hold and decision changes are posted | none |
| ``SANCTRACE_WEBHOOK_SECRET`` | ``webhook_secret``: the HMAC-SHA256 key that signs them | none |
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DB", "DEFAULT_DATA_DIR", "Settings", "load_settings"]

DEFAULT_DB = "sqlite:///sanctrace.db"
DEFAULT_DATA_DIR = Path("sanctrace-data")


class Settings(BaseSettings):
    """sanctrace's configuration (environment variables ``SANCTRACE_<NAME>``)."""

    model_config = SettingsConfigDict(env_prefix="SANCTRACE_", frozen=True, extra="ignore")

    db: str = Field(default=DEFAULT_DB, min_length=1)
    data_dir: Path = DEFAULT_DATA_DIR
    sources: Path | None = None
    rules: Path | None = None
    user: str | None = None
    sla_hours: dict[str, int] = Field(
        default_factory=lambda: {"critical": 24, "high": 72, "medium": 168, "low": 336}
    )
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

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
