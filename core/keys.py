"""Where the keys that verify tokens come from, and the algorithms each source accepts.

The algorithms belong to the source, never to the token: HS256 only with JWT_SECRET, RS256
and ES256 only with the keys of an identity provider's JWKS, `none` with neither. A token
therefore cannot choose how it is checked: an unsigned one, or an HS256 one "signed" with a
provider's published public key as the HMAC secret, finds no source that accepts it.
"""

import logging
from collections.abc import Mapping
from typing import Any, Protocol

import anyio
import anyio.to_thread
from jwt import PyJWK, PyJWKClient, PyJWKClientConnectionError, PyJWTError

from core.errors import InvalidToken

logger = logging.getLogger("chatstore.keys")


class KeySource(Protocol):
    # The algorithms a token verified with this source's keys may use.
    algorithms: tuple[str, ...]
    # How long a token verified once stays trusted without being verified again (its
    # expiry is checked on every use); None: for as long as the process runs.
    trust_seconds: float | None

    async def key_for(self, header: Mapping[str, Any]) -> str | PyJWK:
        """The key that verifies a token with this (unverified) header, or InvalidToken."""
        ...


class SharedSecret:
    """JWT_SECRET: the one HS256 key, shared with whoever mints tokens."""

    algorithms: tuple[str, ...] = ("HS256",)
    trust_seconds: float | None = None

    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def key_for(self, header: Mapping[str, Any]) -> str:
        return self._secret


class KeySet:
    """The signing keys an identity provider publishes at JWT_JWKS_URL, through PyJWT's
    PyJWKClient: the set is kept for `cache_seconds`; a `kid` missing from it fetches the
    set again, at most once per `refresh_seconds` (so tokens with made-up `kid`s cannot
    make the server hammer the provider), which is how a rotated key works without a
    restart. Each key is bound to its own algorithm (an RSA key verifies RS256 only).

    PyJWKClient fetches with urllib, which blocks: each lookup runs in a worker thread,
    one at a time, so a slow provider delays the token checks that need it and never the
    event loop. Lookups are rare: a verified token is remembered (core/identity.py), for
    `cache_seconds`, so a key the provider withdraws stops working within that time.
    """

    algorithms: tuple[str, ...] = ("RS256", "ES256")

    def __init__(
        self, url: str, *, cache_seconds: float, refresh_seconds: float, timeout_seconds: float
    ) -> None:
        self.url = url
        self.trust_seconds: float | None = cache_seconds
        self._client = PyJWKClient(
            url,
            cache_jwk_set=True,
            lifespan=cache_seconds,
            cooldown_duration=refresh_seconds,
            timeout=timeout_seconds,
        )
        self._one_at_a_time = anyio.CapacityLimiter(1)

    async def key_for(self, header: Mapping[str, Any]) -> PyJWK:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("Invalid token: it names no signing key ('kid' header).")
        try:
            return await anyio.to_thread.run_sync(
                self._client.get_signing_key, kid, limiter=self._one_at_a_time
            )
        except PyJWKClientConnectionError as exc:
            logger.warning(
                "The key set at JWT_JWKS_URL (%s) could not be fetched: %s", self.url, exc
            )
            raise InvalidToken(
                "Invalid token: the identity provider's keys could not be fetched; try again."
            ) from exc
        except PyJWTError as exc:
            raise InvalidToken(
                f"Invalid token: no key {kid!r} in the identity provider's key set."
            ) from exc
