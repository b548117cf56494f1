"""The service's configuration: the one place that reads the environment."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Settings from environment variables (a `.env` file may add them)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./chatstore.db"
    broadcast_url: str = "memory://"
    jwt_secret: SecretStr | None = None
    # PostgreSQL connections per server process: kept open, and opened beyond that while busy.
    database_pool_size: int = Field(20, gt=0)
    database_max_overflow: int = Field(10, ge=0)

    # Each limit is the most a request may have: one more is refused. The contract's
    # defaults refuse at least depth 60, 2,000 aliases, 100,000 tokens, a 40 MiB body and
    # 24 MiB of content in one message, so each default is one under those.
    max_query_depth: int = Field(59, gt=0)
    max_aliases: int = Field(1_999, gt=0)
    max_tokens: int = Field(99_999, gt=0)
    max_body_bytes: int = Field(40 * MiB - 1, gt=0)
    max_content_bytes: int = Field(24 * MiB - 1, gt=0)
    max_batch_messages: int = Field(1_000, gt=0)
    max_mutation_fields: int = Field(100, gt=0)

    # Speed layers (speed/__init__.py lists them): each setting turns one off.
    response_cache_bytes: int = Field(64 * MiB, ge=0)  # 0: no response cache
    document_cache: bool = True
    fast_queries: bool = True
    compiled_reads: bool = True
    shared_fanout: bool = True
    prepared_statements: bool = True
    single_statement_append: bool = True
    gc_freeze: bool = True

    allowed_origins: list[str] = []

    # Live updates: GraphQL-level pings to WebSocket clients, the broker's own liveness
    # ping, and the periodic revision check that bounds the delay of a lost hint.
    ws_ping_seconds: float = Field(15.0, gt=0)
    broker_heartbeat_seconds: float = Field(1.0, gt=0)
    recheck_seconds: float = Field(5.0, gt=0)
    # How often each process marks FAILED the open operations past their deadline.
    expiry_seconds: float = Field(1.0, gt=0)

    # Logs, metrics, traces (README: Logs, metrics and traces).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # prometheus-client reads it too, when it is imported: set it before the process starts.
    prometheus_multiproc_dir: Path | None = None
    otel_traces: bool = False

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("jwt_secret")
    @classmethod
    def _secret_is_strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 bytes (HS256 needs a 256-bit key)")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_is_async(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value
