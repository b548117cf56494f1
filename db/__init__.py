"""Tables, engine and queries: all SQL of the service lives in this package."""
