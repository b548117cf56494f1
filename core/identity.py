"""Who is calling: bearer JWTs verified with PyJWT, against JWT_SECRET (HS256) or the keys
of an identity provider's JWKS (RS256/ES256, core/keys.py), with the user id and the service
role read from the claims the settings name."""

import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from core.errors import ExpiredToken, InvalidToken, MissingToken
from core.keys import KeySet, KeySource, SharedSecret
from core.settings import Settings

ALGORITHM = "HS256"
SERVICE_ROLE = "service"
# Distinct tokens whose verification a process remembers.
REMEMBERED_TOKENS = 4096


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller. A service may act on any user's session."""

    user_id: str
    is_service: bool = False
    expires_at: datetime | None = None


def generate_dev_secret() -> str:
    """A random signing key for a development server started without a key."""
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


def claim(claims: Mapping[str, Any], name: str) -> object:
    """The claim called `name`; failing that, `name` as a dotted path into nested objects
    (`realm_access.roles`). The exact name comes first because claim names may hold dots
    themselves (Auth0's namespaced `https://example.com/roles`)."""
    if name in claims:
        return claims[name]
    value: object = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


@dataclass(frozen=True, slots=True)
class ClaimNames:
    """Which claims carry the user id and the role, and the role that marks a service."""

    user: str = "sub"
    role: str = "role"
    service_role: str = SERVICE_ROLE

    def identity(self, claims: Mapping[str, Any]) -> Identity:
        user_id = claim(claims, self.user)
        if not isinstance(user_id, str) or not user_id:
            raise InvalidToken(
                f"Invalid token: its '{self.user}' claim (the user id) must be a non-empty string."
            )
        role = claim(claims, self.role)
        expires = claims.get("exp")
        try:
            expires_at = datetime.fromtimestamp(expires, UTC) if expires is not None else None
        except (OverflowError, OSError, ValueError) as exc:
            raise InvalidToken("Invalid token: its 'exp' is out of range.") from exc
        return Identity(
            user_id=user_id,
            is_service=role == self.service_role
            or (isinstance(role, list) and self.service_role in role),
            expires_at=expires_at,
        )


class TokenVerifier:
    """Verifies tokens with the key sources' keys, checks the issuer and the audience when
    they are set, and maps the claims to an Identity.

    A verified token is remembered (a client sends the same token with every request, and
    checking a signature is costly): later uses re-check only its expiry, the one verdict
    that time can turn, until the source's `trust_seconds` have passed.
    """

    def __init__(
        self,
        sources: Sequence[KeySource],
        *,
        claims: ClaimNames,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> None:
        self._sources = {algorithm: source for source in sources for algorithm in source.algorithms}
        self._claims = claims
        self._issuer = issuer
        self._audience = audience
        self._verified: OrderedDict[str, tuple[Identity, float]] = OrderedDict()

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(self._sources)

    async def identity(self, token: str) -> Identity:
        """The token's identity, or InvalidToken or ExpiredToken."""
        remembered = self._verified.pop(token, None)
        if remembered is not None:
            identity, trusted_until = remembered
            if identity.expires_at is not None and identity.expires_at <= datetime.now(UTC):
                raise ExpiredToken("The token has expired: obtain a new one.")
            if time.monotonic() < trusted_until:
                self._verified[token] = remembered
                return identity
        identity, source = await self._verify(token)
        trust = source.trust_seconds
        self._verified[token] = (identity, time.monotonic() + trust if trust else float("inf"))
        while len(self._verified) > REMEMBERED_TOKENS:
            self._verified.popitem(last=False)
        return identity

    async def _verify(self, token: str) -> tuple[Identity, KeySource]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"Invalid token: {exc}.") from exc
        algorithm = header.get("alg")
        source = self._sources.get(algorithm) if isinstance(algorithm, str) else None
        if source is None:
            accepted = ", ".join(self._sources)
            raise InvalidToken(
                f"Invalid token: its algorithm {algorithm!r} is not accepted here ({accepted})."
            )
        key = await source.key_for(header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=source.algorithms,
                issuer=self._issuer,
                audience=self._audience,
            )
        except jwt.ExpiredSignatureError as exc:
            raise ExpiredToken("The token has expired: obtain a new one.") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"Invalid token: {exc}.") from exc
        return self._claims.identity(claims), source


def token_verifier(settings: Settings, *, secret: str | None) -> TokenVerifier:
    """The verifier the settings describe; `secret` is JWT_SECRET's value, or the dev key of
    a development server started without any key."""
    sources: list[KeySource] = []
    if secret is not None:
        sources.append(SharedSecret(secret))
    if settings.jwt_jwks_url is not None:
        sources.append(
            KeySet(
                settings.jwt_jwks_url,
                cache_seconds=settings.jwt_jwks_cache_seconds,
                refresh_seconds=settings.jwt_jwks_refresh_seconds,
                timeout_seconds=settings.jwt_jwks_timeout_seconds,
            )
        )
    return TokenVerifier(
        sources,
        claims=ClaimNames(
            user=settings.jwt_user_claim,
            role=settings.jwt_role_claim,
            service_role=settings.jwt_service_role,
        ),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


async def identity_from_authorization(header: str | None, verifier: TokenVerifier) -> Identity:
    """Verify an `Authorization: Bearer <JWT>` value, or raise why not: MissingToken,
    InvalidToken or ExpiredToken. Every transport identifies its callers here."""
    if not header:
        raise MissingToken("Missing credentials: send 'Authorization: Bearer <token>'.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Malformed credentials: expected 'Authorization: Bearer <token>'.")
    return await verifier.identity(token.strip())
