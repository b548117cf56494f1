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
    code = "UNAUTHENTICATED"
