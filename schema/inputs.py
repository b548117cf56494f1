"""The contract's input types. Unset fields are `strawberry.UNSET`, distinct from null."""

import strawberry
from strawberry.scalars import JSON

from schema.types import MessageRole


@strawberry.input(description="A new chat session.")
class CreateSessionInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "Optional client-chosen UUID; repeating the call with the same id returns the "
            "stored session."
        ),
    )
    title: str | None = None


@strawberry.input(
    description=(
        "Changes to a session's metadata. Fields left out keep their value; null clears "
        "`title` and is refused for the others."
    )
)
class UpdateSessionInput:
    title: str | None = strawberry.UNSET
    credentials: JSON | None = strawberry.UNSET
    successful_agent_runs: JSON | None = strawberry.UNSET
    successful_agent_schedules: JSON | None = strawberry.UNSET
    total_prompt_tokens: int | None = strawberry.UNSET
    total_completion_tokens: int | None = strawberry.UNSET


@strawberry.input(description="A message to append; the server assigns its sequence.")
class MessageInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "Optional client-chosen UUID; repeating an append with the same id returns the "
            "stored message."
        ),
    )
    role: MessageRole
    content: str | None = None
    name: str | None = None
    tool_call_id: str | None = None
    refusal: str | None = None
    tool_calls: JSON | None = None
    function_call: JSON | None = None
