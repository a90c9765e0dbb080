"""Cases: users and roles, alerts grouped into cases, four-eyes, decision memory, holds,
webhooks, the hash-chained audit trail and regulator reports. Pure of HTTP."""

__all__: list[str] = []
