"""The HTTP API, the spectator WebSocket and the page, as one FastAPI app."""

from arena.api.app import create_app

__all__ = ["create_app"]
