from tests.clients import Api, operation, subscribed, token_for
from tests.servers import RunningServer


async def test_tool_result_reaches_a_subscriber(api: Api, user: str, server: RunningServer):
    session = (await api.data(operation("CreateSession")))["createSession"]
    async with subscribed(server.ws_url, token_for(user), {"sessionId": session["id"]}) as sub:
        await api.data(
            operation("AppendMessage"),
            {
                "sessionId": session["id"],
                "message": {"role": "TOOL", "toolCallId": "c1", "content": "pending"},
            },
        )
        pending = await sub.next_tool_message()
        assert pending["content"] == "pending"
        await api.data(
            operation("UpdateToolResult"),
            {"sessionId": session["id"], "toolCallId": "c1", "content": "done"},
        )
        done = await sub.next_tool_message()
        assert (done["content"], done["revision"]) == ("done", 2)
