"""The service's configuration: the one place that reads the environment."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Settings from environment variables (a `.env` file may add them)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # production: a key source is required, no dev token, GraphiQL and introspection off
    # unless turned on (README: Security).
    environment: Literal["development", "production"] = "development"

    database_url: str = "sqlite+aiosqlite:///./chatstore.db"
    broadcast_url: str = "memory://"

    # Who is calling (core/identity.py): HS256 tokens signed with JWT_SECRET, RS256/ES256
    # tokens signed with a key of the JWKS at JWT_JWKS_URL, or both.
    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # Where the claims are: a claim of that exact name, else a dotted path into nested
    # objects (Keycloak's `realm_access.roles`). The role claim marks a service when it is,
    # or (a list) holds, JWT_SERVICE_ROLE.
    jwt_user_claim: str = Field("sub", min_length=1)
    jwt_role_claim: str = Field("role", min_length=1)
    jwt_service_role: str = Field("service", min_length=1)
    # How long the key set is kept, and the least time between two fetches that a token
    # with an unknown `kid` may cause.
    jwt_jwks_cache_seconds: float = Field(300.0, gt=0)
    jwt_jwks_refresh_seconds: float = Field(30.0, ge=0)
    jwt_jwks_timeout_seconds: float = Field(5.0, gt=0)

    # Unset: on in development, off in production.
    graphiql: bool | None = None
    introspection: bool | None = None
    # Lifetime of the token printed at start in dev mode (no JWT_SECRET).
    dev_token_hours: float = Field(24.0, gt=0)
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
    fast_mutations: bool = True
    root_field_plans: bool = True  # needs fast_queries and response_cache_bytes
    compiled_arguments: bool = True
    compiled_reads: bool = True
    shared_fanout: bool = True
    events_from_writes: bool = True  # needs shared_fanout
    extension_hooks_once: bool = True
    prepared_statements: bool = True
    single_statement_append: bool = True
    single_statement_chunk: bool = True
    gc_freeze: bool = True
    fast_json: bool = True
    database_json: bool = True  # PostgreSQL only; needs compiled_reads and fast_json
    # A WebSocket that sent nothing for this long lets go of its compressor. 0: never.
    idle_compressor_seconds: float = Field(30.0, ge=0)

    # Limits per caller, each held by every server process on its own (README: Limits per
    # caller). A request rate of 0 turns that limit off.
    max_sockets_per_user: int = Field(20, gt=0)
    max_subscriptions_per_socket: int = Field(100, gt=0)
    connection_init_wait_seconds: float = Field(10.0, gt=0)
    # A worker may stream a reply a chunk per token with the user's token: an LLM's pace,
    # up to a couple of hundred a second, stays under the rate.
    rate_limit_per_second: float = Field(200.0, ge=0)
    rate_limit_burst: int = Field(400, gt=0)

    allowed_origins: list[str] = []

    # Trusted documents: comma-separated manifests (unset: the chat client's; empty: none),
    # and whether a request must name one of their documents instead of sending a text.
    trusted_documents: str | None = None
    # Unset: on in production when TRUSTED_DOCUMENTS names a manifest, else off.
    trusted_documents_only: bool | None = None

    # Live updates: GraphQL-level pings to WebSocket clients, the broker's own liveness
    # ping, and the periodic revision check that bounds the delay of a lost hint.
    ws_ping_seconds: float = Field(15.0, gt=0)
    broker_heartbeat_seconds: float = Field(1.0, gt=0)
    recheck_seconds: float = Field(5.0, gt=0)
    # How often each process marks FAILED the open operations past their deadline.
    expiry_seconds: float = Field(1.0, gt=0)
    # On SIGTERM, how long requests in flight may take to finish before the process exits.
    drain_seconds: float = Field(10.0, ge=0)

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

    @field_validator("jwt_jwks_url")
    @classmethod
    def _jwks_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("JWT_JWKS_URL must be an https:// (or http://) URL")
        return value

    @model_validator(mode="after")
    def _production_is_locked_down(self) -> Self:
        if self.environment != "production":
            return self
        if self.jwt_secret is None and self.jwt_jwks_url is None:
            raise ValueError(
                "ENVIRONMENT=production needs a key to verify tokens: set JWT_SECRET (HS256) "
                "or JWT_JWKS_URL (RS256/ES256 keys of an identity provider), or both"
            )
        if "*" in self.allowed_origins:
            raise ValueError(
                'ENVIRONMENT=production refuses ALLOWED_ORIGINS ["*"]: list the origins '
                "whose pages may open the WebSocket"
            )
        return self

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def serves_graphiql(self) -> bool:
        """GRAPHIQL, or by default: in development only."""
        return self.graphiql if self.graphiql is not None else not self.production

    @property
    def runs_trusted_documents_only(self) -> bool:
        """TRUSTED_DOCUMENTS_ONLY, or by default: in production, once a manifest is named."""
        if self.trusted_documents_only is not None:
            return self.trusted_documents_only
        return self.production and bool((self.trusted_documents or "").strip())

    @property
    def allows_introspection(self) -> bool:
        """INTROSPECTION, or by default: in development only."""
        return self.introspection if self.introspection is not None else not self.production

    @field_validator("database_url")
    @classmethod
    def _database_is_async(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value
