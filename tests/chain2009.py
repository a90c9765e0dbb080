"""The 2009 Bitcoin chain of the shared data (GraphSense's tidy CSV sample) as chain-store tables,
shared by the graph, exposure and Spark tests (pytest puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa


def chain_2009_tables(folder: Path) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The whole 2009 chain (tidy CSV: global output ids, ``spent_index`` = source tx) as our
    tables: output positions are ranks within their tx, in output-id order."""
    import pyarrow.csv as pacsv

    def read(name: str) -> dict[str, np.ndarray]:
        table = pacsv.read_csv(folder / name)
        return {c: table.column(c).to_numpy(zero_copy_only=False) for c in table.column_names}

    hashes, heights = read("tx_hash.csv"), read("tx_height.csv")
    adr, outs, ins = read("adr_hash.csv"), read("tx_output.csv"), read("tx_input.csv")
    txid = dict(zip(hashes["tx_index"].tolist(), hashes["tx_hash"].tolist(), strict=True))
    address = dict(zip(adr["adr_index"].tolist(), adr["adr_hash"].tolist(), strict=True))
    order = np.lexsort((outs["output_index"], outs["tx_index"]))
    out_tx, out_id = outs["tx_index"][order], outs["output_index"][order]
    start = np.ones(len(order), bool)
    start[1:] = out_tx[1:] != out_tx[:-1]
    first = np.flatnonzero(start)
    vout = np.arange(len(order)) - first[np.cumsum(start) - 1]
    where = dict(
        zip(out_id.tolist(), zip(out_tx.tolist(), vout.tolist(), strict=True), strict=True)
    )
    outputs = pa.table(
        {
            "txid": [txid[t] for t in out_tx.tolist()],
            "index": vout,
            "value": outs["output_value"][order],
            "address": [address.get(a) for a in outs["adr_index"][order].tolist()],
        }
    )
    order = np.lexsort((ins["output_index"], ins["tx_index"]))
    rows, n, previous = [], 0, None
    for i in order.tolist():
        spender = int(ins["tx_index"][i])
        n = n + 1 if spender == previous else 0
        previous = spender
        src_tx, src_vout = where[int(ins["output_index"][i])]
        rows.append(
            {"txid": txid[spender], "index": n, "prev_txid": txid[src_tx], "prev_index": src_vout}
        )
    transactions = pa.table(
        {
            "txid": [txid[t] for t in heights["tx_index"].tolist()],
            "block_height": heights["block_index"],
        }
    )
    return transactions, pa.Table.from_pylist(rows), outputs
