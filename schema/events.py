"""What `sessionEvents` sends: one event per committed change of a session."""

import uuid
from enum import Enum
from typing import Self

import strawberry

from db.tables import Row
from schema.types import ChatMessage, ChatSessionState


@strawberry.enum(description="What changed in a session.")
class SessionEventKind(Enum):
    MESSAGE = strawberry.enum_value(
        "MESSAGE", description="A message was created or changed: `message` holds it."
    )
    SESSION = strawberry.enum_value(
        "SESSION",
        description=(
            "The session's own fields changed (title, token totals, JSON fields, message "
            "count, updatedAt): `session` holds them."
        ),
    )
    DELETED = strawberry.enum_value(
        "DELETED", description="The session was deleted; the subscription then completes."
    )


@strawberry.type(
    description=(
        "One committed change of a session. Events come in commit order: by `revision`, and "
        "within a revision the messages by `sequence`, then the session's own fields. To "
        "resume right after an event, subscribe with `afterRevision: revision` and, when "
        "`sequence` is not null, `afterSequence: sequence`."
    )
)
class SessionEvent:
    kind: SessionEventKind = strawberry.field(description="What changed.")
    session_id: strawberry.ID = strawberry.field(description="The session that changed.")
    revision: int = strawberry.field(
        description=(
            "The session revision of this change (for DELETED, the last revision sent before)."
        )
    )
    sequence: int | None = strawberry.field(
        description="The message's sequence for MESSAGE events; null for the others."
    )
    message: ChatMessage | None = strawberry.field(
        description="MESSAGE: the message in its current state."
    )
    session: ChatSessionState | None = strawberry.field(
        description="SESSION: the session's own fields in their current state."
    )

    @classmethod
    def of_message(cls, message: ChatMessage) -> Self:
        return cls(
            kind=SessionEventKind.MESSAGE,
            session_id=message.session_id,
            revision=message.revision,
            sequence=message.sequence,
            message=message,
            session=None,
        )

    @classmethod
    def of_session(cls, row: Row) -> Self:
        session = ChatSessionState.from_row(row)
        return cls(
            kind=SessionEventKind.SESSION,
            session_id=session.id,
            revision=session.revision,
            sequence=None,
            message=None,
            session=session,
        )

    @classmethod
    def deleted(cls, session_id: uuid.UUID, revision: int) -> Self:
        return cls(
            kind=SessionEventKind.DELETED,
            session_id=strawberry.ID(str(session_id)),
            revision=revision,
            sequence=None,
            message=None,
            session=None,
        )
