"""Chain storage beside ``store/``: the Parquet chain store, chain loads and the cluster maps.

Nothing is re-exported: the modules load pyarrow, so callers (the services) import
``sanctrace.chainstore.store``, ``.load`` or ``.clusters`` when they need them.
"""

__all__: list[str] = []
