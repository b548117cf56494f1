"""How requests arrive: the GraphQL HTTP and WebSocket app, Server-Sent Events, web assets."""
