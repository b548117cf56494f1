"""Tokens from identity providers: RS256 and ES256 tokens verified against the provider's
key set (JWKS), served here by a small HTTP server of the test's own, whose requests it
counts; keys rotated without a restart, unknown keys refused at a bounded cost, issuer and
audience checked, no way for a token to choose its own verification, and the claims of
two providers' shapes mapped to a user id and the service role."""

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.clients import Api, create_session, new_user, token_for, websocket
from tests.servers import RunningServer, running_server

ISSUER = "https://id.example.test/realms/chat"
AUDIENCE = "chatstore"
SESSION_COUNT = "{ sessionCount }"
SHARED_SECRET = "a-shared-secret-that-is-long-enough-for-hs256"


class IdentityProvider:
    """Signing keys, the key set it publishes over HTTP at `url` (from a thread of its
    own), and tokens signed with those keys."""

    def __init__(self) -> None:
        self.private: dict[str, Any] = {}
        self.algorithm: dict[str, str] = {}
        self.jwks: dict[str, dict[str, Any]] = {}
        self.published: list[str] = []
        self.requests = 0
        self.delay = 0.0
        self.url = ""

    def new_key(self, algorithm: str) -> str:
        """A new key's id; it is not published until `publish` says so."""
        kid = f"{algorithm.lower()}-{uuid.uuid4().hex[:8]}"
        if algorithm == "RS256":
            private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        else:
            private = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        self.private[kid] = private
        self.algorithm[kid] = algorithm
        self.jwks[kid] = {**jwk, "kid": kid, "use": "sig", "alg": algorithm}
        return kid

    def publish(self, *kids: str) -> None:
        self.published = list(kids)

    def public_pem(self, kid: str) -> bytes:
        return (
            self.private[kid]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def token(
        self,
        kid: str,
        user: str | None = None,
        *,
        algorithm: str | None = None,
        claims: dict[str, Any] | None = None,
        **named: Any,
    ) -> str:
        """A token from this provider, with `claims` (by any name) and `named` (None: left
        out) beside the defaults."""
        now = datetime.now(UTC)
        payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + timedelta(minutes=5)}
        payload.update(claims or {}, **named)
        if user is not None:
            payload["sub"] = user
        return jwt.encode(
            {name: value for name, value in payload.items() if value is not None},
            self.private[kid],
            algorithm=algorithm or self.algorithm[kid],
            headers={"kid": kid},
        )

    def key_set(self) -> bytes:
        self.requests += 1
        time.sleep(self.delay)
        return json.dumps({"keys": [self.jwks[kid] for kid in self.published]}).encode()


@contextmanager
def serving(provider: IdentityProvider) -> Iterator[IdentityProvider]:
    class KeySetHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = provider.key_set()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeySetHandler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


@asynccontextmanager
async def provider_server(
    tmp_path: Path, provider: IdentityProvider, **settings: Any
) -> AsyncIterator[tuple[RunningServer, httpx.AsyncClient]]:
    """A server trusting `provider`'s keys alone (no JWT_SECRET unless `settings` set one)."""
    config: dict[str, Any] = {
        "jwt_secret": None,
        "jwt_jwks_url": provider.url,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}",
        **settings,
    }
    async with (
        running_server(**config) as server,
        httpx.AsyncClient(base_url=server.http_url, timeout=30) as http,
    ):
        yield server, http


async def refusal(http: httpx.AsyncClient, token: str) -> str:
    """The message of the UNAUTHENTICATED refusal that `token` must get."""
    error = await Api(http, token).error(SESSION_COUNT)
    assert error["extensions"]["code"] == "UNAUTHENTICATED", error
    return error["message"]


async def accepted(http: httpx.AsyncClient, token: str) -> None:
    assert await Api(http, token).data(SESSION_COUNT) == {"sessionCount": 0}


async def test_rs256_and_es256_tokens_signed_with_the_providers_keys_are_accepted(
    tmp_path: Path,
):
    provider = IdentityProvider()
    rsa_kid, ec_kid = provider.new_key("RS256"), provider.new_key("ES256")
    provider.publish(rsa_kid, ec_kid)
    with serving(provider):
        async with provider_server(tmp_path, provider) as (server, http):
            for kid in (rsa_kid, ec_kid):
                user = new_user()
                api = Api(http, provider.token(kid, user))
                assert (await api.data(SESSION_COUNT)) == {"sessionCount": 0}
                created = await api.data("mutation { createSession { userId } }")
                assert created["createSession"]["userId"] == user
            # The WebSocket's connection_init goes through the same verification.
            async with websocket(server.ws_url) as subscriber:
                ack = await subscriber.init(provider.token(ec_kid, new_user()))
                assert ack["type"] == "connection_ack", ack
            # Keys were fetched once, and verified tokens are remembered.
            assert provider.requests == 1


async def test_jwks_and_jwt_secret_together_each_verify_their_own_algorithm(tmp_path: Path):
    """During a move from JWT_SECRET to a provider both work, each for its algorithm only."""
    provider = IdentityProvider()
    kid = provider.new_key("RS256")
    provider.publish(kid)
    with serving(provider):
        async with provider_server(tmp_path, provider, jwt_secret=SHARED_SECRET) as (_, http):
            worker = {"sub": "worker", "iss": ISSUER, "aud": AUDIENCE}
            await accepted(http, jwt.encode(worker, SHARED_SECRET, algorithm="HS256"))
            await accepted(http, provider.token(kid, new_user()))
            hs256_with_public_key = hmac_token(provider.public_pem(kid), {"sub": "mallory"}, kid)
            assert "Signature verification failed" in await refusal(http, hs256_with_public_key)


def hmac_token(key: bytes, claims: dict[str, Any], kid: str) -> str:
    """An HS256 token made by hand (PyJWT refuses to use a public key as an HMAC secret)."""

    def encode(part: bytes) -> str:
        return base64.urlsafe_b64encode(part).rstrip(b"=").decode()

    header = encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = encode(json.dumps(claims).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{encode(signature)}"


async def test_a_rotated_key_works_without_a_restart_and_a_withdrawn_one_stops(tmp_path: Path):
    provider = IdentityProvider()
    old = provider.new_key("RS256")
    provider.publish(old)
    with serving(provider):
        async with provider_server(
            tmp_path, provider, jwt_jwks_refresh_seconds=0.2, jwt_jwks_cache_seconds=1.0
        ) as (_, http):
            seen = provider.token(old, new_user())
            await accepted(http, seen)
            new = provider.new_key("ES256")
            provider.publish(new)  # the provider rotates: the old key is withdrawn
            await asyncio.sleep(0.3)  # past the least time between two fetches
            await accepted(http, provider.token(new, new_user()))
            assert provider.requests == 2
            assert "no key" in await refusal(http, provider.token(old, new_user()))
            # A token verified before the rotation holds only while the set is cached.
            await asyncio.sleep(1.1)
            assert "no key" in await refusal(http, seen)


async def test_unknown_kids_are_refused_and_refetch_the_key_set_at_a_bounded_rate(
    tmp_path: Path,
):
    provider = IdentityProvider()
    kid = provider.new_key("ES256")
    provider.publish(kid)
    stranger = IdentityProvider()
    with serving(provider):
        async with provider_server(tmp_path, provider, jwt_jwks_refresh_seconds=1.0) as (_, http):
            await accepted(http, provider.token(kid, new_user()))
            assert provider.requests == 1
            unknown = [stranger.new_key("ES256") for _ in range(3)]
            tokens = [stranger.token(other, new_user()) for other in unknown for _ in range(7)]
            messages = await asyncio.gather(*(refusal(http, token) for token in tokens))
            assert all("no key" in message for message in messages), messages
            # Within a second of the last fetch, 21 tokens with unknown kids fetched nothing.
            assert provider.requests == 1
            await asyncio.sleep(1.1)
            await refusal(http, stranger.token(unknown[0], new_user()))
            assert provider.requests == 2  # once the time has passed, one fetch


async def test_issuer_and_audience_are_checked(tmp_path: Path):
    provider = IdentityProvider()
    kid = provider.new_key("RS256")
    provider.publish(kid)
    with serving(provider):
        async with provider_server(tmp_path, provider) as (_, http):
            user = new_user()
            assert "issuer" in (
                await refusal(http, provider.token(kid, user, iss="https://other.example.test"))
            )
            assert "iss" in await refusal(http, provider.token(kid, user, iss=None))
            assert "udience" in await refusal(http, provider.token(kid, user, aud="other-api"))
            assert "aud" in await refusal(http, provider.token(kid, user, aud=None))
            await accepted(http, provider.token(kid, user, aud=["other-api", AUDIENCE]))


async def test_a_token_cannot_choose_how_it_is_verified(tmp_path: Path):
    provider = IdentityProvider()
    rsa_kid, ec_kid = provider.new_key("RS256"), provider.new_key("ES256")
    provider.publish(rsa_kid, ec_kid)
    claims = {"sub": "mallory", "iss": ISSUER, "aud": AUDIENCE}
    with serving(provider):
        async with provider_server(tmp_path, provider) as (_, http):
            unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": rsa_kid})
            assert "'none' is not accepted" in await refusal(http, unsigned)
            # The public key, which anyone can fetch, as an HMAC secret.
            with_public_key = hmac_token(provider.public_pem(rsa_kid), claims, rsa_kid)
            assert "'HS256' is not accepted" in await refusal(http, with_public_key)
            # The JWT_SECRET of the tests' other servers means nothing here.
            assert "'HS256' is not accepted" in await refusal(http, token_for("mallory"))
            # Signed with the EC key, but naming the RSA key: each key has one algorithm.
            crossed = jwt.encode(
                claims, provider.private[ec_kid], algorithm="ES256", headers={"kid": rsa_kid}
            )
            assert "does not match the key's algorithm" in await refusal(http, crossed)
            relabelled = jwt.encode(
                claims, provider.private[rsa_kid], algorithm="PS256", headers={"kid": rsa_kid}
            )
            assert "'PS256' is not accepted" in await refusal(http, relabelled)
            assert "kid" in await refusal(
                http, jwt.encode(claims, provider.private[rsa_kid], algorithm="RS256")
            )


async def test_an_unreachable_key_set_refuses_tokens_with_a_reason(tmp_path: Path):
    provider = IdentityProvider()
    kid = provider.new_key("RS256")
    with serving(provider):
        closed_url = provider.url
    provider.url = closed_url  # nothing listens there any more
    async with provider_server(tmp_path, provider) as (_, http):
        assert "could not be fetched" in await refusal(http, provider.token(kid, new_user()))


async def test_fetching_the_key_set_does_not_hold_up_other_requests(tmp_path: Path):
    provider = IdentityProvider()
    kid = provider.new_key("ES256")
    provider.publish(kid)
    provider.delay = 1.0
    with serving(provider):
        async with provider_server(tmp_path, provider) as (_, http):
            waiting = asyncio.create_task(accepted(http, provider.token(kid, new_user())))
            await asyncio.sleep(0.2)
            started = time.monotonic()
            assert (await http.get("/healthz")).status_code == 200
            assert time.monotonic() - started < 0.5
            assert not waiting.done()
            await waiting


async def service_can_read(http: httpx.AsyncClient, token: str, session_id: str) -> bool:
    data = await Api(http, token).data(
        "query($id: ID!) { session(id: $id) { id } }", {"id": session_id}
    )
    return data["session"] is not None


async def test_keycloak_claims_realm_roles_mark_the_service(tmp_path: Path):
    """Keycloak: the user id in `sub`, realm roles in the list `realm_access.roles`."""
    provider = IdentityProvider()
    kid = provider.new_key("RS256")
    provider.publish(kid)
    with serving(provider):
        async with provider_server(
            tmp_path,
            provider,
            jwt_role_claim="realm_access.roles",
            jwt_service_role="chatstore-service",
        ) as (_, http):
            owner = Api(http, provider.token(kid, new_user()))
            session_id = (await create_session(owner))["id"]

            def keycloak_token(roles: list[str]) -> str:
                return provider.token(
                    kid,
                    new_user(),
                    realm_access={"roles": roles},
                    resource_access={"account": {"roles": ["chatstore-service"]}},
                    preferred_username="worker",
                )

            assert await service_can_read(
                http, keycloak_token(["offline_access", "chatstore-service"]), session_id
            )
            assert not await service_can_read(
                http, keycloak_token(["offline_access", "uma_authorization"]), session_id
            )


async def test_auth0_claims_a_namespaced_roles_claim_marks_the_service(tmp_path: Path):
    """Auth0: roles in a namespaced custom claim (its name is a URL, dots and all); a
    machine-to-machine token's `sub` is `<client id>@clients`."""
    provider = IdentityProvider()
    kid = provider.new_key("RS256")
    provider.publish(kid)
    roles = "https://chatstore.example.com/roles"
    with serving(provider):
        async with provider_server(
            tmp_path, provider, jwt_role_claim=roles, jwt_service_role="service"
        ) as (_, http):
            owner = Api(http, provider.token(kid, f"auth0|{uuid.uuid4().hex}"))
            session_id = (await create_session(owner))["id"]
            machine = provider.token(
                kid, "abc123@clients", gty="client-credentials", claims={roles: ["service"]}
            )
            assert await service_can_read(http, machine, session_id)
            person = provider.token(kid, f"auth0|{uuid.uuid4().hex}", claims={roles: ["editor"]})
            assert not await service_can_read(http, person, session_id)
            # A plain `role` claim means nothing once the role claim is elsewhere.
            assert not await service_can_read(
                http, provider.token(kid, new_user(), role="service"), session_id
            )


async def test_the_user_id_claim_is_the_one_the_settings_name(tmp_path: Path):
    provider = IdentityProvider()
    kid = provider.new_key("ES256")
    provider.publish(kid)
    with serving(provider):
        async with provider_server(tmp_path, provider, jwt_user_claim="app_metadata.user_id") as (
            _,
            http,
        ):
            api = Api(http, provider.token(kid, "ignored", app_metadata={"user_id": "u-42"}))
            created = await api.data("mutation { createSession { userId } }")
            assert created["createSession"]["userId"] == "u-42"
            message = await refusal(http, provider.token(kid, "only-sub"))
            assert "'app_metadata.user_id' claim" in message
