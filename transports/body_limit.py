"""Refuse request bodies over a size limit before they are read into memory."""

from collections.abc import Awaitable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from transports.refusals import PAYLOAD_TOO_LARGE, error_body


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: 413 for a body over `max_bytes`, declared or streamed, with a
    GraphQL error body coded PAYLOAD_TOO_LARGE."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self.refusal()(scope, receive, send)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge
            return message

        # Not a coroutine of its own: it hands on `send`'s, once per message sent.
        def tracking_send(message: Message) -> Awaitable[None]:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            return send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self.refusal()(scope, receive, send)

    def refusal(self) -> JSONResponse:
        """The 413 response; built only for a request that gets it."""
        return JSONResponse(
            error_body(
                f"The request body is over the limit: {self.max_bytes + 1} bytes or more are "
                f"refused (MAX_BODY_BYTES is {self.max_bytes}).",
                PAYLOAD_TOO_LARGE,
            ),
            status_code=413,
        )
