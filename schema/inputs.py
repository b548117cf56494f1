"""The contract's input types. Unset fields are `strawberry.UNSET`, distinct from null."""

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from schema.types import MessageRole, MessageStatus


@strawberry.input(description="A new chat session.")
class CreateSessionInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "Optional client-chosen UUID; repeating the call with the same id returns the "
            "stored session."
        ),
    )
    title: str | None = strawberry.field(
        default=None, description="The session's title; null or left out for none."
    )


@strawberry.input(
    description=(
        "Changes to a session's metadata. Fields left out keep their value; null clears "
        "`title` and is refused for the others."
    )
)
class UpdateSessionInput:
    title: str | None = strawberry.field(
        default=strawberry.UNSET, description="The new title; null clears it."
    )
    credentials: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces `credentials` whole: a JSON object (`{}` empties it).",
    )
    successful_agent_runs: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces `successfulAgentRuns` whole: a JSON object (`{}` empties it).",
    )
    successful_agent_schedules: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces `successfulAgentSchedules` whole: a JSON object (`{}` empties it).",
    )
    total_prompt_tokens: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Sets `totalPromptTokens`: a whole number ≥ 0 (`addTokenUsage` adds to it instead)."
        ),
    )
    total_completion_tokens: int | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "Sets `totalCompletionTokens`: a whole number ≥ 0 (`addTokenUsage` adds to it instead)."
        ),
    )


@strawberry.input(description="A message to append; the server assigns its sequence.")
class MessageInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "Optional client-chosen UUID; repeating an append with the same id returns the "
            "stored message."
        ),
    )
    role: MessageRole = strawberry.field(description="Who wrote the message.")
    content: str | None = strawberry.field(
        default=None,
        description=(
            "The message's text, at most MAX_CONTENT_BYTES of UTF-8 (24 MiB by default); for "
            "a TOOL message, the tool's result (`updateToolResult` can set it later)."
        ),
    )
    name: str | None = strawberry.field(
        default=None, description="The author's name, as in the OpenAI chat format."
    )
    tool_call_id: str | None = strawberry.field(
        default=None,
        description=(
            "On a TOOL message, the id of the tool call it answers; a second TOOL message for "
            "the same id in a session is refused (CONFLICT)."
        ),
    )
    refusal: str | None = strawberry.field(
        default=None, description="The assistant's refusal, as in the OpenAI chat format."
    )
    tool_calls: JSON | None = strawberry.field(
        default=None,
        description=(
            "The assistant's tool calls in OpenAI format (a list of `{id, type, function: "
            "{name, arguments}}`), stored as given."
        ),
    )
    function_call: JSON | None = strawberry.field(
        default=None,
        description=(
            "The assistant's function call in OpenAI's older format (`{name, arguments}`), "
            "stored as given."
        ),
    )
    status: MessageStatus | None = strawberry.field(
        default=None,
        description=(
            "COMPLETE when left out. PENDING (TOOL messages only) for an operation that has "
            "started, STREAMING for content still being written; FAILED is refused."
        ),
    )
    deadline: datetime | None = strawberry.field(
        default=None,
        description=(
            "For a PENDING or STREAMING message: when the server marks it FAILED if it has not "
            "ended by then. Must be in the future."
        ),
    )
