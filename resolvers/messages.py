"""Message mutations: appends, tool results, streamed content and failures. Each publishes
a hint after its commit."""

import uuid
from datetime import datetime
from typing import Any

import strawberry

from core.errors import BadUserInput
from db import messages as db
from db import streaming
from db.tables import Row
from resolvers.arguments import parse_id, require_future, require_size, require_storable
from resolvers.subscriptions import answer_from_write
from schema.context import Info
from schema.fields import graphql_name, value_fields
from schema.inputs import MessageInput
from schema.types import ChatMessage, MessageRole, MessageStatus


async def append_message(
    info: Info, session_id: strawberry.ID, message: MessageInput
) -> ChatMessage:
    [stored] = await _append(info, session_id, {"message": message})
    return stored


async def append_messages(
    info: Info, session_id: strawberry.ID, messages: list[MessageInput]
) -> list[ChatMessage]:
    limit = info.context.settings.max_batch_messages
    if len(messages) > limit:
        raise BadUserInput(f"At most {limit} messages per call, got {len(messages)}.")
    return await _append(
        info, session_id, {f"messages[{index}]": message for index, message in enumerate(messages)}
    )


async def _append(
    info: Info, session_id: strawberry.ID, inputs: dict[str, MessageInput]
) -> list[ChatMessage]:
    """Append `inputs` (argument path → message, in order) as one write."""
    key = parse_id(session_id, "sessionId")
    limit = info.context.settings.max_content_bytes
    new = [new_message(message, limit, argument) for argument, message in inputs.items()]
    client_ids = [message.id for message in new if message.id is not None]
    if len(set(client_ids)) < len(client_ids):
        raise BadUserInput("Two of the messages have the same id.")
    rows = await db.append(
        info.context.database, session_id=key, caller=info.context.caller, new=new
    )
    if rows:
        await info.context.events.publish_revision(key, max(row["revision"] for row in rows))
    return [ChatMessage.from_row(row) for row in rows]


# Each column a client gives, with the GraphQL name of the MessageInput field that carries
# it (the attribute named as the column): each is checked for NUL before it is stored.
STORED_FIELDS = {
    column: graphql_name(value_fields(MessageInput)[column]) for column in db.CLIENT_COLUMNS
}


def new_message(message: MessageInput, max_content_bytes: int, argument: str) -> db.NewMessage:
    columns = {
        column: require_storable(getattr(message, column), f"{argument}.{field}")
        for column, field in STORED_FIELDS.items()
    }
    return db.NewMessage(
        id=parse_id(message.id, f"{argument}.id") if message.id is not None else None,
        columns={
            **columns,
            "role": message.role.value,
            "content": require_size(message.content, max_content_bytes, f"{argument}.content"),
            "status": _opening_status(message, argument).value,
            "deadline": require_future(message.deadline, f"{argument}.deadline"),
        },
    )


def _opening_status(message: MessageInput, argument: str) -> MessageStatus:
    """The status a message may be appended with: COMPLETE (the default), PENDING for a TOOL
    message, or STREAMING; a deadline only for the open ones."""
    status = message.status or MessageStatus.COMPLETE
    if status is MessageStatus.FAILED:
        raise BadUserInput(f"{argument}.status cannot be FAILED: a message fails by failMessage.")
    if status is MessageStatus.PENDING and message.role is not MessageRole.TOOL:
        raise BadUserInput(f"{argument}.status PENDING is for TOOL messages.")
    if status is MessageStatus.COMPLETE and message.deadline is not None:
        raise BadUserInput(f"{argument}.deadline is for PENDING or STREAMING messages.")
    return status


async def update_tool_result(
    info: Info, session_id: strawberry.ID, tool_call_id: str, content: str
) -> ChatMessage:
    return await _changed(
        info,
        session_id,
        db.set_tool_result,
        tool_call_id=require_storable(tool_call_id, "toolCallId"),
        content=require_size(
            require_storable(content, "content"), info.context.settings.max_content_bytes, "content"
        ),
    )


async def append_message_content(
    info: Info,
    session_id: strawberry.ID,
    message_id: strawberry.ID,
    text: str,
    done: bool = False,
    deadline: datetime | None = None,
) -> ChatMessage:
    limit = info.context.settings.max_content_bytes
    message_key = parse_id(message_id, "messageId")
    text = require_size(require_storable(text, "text"), limit, "text")
    deadline = require_future(deadline, "deadline")
    key = parse_id(session_id, "sessionId")
    database = info.context.database
    chunked = await streaming.append_chunk(
        database,
        session_id=key,
        caller=info.context.caller,
        message_id=message_key,
        text=text,
        done=done,
        deadline=deadline,
        max_content_bytes=limit,
        # The session's row too, for its subscribers here (answer_from_write).
        with_session=database.answers_from_writes and info.context.events.watched(key),
    )
    if chunked.session is not None:
        answer_from_write(database, key, chunked.session, [chunked.message])
    return await _announced(info, key, chunked.message)


async def fail_message(
    info: Info, session_id: strawberry.ID, message_id: strawberry.ID, reason: str
) -> ChatMessage:
    if not reason.strip():
        raise BadUserInput("reason must say why the operation failed.")
    return await _changed(
        info,
        session_id,
        streaming.fail,
        message_id=parse_id(message_id, "messageId"),
        reason=require_size(
            require_storable(reason, "reason"), info.context.settings.max_content_bytes, "reason"
        ),
    )


async def _changed(
    info: Info, session_id: strawberry.ID, write: Any, **arguments: Any
) -> ChatMessage:
    """The message that `write` changes, in one write on the caller's behalf, announced to
    subscribers after its commit."""
    key = parse_id(session_id, "sessionId")
    row = await info.context.database.write(
        write, session_id=key, caller=info.context.caller, **arguments
    )
    return await _announced(info, key, row)


async def _announced(info: Info, session_id: uuid.UUID, row: Row) -> ChatMessage:
    """The changed message `row`, once its revision is announced to subscribers."""
    await info.context.events.publish_revision(session_id, row["revision"])
    return ChatMessage.from_row(row)
