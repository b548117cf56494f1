"""The root types: which resolver answers each field, and who may call it."""

from collections.abc import AsyncGenerator

import strawberry
from strawberry.permission import BasePermission

import resolvers.messages
import resolvers.sessions
import resolvers.subscriptions
from schema.events import SessionEvent
from schema.permissions import Authenticated
from schema.types import ChatMessage, ChatSession

guarded: list[type[BasePermission]] = [Authenticated]


@strawberry.type
class Query:
    session: ChatSession | None = strawberry.field(
        resolver=resolvers.sessions.session,
        permission_classes=guarded,
        description=(
            "The caller's session, or null when it does not exist or belongs to another user."
        ),
    )
    sessions: list[ChatSession] = strawberry.field(
        resolver=resolvers.sessions.sessions,
        permission_classes=guarded,
        description="The caller's sessions, most recently updated first (limit 0..100).",
    )
    session_count: int = strawberry.field(
        resolver=resolvers.sessions.session_count,
        permission_classes=guarded,
        description="How many sessions the caller has.",
    )


@strawberry.type
class Mutation:
    create_session: ChatSession = strawberry.mutation(
        resolver=resolvers.sessions.create_session,
        permission_classes=guarded,
        description="Creates a session owned by the caller; with `input.id`, a safe retry.",
    )
    update_session: ChatSession = strawberry.mutation(
        resolver=resolvers.sessions.update_session,
        permission_classes=guarded,
        description="Changes a session's metadata; fields left out keep their value.",
    )
    add_token_usage: ChatSession = strawberry.mutation(
        resolver=resolvers.sessions.add_token_usage,
        permission_classes=guarded,
        description=(
            "Adds to the session's token totals atomically (concurrent calls never lose a count)."
        ),
    )
    append_message: ChatMessage = strawberry.mutation(
        resolver=resolvers.messages.append_message,
        permission_classes=guarded,
        description="Appends one message at the end of the session.",
    )
    append_messages: list[ChatMessage] = strawberry.mutation(
        resolver=resolvers.messages.append_messages,
        permission_classes=guarded,
        description="Appends the messages in order, all or none.",
    )
    update_tool_result: ChatMessage = strawberry.mutation(
        resolver=resolvers.messages.update_tool_result,
        permission_classes=guarded,
        description=(
            "Sets the content of the tool message answering toolCallId, and notifies subscribers."
        ),
    )
    append_message_content: ChatMessage = strawberry.mutation(
        resolver=resolvers.messages.append_message_content,
        permission_classes=guarded,
        description=(
            "Adds `text` to the end of a STREAMING message, as one write with its own revision "
            "(committed before it is acknowledged); `done: true` makes it COMPLETE, and "
            "`deadline` moves its deadline on. NOT_FOUND for a message that is not in the "
            "caller's session; CONFLICT for one that is not STREAMING."
        ),
    )
    fail_message: ChatMessage = strawberry.mutation(
        resolver=resolvers.messages.fail_message,
        permission_classes=guarded,
        description=(
            "Ends a PENDING or STREAMING message as FAILED with `reason` (CONFLICT for one "
            "that has ended)."
        ),
    )
    delete_session: bool = strawberry.mutation(
        resolver=resolvers.sessions.delete_session,
        permission_classes=guarded,
        description="True when the caller's session was deleted, with all its messages.",
    )


@strawberry.type
class Subscription:
    tool_message_updated: AsyncGenerator[ChatMessage, None] = strawberry.subscription(
        resolver=resolvers.subscriptions.tool_message_updated,
        permission_classes=guarded,
        description=(
            "Tool messages of the session as they are created or change; with afterRevision,\n"
            "first those changed after that revision, then live, with no gap and no duplicate.\n"
            "With afterSequence too, the resume point is exact within a revision: messages of\n"
            "revision afterRevision with a higher sequence are sent as well."
        ),
    )
    session_events: AsyncGenerator[SessionEvent, None] = strawberry.subscription(
        resolver=resolvers.subscriptions.session_events,
        permission_classes=guarded,
        description=(
            "Every committed change of the session, in commit order: messages of any role\n"
            "created or changed, the session's own fields changed, and its deletion (then the\n"
            "subscription completes). With afterRevision (and afterSequence), first everything\n"
            "changed after that point, once, in its current state, then live, with no gap and\n"
            "no duplicate; without them, live only. Resume with the revision and sequence of\n"
            "the last event received (afterSequence left out when its sequence was null)."
        ),
    )
