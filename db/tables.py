"""The two tables, with the constraints that keep the contract's promises in the database."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

# A message's status (db/streaming.py says what each means).
COMPLETE, PENDING, STREAMING, FAILED = "COMPLETE", "PENDING", "STREAMING", "FAILED"
OPEN = (PENDING, STREAMING)
OPEN_WITH_DEADLINE = "status IN ('PENDING', 'STREAMING') AND deadline IS NOT NULL"


def json_column(*, nullable: bool) -> Any:
    """JSONB on PostgreSQL, JSON text elsewhere; SQL NULL (not JSON null) for None."""
    return Column(
        JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql"),
        nullable=nullable,
    )


class ChatSessionTable(SQLModel, table=True):
    __tablename__ = "chat_session"
    __table_args__ = (Index("ix_chat_session_user_updated", "user_id", "updated_at", "id"),)

    id: uuid.UUID = Field(primary_key=True)
    user_id: str = Field(max_length=255)
    title: str | None = Field(default=None, sa_type=Text)
    created_at: datetime
    updated_at: datetime
    credentials: dict[str, Any] = Field(sa_column=json_column(nullable=False))
    successful_agent_runs: dict[str, Any] = Field(sa_column=json_column(nullable=False))
    successful_agent_schedules: dict[str, Any] = Field(sa_column=json_column(nullable=False))
    total_prompt_tokens: int = Field(default=0, sa_type=BigInteger)
    total_completion_tokens: int = Field(default=0, sa_type=BigInteger)
    # Also the next sequence number: messages are only ever appended, so they are 0..n-1.
    message_count: int = 0
    revision: int = Field(default=0, sa_type=BigInteger)


class ChatMessageTable(SQLModel, table=True):
    __tablename__ = "chat_message"
    __table_args__ = (
        UniqueConstraint("session_id", "sequence", name="uq_chat_message_session_sequence"),
        Index("ix_chat_message_session_revision", "session_id", "revision"),
        Index(
            "uq_chat_message_session_tool_call",
            "session_id",
            "tool_call_id",
            unique=True,
            postgresql_where=text("role = 'TOOL'"),
            sqlite_where=text("role = 'TOOL'"),
        ),
        # The operations still running, by when they must end (db.messages.expire_overdue).
        Index(
            "ix_chat_message_open_deadline",
            "deadline",
            postgresql_where=text(OPEN_WITH_DEADLINE),
            sqlite_where=text(OPEN_WITH_DEADLINE),
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    session_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("chat_session.id", ondelete="CASCADE"), nullable=False)
    )
    sequence: int
    role: str = Field(max_length=16)
    content: str | None = Field(default=None, sa_type=Text)
    name: str | None = Field(default=None, sa_type=Text)
    tool_call_id: str | None = Field(default=None, sa_type=Text)
    refusal: str | None = Field(default=None, sa_type=Text)
    tool_calls: Any = Field(default=None, sa_column=json_column(nullable=True))
    function_call: Any = Field(default=None, sa_column=json_column(nullable=True))
    # COMPLETE, PENDING (a tool operation started), STREAMING (content being written) or
    # FAILED (ended without a result: failure_reason says why).
    status: str = Field(default="COMPLETE", max_length=16)
    deadline: datetime | None = None
    failure_reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime
    updated_at: datetime
    revision: int = Field(sa_type=BigInteger)
    # A streamed message's content length in UTF-16 code units (JavaScript's string length).
    content_units: int | None = Field(default=None, sa_type=BigInteger)
    # The last appendMessageContent's text, the content length (UTF-16 code units) it was
    # appended at, and the message's revision before it: what a subscriber that had that
    # revision needs instead of the whole content. Null after any other change.
    last_chunk: str | None = Field(default=None, sa_type=Text)
    last_chunk_offset: int | None = Field(default=None, sa_type=BigInteger)
    previous_revision: int | None = Field(default=None, sa_type=BigInteger)


Row = Mapping[Any, Any]
"""A row as read (a SQLAlchemy RowMapping) or as written (a dict of column values)."""

sessions = ChatSessionTable.__table__  # type: ignore[attr-defined]
messages = ChatMessageTable.__table__  # type: ignore[attr-defined]
