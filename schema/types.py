"""The contract's output types: thin views over database rows."""

import uuid
from datetime import datetime
from enum import Enum
from typing import Any, Self, TypeVar, cast

import strawberry
from strawberry.scalars import JSON

from db.messages import Window
from db.tables import Row
from schema.context import Info
from schema.encoded import EncodedList, json_members
from schema.fields import value_fields

T = TypeVar("T")


@strawberry.enum(description="Who wrote a message, as in the OpenAI chat format.")
class MessageRole(Enum):
    SYSTEM = "SYSTEM"
    DEVELOPER = "DEVELOPER"
    USER = "USER"
    ASSISTANT = "ASSISTANT"
    TOOL = "TOOL"
    FUNCTION = "FUNCTION"


@strawberry.enum(description="Where a message's work stands.")
class MessageStatus(Enum):
    COMPLETE = strawberry.enum_value(
        "COMPLETE",
        description="Whole: what every message appended without a status is.",
    )
    PENDING = strawberry.enum_value(
        "PENDING",
        description=(
            "A tool operation started and has no result yet; `updateToolResult` completes it."
        ),
    )
    STREAMING = strawberry.enum_value(
        "STREAMING",
        description=(
            "Its content is being written: `appendMessageContent` adds to it, and `done: true` "
            "completes it."
        ),
    )
    FAILED = strawberry.enum_value(
        "FAILED",
        description=(
            "It ended without a result: failed by a worker (`failMessage`), or its deadline "
            "passed. `failureReason` says why."
        ),
    )


@strawberry.type(description="One message of a chat session.")
class ChatMessage:
    id: strawberry.ID = strawberry.field(
        description="UUID: the client's `MessageInput.id`, or one the server chose."
    )
    session_id: strawberry.ID = strawberry.field(description="The session the message is in.")
    sequence: int = strawberry.field(
        description="Position in the session, assigned by the server: 0, 1, 2, … with no gaps."
    )
    role: MessageRole = strawberry.field(description="Who wrote the message.")
    content: str | None = strawberry.field(
        description=(
            "The message's text; for a TOOL message, the tool's result (`updateToolResult` "
            "sets it). Null when the message has none."
        )
    )
    name: str | None = strawberry.field(
        description="The author's name, as in the OpenAI chat format; null when not given."
    )
    tool_call_id: str | None = strawberry.field(
        description=(
            "On a TOOL message, the id of the tool call it answers (one TOOL message per id "
            "in a session); null when not given."
        )
    )
    refusal: str | None = strawberry.field(
        description="The assistant's refusal, as in the OpenAI chat format; null when none."
    )
    tool_calls: JSON | None = strawberry.field(
        description=(
            "The assistant's tool calls as the client sent them (OpenAI format: a list of "
            "`{id, type, function: {name, arguments}}`); null when none."
        )
    )
    function_call: JSON | None = strawberry.field(
        description=(
            "The assistant's function call in OpenAI's older format (`{name, arguments}`), as "
            "the client sent it; null when none."
        )
    )
    created_at: datetime = strawberry.field(
        description="When the message was appended (UTC, microseconds), set by the server."
    )
    updated_at: datetime = strawberry.field(
        description=(
            "When the message last changed (UTC, microseconds), set by the server: its "
            "append, or the latest `updateToolResult`."
        )
    )
    revision: int = strawberry.field(
        description="The session revision at this message's last change."
    )
    status: MessageStatus = strawberry.field(
        description="Where the message's work stands: COMPLETE unless it was appended open."
    )
    deadline: datetime | None = strawberry.field(
        description=(
            "For a PENDING or STREAMING message, when the server marks it FAILED if it has "
            "not ended by then; null when there is none, and once it has ended."
        )
    )
    failure_reason: str | None = strawberry.field(
        description="For a FAILED message, why it failed; null otherwise."
    )

    @classmethod
    def from_row(cls, row: Row) -> Self:
        return from_columns(
            cls,
            row,
            id=strawberry.ID(str(row["id"])),
            session_id=strawberry.ID(str(row["session_id"])),
            role=member(MessageRole, row["role"]),
            status=member(MessageStatus, row["status"]),
        )


@strawberry.type(description="A chat session's own fields, without its messages.")
class ChatSessionState:
    id: strawberry.ID = strawberry.field(
        description="UUID: the client's `CreateSessionInput.id`, or one the server chose."
    )
    user_id: strawberry.ID = strawberry.field(
        description="The owner: the `sub` of the token that created the session."
    )
    title: str | None = strawberry.field(description="The session's title; null when none.")
    created_at: datetime = strawberry.field(
        description="When the session was created (UTC, microseconds), set by the server."
    )
    updated_at: datetime = strawberry.field(
        description=(
            "When the session or one of its messages last changed (UTC, microseconds), set by "
            "the server on every write."
        )
    )
    credentials: JSON = strawberry.field(
        description=(
            "The client's credentials for the session: a JSON object, stored as given and "
            "not read by the server; `{}` at creation, replaced whole by `updateSession`."
        )
    )
    successful_agent_runs: JSON = strawberry.field(
        description=(
            "The client's record of successful agent runs: a JSON object, stored as given "
            "and not read by the server; `{}` at creation, replaced whole by `updateSession`."
        )
    )
    successful_agent_schedules: JSON = strawberry.field(
        description=(
            "The client's record of successful agent schedules: a JSON object, stored as "
            "given and not read by the server; `{}` at creation, replaced whole by "
            "`updateSession`."
        )
    )
    total_prompt_tokens: int = strawberry.field(
        description=(
            "Prompt tokens used in the session, as reported by the client: 0 at creation, "
            "grown by `addTokenUsage` or set by `updateSession`."
        )
    )
    total_completion_tokens: int = strawberry.field(
        description=(
            "Completion tokens used in the session, as reported by the client: 0 at creation, "
            "grown by `addTokenUsage` or set by `updateSession`."
        )
    )
    message_count: int = strawberry.field(
        description="How many messages the session has; also the next message's `sequence`."
    )
    revision: int = strawberry.field(
        description="Change counter: grows with every write to the session or its messages."
    )
    key: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: Row) -> Self:
        return from_columns(
            cls,
            row,
            id=strawberry.ID(str(row["id"])),
            user_id=strawberry.ID(str(row["user_id"])),
            key=row["id"],
        )


@strawberry.type(description="A chat session: its metadata and its messages.")
class ChatSession(ChatSessionState):
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
        # The executor may ask for the messages' JSON text instead (schema/encoded.py): each
        # value field of ChatMessage is its column, as `from_row` reads it.
        loaded = await info.context.loaders.message_windows.load(
            (self.key, window, json_members(info))
        )
        if isinstance(loaded, str):
            return EncodedList(loaded)
        return [ChatMessage.from_row(row) for row in loaded]


E = TypeVar("E", bound=Enum)
_MEMBERS: dict[type[Enum], dict[Any, Enum]] = {}


def member(enum: type[E], value: Any) -> E:
    """`enum(value)`, looked up: Enum's own call costs a large share of a long history's
    read, once per message and column."""
    members = _MEMBERS.get(enum)
    if members is None:
        members = _MEMBERS[enum] = {item.value: item for item in enum}
    found = members.get(value)
    return cast(E, found) if found is not None else enum(value)


def from_columns(cls: type[T], row: Row, **converted: Any) -> T:
    """An instance of the Strawberry type `cls` holding, for each value field, `row`'s column
    of the field's name as it is, or the value `converted` gives for it.

    The instance is filled directly instead of through the dataclass `__init__` (these types
    have no `__post_init__`): for a page of a thousand messages, that `__init__` was a large
    share of the read."""
    instance = cls.__new__(cls)
    values = instance.__dict__
    for column in value_fields(cast(type, cls)):
        values[column] = row[column]
    values.update(converted)
    return instance
