"""DATABASE_POOL_SIZE and DATABASE_MAX_OVERFLOW bound a process's PostgreSQL connections."""

import asyncio
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from core.settings import Settings
from tests.clients import Api, new_session_id, new_user, token_for
from tests.servers import JWT_SECRET, database_url, postgres_or_skip, running_server

GET_SESSION = "query ($id: ID!) { session(id: $id) { id revision } }"


async def test_requests_beyond_the_pool_wait_for_a_connection_instead_of_opening_one(
    tmp_path: Path,
) -> None:
    async with database_url("postgres", tmp_path) as url:
        async with running_server(
            database_url=url, database_pool_size=2, database_max_overflow=1
        ) as server:
            async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as http:
                api = Api(http, token_for(new_user()))
                session_id = await new_session_id(api)
                admin = await postgres_or_skip()
                seen: list[int] = []
                try:

                    async def count_connections() -> None:
                        while True:
                            seen.append(
                                await admin.fetchval(
                                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                                    url.rsplit("/", 1)[1],
                                )
                            )
                            await asyncio.sleep(0.002)

                    counting = asyncio.create_task(count_connections())
                    answers = await asyncio.gather(
                        *[api.data(GET_SESSION, {"id": session_id}) for _ in range(40)]
                    )
                    counting.cancel()
                finally:
                    await admin.close()
    assert all(answer["session"]["id"] == session_id for answer in answers)
    assert seen and max(seen) <= 3, seen


@pytest.mark.parametrize(
    ("variable", "value"), [("database_pool_size", 0), ("database_max_overflow", -1)]
)
def test_a_pool_setting_out_of_range_stops_the_server_naming_it(variable: str, value: int) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings.model_validate({"jwt_secret": JWT_SECRET, variable: value})
    assert variable in str(raised.value)
