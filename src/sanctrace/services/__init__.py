"""The use cases: the only way in for the CLI, the API, the demo and the console.

One module per use case, each a request record in and a typed answer out:
``lists`` (load, fetch, diff, status; re-screening after every new snapshot), ``names`` (one
name, a CSV of names, stored customers), ``addresses`` (list hits, tags, clusters),
``exposure`` (deposits and withdrawals against flagged funds), ``companies`` (ownership and
control), ``chain_data`` (chain loads, status, clustering, tag sets). ``Context`` carries the
settings, the database and the chain store they work on. The modules are imported where they
are used, so a command pays only for its own engines.
"""

from sanctrace.services.context import Context

__all__ = ["Context"]
