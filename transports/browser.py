"""What a browser gets: the chat client and GraphiQL, built from `web/` and served from here.

Nothing comes from a CDN, so both work offline, on a locked-down network and under the strict
Content-Security-Policy sent with every page.
"""

from pathlib import Path

from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from transports.checkout import from_checkout

WEB_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"

# Scripts, styles, fonts and connections (WebSocket included) only from this origin. Inline
# styles stay allowed: GraphiQL's editor and panes position elements with style attributes.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
}


def playground_page() -> HTMLResponse:
    """GraphiQL's page; its assets are under /app/assets/ (read per request: it is 1 kB)."""
    return HTMLResponse((WEB_DIST / "playground.html").read_text(), headers=SECURITY_HEADERS)


class WebAssets(StaticFiles):
    """`web/dist` under /app: the chat client at /app/ and the assets of both pages."""

    def __init__(self) -> None:
        super().__init__(directory=from_checkout(WEB_DIST), html=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response
