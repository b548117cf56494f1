"""The exported SDL and the client operations stay true to the code."""

import pytest
from graphql import build_schema, parse, validate

from cli.export_schema import SDL_PATH, sdl
from tests.clients import OPERATIONS


def test_exported_sdl_matches_the_code():
    assert SDL_PATH.read_text() == sdl(), (
        "graphql/schema.graphql is stale: python -m cli.export_schema"
    )


@pytest.mark.parametrize("path", sorted(OPERATIONS.glob("*.graphql")), ids=lambda p: p.stem)
def test_client_operation_validates_against_the_schema(path):
    errors = validate(build_schema(SDL_PATH.read_text()), parse(path.read_text()))
    assert errors == []


def test_there_are_client_operations():
    assert len(list(OPERATIONS.glob("*.graphql"))) >= 10
