"""Message mutations: appends and tool results. Each publishes a hint after its commit."""

import strawberry

from core.errors import BadUserInput
from db import messages as db
from resolvers.arguments import parse_id, require_size, require_storable
from schema.context import Info
from schema.fields import graphql_name, value_fields
from schema.inputs import MessageInput
from schema.types import ChatMessage


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
        },
    )


async def update_tool_result(
    info: Info, session_id: strawberry.ID, tool_call_id: str, content: str
) -> ChatMessage:
    key = parse_id(session_id, "sessionId")
    row = await info.context.database.write(
        db.set_tool_result,
        session_id=key,
        caller=info.context.caller,
        tool_call_id=require_storable(tool_call_id, "toolCallId"),
        content=require_size(
            require_storable(content, "content"), info.context.settings.max_content_bytes, "content"
        ),
    )
    await info.context.events.publish_revision(key, row["revision"])
    return ChatMessage.from_row(row)
