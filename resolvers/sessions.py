"""Session queries and mutations. Each write publishes a hint after its commit."""

from typing import Any

import strawberry

from core.errors import BadUserInput
from db import sessions as db
from resolvers.arguments import (
    parse_id,
    require_non_negative,
    require_object,
    require_storable,
)
from schema.context import Info
from schema.inputs import CreateSessionInput, UpdateSessionInput
from schema.types import ChatSession

MAX_PAGE = 100


async def session(info: Info, id: strawberry.ID) -> ChatSession | None:
    row = await info.context.database.read(
        db.get_session, session_id=parse_id(id, "id"), caller=info.context.caller
    )
    return ChatSession.from_row(row) if row is not None else None


async def sessions(info: Info, limit: int = 50, offset: int = 0) -> list[ChatSession]:
    if not 0 <= limit <= MAX_PAGE:
        raise BadUserInput(f"limit must be between 0 and {MAX_PAGE}, got {limit}.")
    rows = await info.context.database.read(
        db.list_sessions_by_user,
        user_id=info.context.caller.user_id,
        limit=limit,
        offset=require_non_negative(offset, "offset"),
    )
    return [ChatSession.from_row(row) for row in rows]


async def session_count(info: Info) -> int:
    return await info.context.database.read(
        db.count_sessions_by_user, user_id=info.context.caller.user_id
    )


async def create_session(info: Info, input: CreateSessionInput | None = None) -> ChatSession:
    row = await info.context.database.write(
        db.create_session,
        caller=info.context.caller,
        session_id=parse_id(input.id, "input.id") if input and input.id is not None else None,
        title=require_storable(input.title, "input.title") if input else None,
    )
    return ChatSession.from_row(row)


async def update_session(info: Info, id: strawberry.ID, input: UpdateSessionInput) -> ChatSession:
    row = await info.context.database.write(
        db.update_session,
        session_id=parse_id(id, "id"),
        caller=info.context.caller,
        changes=session_changes(input),
    )
    await info.context.events.publish_revision(row["id"], row["revision"])
    return ChatSession.from_row(row)


def session_changes(input: UpdateSessionInput) -> dict[str, Any]:
    """The columns to set: fields left out are skipped, a null title clears it."""
    changes: dict[str, Any] = {}
    if input.title is not strawberry.UNSET:
        changes["title"] = require_storable(input.title, "input.title")
    for field, column, check in (
        ("credentials", "credentials", require_object),
        ("successfulAgentRuns", "successful_agent_runs", require_object),
        ("successfulAgentSchedules", "successful_agent_schedules", require_object),
        ("totalPromptTokens", "total_prompt_tokens", require_non_negative),
        ("totalCompletionTokens", "total_completion_tokens", require_non_negative),
    ):
        value = getattr(input, column)
        if value is strawberry.UNSET:
            continue
        if value is None:
            raise BadUserInput(f"input.{field} cannot be null.")
        changes[column] = require_storable(check(value, f"input.{field}"), f"input.{field}")
    return changes


async def add_token_usage(
    info: Info, session_id: strawberry.ID, prompt_tokens: int, completion_tokens: int
) -> ChatSession:
    row = await info.context.database.write(
        db.add_token_usage,
        session_id=parse_id(session_id, "sessionId"),
        caller=info.context.caller,
        prompt_tokens=require_non_negative(prompt_tokens, "promptTokens"),
        completion_tokens=require_non_negative(completion_tokens, "completionTokens"),
    )
    await info.context.events.publish_revision(row["id"], row["revision"])
    return ChatSession.from_row(row)


async def delete_session(info: Info, id: strawberry.ID) -> bool:
    session_id = parse_id(id, "id")
    deleted = await info.context.database.write(
        db.delete_session, session_id=session_id, caller=info.context.caller
    )
    if deleted:
        await info.context.events.publish_deleted(session_id)
    return deleted
