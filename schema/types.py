"""The contract's output types: thin views over database rows."""

import uuid
from datetime import datetime
from enum import Enum
from typing import Self

import strawberry
from strawberry.scalars import JSON

from db.messages import Window
from db.tables import Row
from schema.context import Info


@strawberry.enum(description="Who wrote a message, as in the OpenAI chat format.")
class MessageRole(Enum):
    SYSTEM = "SYSTEM"
    DEVELOPER = "DEVELOPER"
    USER = "USER"
    ASSISTANT = "ASSISTANT"
    TOOL = "TOOL"
    FUNCTION = "FUNCTION"


@strawberry.type(description="One message of a chat session.")
class ChatMessage:
    id: strawberry.ID
    session_id: strawberry.ID
    sequence: int = strawberry.field(
        description="Position in the session, assigned by the server: 0, 1, 2, … with no gaps."
    )
    role: MessageRole
    content: str | None
    name: str | None
    tool_call_id: str | None
    refusal: str | None
    tool_calls: JSON | None
    function_call: JSON | None
    created_at: datetime
    updated_at: datetime
    revision: int = strawberry.field(
        description="The session revision at this message's last change."
    )

    @classmethod
    def from_row(cls, row: Row) -> Self:
        return cls(
            id=strawberry.ID(str(row["id"])),
            session_id=strawberry.ID(str(row["session_id"])),
            sequence=row["sequence"],
            role=MessageRole(row["role"]),
            content=row["content"],
            name=row["name"],
            tool_call_id=row["tool_call_id"],
            refusal=row["refusal"],
            tool_calls=row["tool_calls"],
            function_call=row["function_call"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            revision=row["revision"],
        )


@strawberry.type(description="A chat session: its metadata and its messages.")
class ChatSession:
    id: strawberry.ID
    user_id: strawberry.ID
    title: str | None
    created_at: datetime
    updated_at: datetime
    credentials: JSON
    successful_agent_runs: JSON
    successful_agent_schedules: JSON
    total_prompt_tokens: int
    total_completion_tokens: int
    message_count: int
    revision: int = strawberry.field(
        description="Change counter: grows with every write to the session or its messages."
    )
    key: strawberry.Private[uuid.UUID]

    @strawberry.field(
        description=(
            "Messages in ascending sequence order. `afterSequence` and `beforeSequence` are "
            "exclusive bounds; `first: n` keeps the lowest n of that window, `last: n` the "
            "highest n (a chat's latest page). At most one of `first` and `last`."
        )
    )
    async def messages(
        self,
        info: Info,
        after_sequence: int | None = None,
        before_sequence: int | None = None,
        first: int | None = None,
        last: int | None = None,
    ) -> list[ChatMessage]:
        window = Window(
            after_sequence=after_sequence, before_sequence=before_sequence, first=first, last=last
        )
        rows = await info.context.loaders.message_windows.load((self.key, window))
        return [ChatMessage.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: Row) -> Self:
        return cls(
            id=strawberry.ID(str(row["id"])),
            key=row["id"],
            user_id=strawberry.ID(row["user_id"]),
            title=row["title"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            credentials=row["credentials"],
            successful_agent_runs=row["successful_agent_runs"],
            successful_agent_schedules=row["successful_agent_schedules"],
            total_prompt_tokens=row["total_prompt_tokens"],
            total_completion_tokens=row["total_completion_tokens"],
            message_count=row["message_count"],
            revision=row["revision"],
        )
