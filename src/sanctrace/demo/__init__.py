"""The synthetic exchange and the end-to-end scenario, run through the services."""

__all__: list[str] = []
