"""Live chain data from the exchange's own nodes: JSON-RPC clients (``rpc``), blocks as chain
records (``sources``), the follower that appends them to the chain store and rolls back what a
fork orphans (``follow``), and deposits' histories fetched on demand (``ondemand``).

This package does I/O, so it sits at the storage level beside ``chainstore``, not in the pure
``chain`` engine. Nothing is re-exported: callers import the module they need.
"""

__all__: list[str] = []
