"""Who may call what: every operation needs a verified identity."""

from typing import Any

from strawberry.permission import BasePermission

from schema.context import Info


class Authenticated(BasePermission):
    """Lets a call through only with a verified identity.

    `Context.caller` raises the precise reason (missing, malformed, expired token), which
    the client then reads as an UNAUTHENTICATED error.
    """

    message = "Missing credentials."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.caller is not None
