"""Who is calling: bearer JWTs (HS256) verified with PyJWT."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

from core.errors import ExpiredToken, InvalidToken, MissingToken

ALGORITHM = "HS256"
SERVICE_ROLE = "service"


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller. A service may act on any user's session."""

    user_id: str
    is_service: bool = False
    expires_at: datetime | None = None


def generate_dev_secret() -> str:
    """A random signing key for a server started without JWT_SECRET."""
    return secrets.token_urlsafe(48)


# How long a token minted here is valid unless the caller says otherwise.
TOKEN_LIFETIME = timedelta(hours=24)


def issue_token(
    secret: str,
    user_id: str,
    *,
    role: str | None = None,
    ttl: timedelta | None = TOKEN_LIFETIME,
) -> str:
    """A signed token for `user_id` that expires after `ttl` (`None`: never), used for the
    dev token and by tests and tools."""
    claims: dict[str, object] = {"sub": user_id, "iat": datetime.now(UTC)}
    if role is not None:
        claims["role"] = role
    if ttl is not None:
        claims["exp"] = datetime.now(UTC) + ttl
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def identity_from_authorization(header: str | None, secret: str) -> Identity:
    """Verify an `Authorization: Bearer <JWT>` value, or raise why not: MissingToken,
    InvalidToken or ExpiredToken."""
    if not header:
        raise MissingToken("Missing credentials: send 'Authorization: Bearer <token>'.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Malformed credentials: expected 'Authorization: Bearer <token>'.")
    return identity_from_token(token.strip(), secret)


def identity_from_token(token: str, secret: str) -> Identity:
    """The token's identity. Its signature and claims are checked once per process (a
    client sends the same token with every request, and verifying a signature is costly).
    Later uses re-check only expiry, the one verdict that time can turn: a token
    whose `nbf` and `iat` have passed once stays past them."""
    identity = _verified_identity(token, secret)
    if identity.expires_at is not None and identity.expires_at <= datetime.now(UTC):
        return _decoded_identity(token, secret)  # raises: the token has expired since
    return identity


def _decoded_identity(token: str, secret: str) -> Identity:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise ExpiredToken("The token has expired: obtain a new one.") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"Invalid token: {exc}.") from exc
    user_id = claims["sub"]
    if not isinstance(user_id, str) or not user_id:
        raise InvalidToken("Invalid token: 'sub' must be a non-empty string.")
    expires = claims.get("exp")
    return Identity(
        user_id=user_id,
        is_service=claims.get("role") == SERVICE_ROLE,
        expires_at=datetime.fromtimestamp(expires, UTC) if expires is not None else None,
    )


# Only successful verifications are kept: lru_cache does not keep what raised.
_verified_identity = lru_cache(maxsize=4096)(_decoded_identity)
