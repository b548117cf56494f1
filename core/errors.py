"""Errors a client can act on, each with the code it is reported under.

The database and resolver layers raise these; the GraphQL layer turns them into
errors with `extensions.code`. Anything else that escapes is unexpected and masked.
"""


class ClientError(Exception):
    """A failure caused by the request, reported to the client as it is."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadUserInput(ClientError):
    code = "BAD_USER_INPUT"


class NotFound(ClientError):
    code = "NOT_FOUND"


class Conflict(ClientError):
    code = "CONFLICT"


class Unauthenticated(ClientError):
    """No verified identity. `reason` says which of the three kinds, in the words a
    WebSocket close reason carries ("Forbidden: token expired")."""

    code = "UNAUTHENTICATED"
    reason = "missing token"


class MissingToken(Unauthenticated):
    reason = "missing token"


class InvalidToken(Unauthenticated):
    """A token that is malformed, wrongly signed, or lacks a claim it needs."""

    reason = "invalid token"


class ExpiredToken(Unauthenticated):
    reason = "token expired"
