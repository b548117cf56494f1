"""Trusted documents: a request names a document of the chat client's manifest by its id.

The manifest is the one `npm run codegen` writes (web/src/gql/persisted-documents.json), the
server is a real uvicorn; requests go over real HTTP (POST and GET) and WebSockets.
"""

import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import create_app
from core.settings import Settings
from tests.clients import LEGACY_WS, TRANSPORT_WS, Api, new_user, operation, token_for, websocket
from tests.servers import JWT_SECRET, RunningServer, database_url, running_server
from transports.trusted_documents import CLIENT_MANIFEST

MANIFEST: dict[str, str] = json.loads(CLIENT_MANIFEST.read_text())


def document_id(name: str) -> str:
    """The manifest's id of the operation named `name`."""
    (found,) = [
        key for key, text in MANIFEST.items() if re.match(rf"\w+ {name}\b", text) is not None
    ]
    return found


UNKNOWN = "sha256:" + "0" * 64


@pytest.fixture(scope="module")
async def open_server(workdir: Path) -> AsyncIterator[RunningServer]:
    """The default: the chat client's manifest, and any document's text too."""
    async with database_url("sqlite", workdir) as url, running_server(database_url=url) as server:
        yield server


@pytest.fixture(scope="module")
async def trusted_only(workdir: Path) -> AsyncIterator[RunningServer]:
    """TRUSTED_DOCUMENTS_ONLY=true: only the manifest's documents run."""
    async with (
        database_url("sqlite", workdir) as url,
        running_server(database_url=url, trusted_documents_only=True) as server,
    ):
        yield server


async def post(server: RunningServer, body: dict[str, Any], token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as http:
        return await http.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


async def session_count(server: RunningServer, token: str) -> int:
    body = {"documentId": document_id("ListSessions"), "variables": {"limit": 1}}
    response = await post(server, body, token)
    assert response.status_code == 200, response.text
    return response.json()["data"]["sessionCount"]


def test_each_id_is_the_sha256_of_its_document_and_every_operation_has_one():
    for key, text in MANIFEST.items():
        assert key == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    names = {path.stem for path in (CLIENT_MANIFEST.parents[3] / "graphql/operations").iterdir()}
    assert {re.match(r"\w+ (\w+)", text)[1] for text in MANIFEST.values()} == names  # type: ignore[index]


@pytest.mark.parametrize("server_kind", ["open", "trusted_only"])
async def test_a_known_id_runs_its_document_over_post_and_get(
    server_kind: str, open_server: RunningServer, trusted_only: RunningServer
):
    server = open_server if server_kind == "open" else trusted_only
    token = token_for(new_user())
    created = await post(
        server,
        {"documentId": document_id("CreateSession"), "variables": {"input": {"title": "By id"}}},
        token,
    )
    assert created.status_code == 200, created.text
    session = created.json()["data"]["createSession"]
    assert session["title"] == "By id"

    async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as http:
        read = await http.get(
            "/graphql",
            params={
                "documentId": document_id("ChatPage"),
                "variables": json.dumps({"id": session["id"], "last": 5}),
            },
            headers={"Authorization": f"Bearer {token}"},
        )
    assert read.status_code == 200, read.text
    assert read.json()["data"]["session"]["title"] == "By id"


async def test_apollos_persisted_query_extension_names_a_document_too(
    trusted_only: RunningServer,
):
    token = token_for(new_user())
    bare_hex = document_id("ChatList").removeprefix("sha256:")
    for sha in (bare_hex, f"sha256:{bare_hex}"):
        response = await post(
            trusted_only,
            {
                "variables": {"limit": 5},
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha}},
            },
            token,
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"data": {"sessions": []}}


@pytest.mark.parametrize("server_kind", ["open", "trusted_only"])
async def test_an_unknown_id_is_refused_with_the_code_apq_clients_retry_on(
    server_kind: str, open_server: RunningServer, trusted_only: RunningServer
):
    server = open_server if server_kind == "open" else trusted_only
    token = token_for(new_user())
    for body in (
        {"documentId": UNKNOWN, "variables": {"input": {"title": "never"}}},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}},
    ):
        response = await post(server, body, token)
        assert response.status_code == 200, response.text
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND", error
        assert "data" not in response.json()
    assert await session_count(server, token) == 0


async def test_an_unknown_id_sent_with_its_text_runs_the_text_when_the_allow_list_is_off(
    open_server: RunningServer,
):
    """What an automatic persisted queries client does after a miss."""
    token = token_for(new_user())
    response = await post(
        open_server,
        {
            "query": operation("CreateSession"),
            "variables": {"input": {"title": "APQ"}},
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}},
        },
        token,
    )
    assert response.json()["data"]["createSession"]["title"] == "APQ", response.text


async def test_a_documents_text_runs_when_the_allow_list_is_off(open_server: RunningServer):
    api = Api(httpx.AsyncClient(base_url=open_server.http_url, timeout=60), token_for(new_user()))
    async with api.http:
        created = await api.data("mutation { createSession { title } }")
    assert created == {"createSession": {"title": None}}


async def test_with_the_allow_list_on_any_text_is_refused_and_changes_nothing(
    trusted_only: RunningServer,
):
    token = token_for(new_user())
    refused_bodies: list[dict[str, Any]] = [
        {"query": "mutation { createSession { id } }"},
        # The manifest's own text, but not named by its id.
        {"query": MANIFEST[document_id("CreateSession")], "variables": {}},
        # Text with an unknown id: not trusted either.
        {"query": operation("CreateSession"), "documentId": UNKNOWN},
    ]
    for body in refused_bodies:
        response = await post(trusted_only, body, token)
        (error,) = response.json()["errors"]
        code = error["extensions"]["code"]
        if "documentId" in body:
            assert (response.status_code, code) == (200, "PERSISTED_QUERY_NOT_FOUND"), body
        else:
            assert (response.status_code, code) == (400, "PERSISTED_QUERY_REQUIRED"), body
    async with httpx.AsyncClient(base_url=trusted_only.http_url, timeout=60) as http:
        response = await http.get(
            "/graphql",
            params={"query": "{ sessionCount }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    assert await session_count(trusted_only, token) == 0


async def test_a_document_id_that_is_not_a_string_is_a_bad_request(trusted_only: RunningServer):
    response = await post(trusted_only, {"documentId": 7}, token_for(new_user()))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_the_id_of_a_mutation_over_get_is_refused_and_changes_nothing(
    trusted_only: RunningServer,
):
    token = token_for(new_user())
    async with httpx.AsyncClient(base_url=trusted_only.http_url, timeout=60) as http:
        response = await http.get(
            "/graphql",
            params={"documentId": document_id("CreateSession"), "variables": "{}"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code in (400, 405), response.text
    assert await session_count(trusted_only, token) == 0


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_subscription_names_its_document_by_id_and_the_allow_list_holds_on_websockets(
    protocol: str, trusted_only: RunningServer
):
    user = new_user()
    token = token_for(user)
    created = await post(
        trusted_only, {"documentId": document_id("CreateSession"), "variables": {}}, token
    )
    session_id = created.json()["data"]["createSession"]["id"]
    subscribe = "subscribe" if protocol == TRANSPORT_WS else "start"
    async with websocket(trusted_only.ws_url, protocol) as sub:
        assert (await sub.init(token))["type"] == "connection_ack"
        variables = {"sessionId": session_id, "afterRevision": 0}
        for operation_id, payload in [
            ("unknown", {"documentId": UNKNOWN, "variables": variables}),
            ("text", {"query": operation("SessionEvents"), "variables": variables}),
        ]:
            await sub.ws.send(
                json.dumps({"id": operation_id, "type": subscribe, "payload": payload})
            )
            refusal = await sub.receive()
            assert (refusal["type"], refusal["id"]) == ("error", operation_id), refusal
            errors = refusal["payload"]
            error = errors[0] if isinstance(errors, list) else errors
            expected = (
                "PERSISTED_QUERY_NOT_FOUND"
                if operation_id == "unknown"
                else ("PERSISTED_QUERY_REQUIRED")
            )
            assert error["extensions"]["code"] == expected, refusal

        await sub.ws.send(
            json.dumps(
                {
                    "id": "known",
                    "type": subscribe,
                    # As graphql-ws clients must: a `query` string, empty, with the id.
                    "payload": {
                        "query": "",
                        "documentId": document_id("SessionEvents"),
                        "variables": variables,
                    },
                }
            )
        )
        await post(
            trusted_only,
            {
                "documentId": document_id("AppendMessage"),
                "variables": {
                    "sessionId": session_id,
                    "message": {"role": "USER", "content": "hello"},
                },
            },
            token,
        )
        event = await sub.next_session_event()
        assert (event["kind"], event["message"]["content"]) == ("MESSAGE", "hello"), event


async def test_manifests_come_from_the_setting_and_an_unreadable_one_stops_the_start(
    tmp_path: Path, workdir: Path
):
    own = tmp_path / "own.json"
    text = "query Mine { sessionCount }"
    own_id = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    own.write_text(json.dumps({own_id: text}))
    async with (
        database_url("sqlite", workdir) as url,
        running_server(
            database_url=url,
            trusted_documents=f"{own}, {CLIENT_MANIFEST}",
            trusted_documents_only=True,
        ) as server,
    ):
        token = token_for(new_user())
        mine = await post(server, {"documentId": own_id}, token)
        assert mine.json() == {"data": {"sessionCount": 0}}
        assert await session_count(server, token) == 0  # the client's manifest too

    with pytest.raises(RuntimeError, match="TRUSTED_DOCUMENTS: cannot read"):
        create_app(Settings(jwt_secret=JWT_SECRET, trusted_documents=str(tmp_path / "gone.json")))
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(RuntimeError, match="not a JSON object"):
        create_app(Settings(jwt_secret=JWT_SECRET, trusted_documents=str(tmp_path / "list.json")))


async def test_graphql_over_sse_names_documents_by_id_and_keeps_the_allow_list(
    trusted_only: RunningServer,
):
    token = token_for(new_user())
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    async with httpx.AsyncClient(base_url=trusted_only.http_url, timeout=60) as http:
        body = {"documentId": document_id("ListSessions"), "variables": {"limit": 1}}
        named = await http.post("/graphql/stream", json=body, headers=headers)
        text = await http.post(
            "/graphql/stream", json={"query": "{ sessionCount }"}, headers=headers
        )
        unknown = await http.post("/graphql/stream", json={"documentId": UNKNOWN}, headers=headers)
    assert named.status_code == 200, named.text
    assert '"sessionCount":0' in named.text and "event: complete" in named.text
    assert text.status_code == 400
    assert text.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
