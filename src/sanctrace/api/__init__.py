"""The REST API: ``create_app`` builds the FastAPI application over a service context."""

from sanctrace.api.app import create_app

__all__ = ["create_app"]
