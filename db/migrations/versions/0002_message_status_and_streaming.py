"""message status, deadlines and streamed content

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_WITH_DEADLINE = "status IN ('PENDING', 'STREAMING') AND deadline IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("chat_message") as table:
        table.add_column(
            sa.Column("status", AutoString(length=16), nullable=False, server_default="COMPLETE")
        )
        table.add_column(sa.Column("deadline", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("failure_reason", sa.Text(), nullable=True))
        table.add_column(sa.Column("content_units", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("last_chunk", sa.Text(), nullable=True))
        table.add_column(sa.Column("last_chunk_offset", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("previous_revision", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_chat_message_open_deadline",
        "chat_message",
        ["deadline"],
        postgresql_where=sa.text(OPEN_WITH_DEADLINE),
        sqlite_where=sa.text(OPEN_WITH_DEADLINE),
    )


def downgrade() -> None:
    op.drop_index("ix_chat_message_open_deadline", table_name="chat_message")
    with op.batch_alter_table("chat_message") as table:
        for column in (
            "previous_revision",
            "last_chunk_offset",
            "last_chunk",
            "content_units",
            "failure_reason",
            "deadline",
            "status",
        ):
            table.drop_column(column)
