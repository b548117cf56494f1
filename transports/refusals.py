"""Requests refused before execution, answered as GraphQL errors with a code.

Strawberry refuses a request it cannot run by raising cross_web's HTTPException with a plain
text reason; ours carry a code, and `refusal_response` answers either one as a GraphQL
response body, `{"errors": [{"message": …, "extensions": {"code": …}}]}`.
"""

from collections.abc import Mapping

from cross_web import HTTPException
from starlette.responses import JSONResponse

APPLICATION_JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

# The codes of requests that are not well-formed GraphQL over HTTP (README: Errors).
BAD_REQUEST = "BAD_REQUEST"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
NOT_FOUND = "NOT_FOUND"  # GraphiQL's page, where it is not served
NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
# Well-formed requests that still cannot run: GraphQL request errors (and
# OPERATION_RESOLUTION_FAILURE, schema/operations.py).
SUBSCRIPTION_NOT_SUPPORTED = "SUBSCRIPTION_NOT_SUPPORTED"

# Strawberry refuses with 400 but for methods other than GET and POST.
_METHOD_NOT_ALLOWED = {"Allow": "GET, POST"}


class Refusal(HTTPException):
    """A refusal with a code. `status_code` None marks a GraphQL request error in a
    well-formed request: 200 for `application/json`, 400 for
    `application/graphql-response+json`, as the GraphQL over HTTP spec has it."""

    def __init__(
        self,
        status_code: int | None,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code or 400, message)
        self.request_error = status_code is None
        self.code = code
        self.headers = dict(headers or {})

    @classmethod
    def of(cls, exception: HTTPException) -> "Refusal":
        """`exception` with a code: Strawberry's own are BAD_REQUEST, but for a method
        other than GET and POST."""
        if isinstance(exception, Refusal):
            return exception
        if exception.status_code == 405:
            return cls(405, METHOD_NOT_ALLOWED, exception.reason, _METHOD_NOT_ALLOWED)
        return cls(exception.status_code, BAD_REQUEST, exception.reason)

    def status_for(self, media_type: str) -> int:
        if self.request_error:
            return 400 if media_type == GRAPHQL_RESPONSE_JSON else 200
        return self.status_code


def error_body(message: str, code: str) -> dict[str, object]:
    """A GraphQL response with one error and no `data` (nothing ran)."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def refusal_response(exception: HTTPException, media_type: str = APPLICATION_JSON) -> JSONResponse:
    refusal = Refusal.of(exception)
    return JSONResponse(
        error_body(refusal.reason, refusal.code),
        status_code=refusal.status_for(media_type),
        headers=refusal.headers,
        media_type=media_type,
    )
