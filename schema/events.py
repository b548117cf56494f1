"""What `sessionEvents` sends: one event per committed change of a session."""

import uuid
from datetime import datetime
from enum import Enum
from typing import Self

import strawberry

from db.tables import Row
from schema.types import ChatMessage, ChatSessionState, MessageStatus, member


@strawberry.enum(description="What changed in a session.")
class SessionEventKind(Enum):
    MESSAGE = strawberry.enum_value(
        "MESSAGE", description="A message was created or changed: `message` holds it."
    )
    APPENDED = strawberry.enum_value(
        "APPENDED",
        description=(
            "Text was added to a streamed message: `appended` holds the text alone, where it "
            "goes and the message's other changed fields."
        ),
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
        "Text added to the end of a streamed message's content. Apply it to the message at "
        "`sequence` when its content is `offset` long, counted in UTF-16 code units "
        "(JavaScript's `string.length`; in Python, `len(s.encode('utf-16-le')) // 2`): its "
        "content becomes content + `text`. Content of another length means the message was "
        "not followed from the start: take it whole from a `session` query."
    )
)
class MessageDelta:
    message_id: strawberry.ID = strawberry.field(description="The message that grew.")
    offset: int = strawberry.field(
        description="The content's length before this text, in UTF-16 code units."
    )
    text: str = strawberry.field(description="The added text.")
    status: MessageStatus = strawberry.field(
        description="The message's status after it: COMPLETE once the last chunk came."
    )
    deadline: datetime | None = strawberry.field(description="The message's deadline after it.")
    updated_at: datetime = strawberry.field(description="When the text was added.")

    @classmethod
    def from_row(cls, row: Row) -> Self:
        return cls(
            message_id=strawberry.ID(str(row["id"])),
            offset=row["last_chunk_offset"],
            text=row["last_chunk"],
            status=member(MessageStatus, row["status"]),
            deadline=row["deadline"],
            updated_at=row["updated_at"],
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
        default=None,
        description="The message's sequence for MESSAGE and APPENDED events; null for the others.",
    )
    message: ChatMessage | None = strawberry.field(
        default=None, description="MESSAGE: the message in its current state."
    )
    appended: MessageDelta | None = strawberry.field(
        default=None,
        description=(
            "APPENDED: the text added to the message at `sequence` (sent instead of the whole "
            "message to a subscriber that has the message as it was just before)."
        ),
    )
    session: ChatSessionState | None = strawberry.field(
        default=None, description="SESSION: the session's own fields in their current state."
    )

    @classmethod
    def of_message(cls, message: ChatMessage) -> Self:
        return cls(
            kind=SessionEventKind.MESSAGE,
            session_id=message.session_id,
            revision=message.revision,
            sequence=message.sequence,
            message=message,
        )

    @classmethod
    def of_delta(cls, row: Row) -> Self:
        return cls(
            kind=SessionEventKind.APPENDED,
            session_id=strawberry.ID(str(row["session_id"])),
            revision=row["revision"],
            sequence=row["sequence"],
            appended=MessageDelta.from_row(row),
        )

    @classmethod
    def of_session(cls, row: Row) -> Self:
        session = ChatSessionState.from_row(row)
        return cls(
            kind=SessionEventKind.SESSION,
            session_id=session.id,
            revision=session.revision,
            session=session,
        )

    @classmethod
    def deleted(cls, session_id: uuid.UUID, revision: int) -> Self:
        return cls(
            kind=SessionEventKind.DELETED,
            session_id=strawberry.ID(str(session_id)),
            revision=revision,
        )
