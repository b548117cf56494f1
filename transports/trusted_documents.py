"""Trusted documents: a request may name a known document by its id instead of sending its text.

The chat client's build writes a manifest, `web/src/gql/persisted-documents.json` (GraphQL Code
Generator's client preset: `"sha256:<hex of the document's text>"` → the text). A request names
a document with `documentId` (the GraphQL over HTTP spec's persisted documents appendix; a body
field, a GET parameter, or a field of a WebSocket `subscribe` payload) or with
`extensions.persistedQuery.sha256Hash` (Apollo's form, hex with or without the `sha256:`
prefix). With the allow list on, a request must name one: a document's text alone is refused.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import GraphQLFormattedError

# Apollo's automatic persisted queries clients retry with the document's text on this code.
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
REQUIRED = "PERSISTED_QUERY_REQUIRED"
BAD_REQUEST = "BAD_REQUEST"

CLIENT_MANIFEST = (
    Path(__file__).resolve().parent.parent / "web" / "src" / "gql" / "persisted-documents.json"
)


def manifest_paths(setting: str | None) -> list[Path]:
    """The manifests TRUSTED_DOCUMENTS names (comma-separated paths): by default the chat
    client's, and none when it is set empty."""
    if setting is None:
        return [CLIENT_MANIFEST]
    return [Path(part.strip()) for part in setting.split(",") if part.strip()]


class DocumentRefused(Exception):
    """A request whose document cannot run: its id is unknown, or it is not a trusted one."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def error(self) -> GraphQLFormattedError:
        """The GraphQL error a client gets."""
        return {"message": self.message, "extensions": {"code": self.code}}


@dataclass(frozen=True)
class TrustedDocuments:
    """The documents of the manifests loaded at start, by id; `only`: the allow list is on."""

    documents: Mapping[str, str] = field(default_factory=dict)
    only: bool = False

    @classmethod
    def load(cls, manifests: Iterable[Path], *, only: bool) -> "TrustedDocuments":
        documents: dict[str, str] = {}
        for path in manifests:
            documents.update(read_manifest(path))
        return cls(documents, only)

    def resolve(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` (a request's `query`, `documentId`, `variables`, `operationName`,
        `extensions`) with `query` set to the text of the document it names."""
        document_id = named_document(params)
        # graphql-ws clients must send a `query` string: an empty one is no text.
        text = params.get("query") or None
        if document_id is None:
            if self.only:
                raise DocumentRefused(
                    REQUIRED,
                    "This server runs trusted documents only: send a `documentId` from the "
                    "client's manifest instead of the document's text.",
                )
            return params
        document = self.documents.get(document_id)
        if document is not None:
            return {**params, "query": document}
        if text is not None and not self.only:
            # An automatic persisted queries client sends the text after a miss: it runs,
            # and nothing is stored (only the manifests name documents).
            return params
        raise DocumentRefused(NOT_FOUND, f"No trusted document has the id {document_id!r}.")


def named_document(params: Mapping[str, Any]) -> str | None:
    """The document id a request names, if any."""
    document_id = params.get("documentId")
    if document_id is None:
        extensions = params.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if not isinstance(persisted, dict) or "sha256Hash" not in persisted:
            return None
        document_id = persisted["sha256Hash"]
        if isinstance(document_id, str) and ":" not in document_id:
            document_id = f"sha256:{document_id}"
    if not isinstance(document_id, str) or not document_id:
        raise DocumentRefused(BAD_REQUEST, "A document id must be a non-empty string.")
    return document_id


def read_manifest(path: Path) -> dict[str, str]:
    """A manifest's documents; start-up stops with a message naming the file otherwise."""
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"TRUSTED_DOCUMENTS: cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in manifest.items()
    ):
        raise RuntimeError(f"TRUSTED_DOCUMENTS: {path} is not a JSON object of id → document")
    return manifest
