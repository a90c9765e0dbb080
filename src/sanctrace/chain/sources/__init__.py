"""Readers for chain data, one module per format; ``registry`` finds them by name or by
sniffing a file, and loads a reader's module on first use.

Nothing is re-exported: a reader is reached through ``sanctrace.chain.sources.registry``.
"""

__all__: list[str] = []
