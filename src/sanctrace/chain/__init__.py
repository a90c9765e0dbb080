"""The chain engine: addresses, chain records, the transfer graph, clustering, tags, exposure.

Pure: paths and options come in as arguments. Only address parsing and the chain records are
re-exported here; the graph, clustering and exposure modules load numpy, pyarrow and numba
kernels, so callers import them by module (``sanctrace.chain.graph``, ``.exposure``) when
they need them.
"""

from sanctrace.chain.addresses import guess_chain, normalise, parse_address, parse_any
from sanctrace.chain.records import Block, Transfer, Tx, TxIn, TxOut

__all__ = [
    "Block",
    "Transfer",
    "Tx",
    "TxIn",
    "TxOut",
    "guess_chain",
    "normalise",
    "parse_address",
    "parse_any",
]
