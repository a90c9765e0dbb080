"""A test node: a small JSON-RPC server on 127.0.0.1 serving real blocks through the real
methods of Bitcoin Core and Ethereum, plus synthetic blocks and forks.

Bitcoin: ``getblockchaininfo``, ``getblockcount``, ``getblockhash``, ``getblock <hash> 0–3``
(verbosity 3: each input's ``prevout`` when the spent output is on the served chain),
``getrawtransaction <txid> 0–2`` (with ``txindex``). The real blocks come from the raw block
files of ``../shared/data/chain/btc/raw_blocks``, read by sanctrace's raw reader, and are
written out as Core writes them (values as JSON numbers with 8 decimals). Ethereum:
``eth_blockNumber``, ``eth_getBlockByNumber``, ``eth_getLogs`` (block range, address and topic
filters with ``null`` and OR lists), ``eth_getBlockReceipts``, from the ethereum-etl export of
``../shared/data/chain/eth``.

Faults: ``cut_next(method)`` answers that method's next call with half its body and then the
node goes away (every later request is closed unanswered) until ``revive()``; ``stop()`` and
``start()`` close and reopen the listening socket on the same port. Basic auth when a user is
given. ``requests`` counts HTTP requests, ``methods`` the calls per method.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections import Counter
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rpc_chains import (  # noqa: F401 - the tests import the chains from here too
    COIN,
    BtcChain,
    EthChain,
    address_of,
    block_doc,
    btc,
    cone,
    dumps,
    early_chain,
    eth_chain,
    fake_hash,
    p2pkh_of,
    p2pkh_script,
    read_raw,
    single_block_chain,
    synthetic_block,
    synthetic_tx,
)


def _topic_match(wanted: Any, have: list[str]) -> bool:
    for i, want in enumerate(wanted or []):
        if want is None:
            continue
        options = want if isinstance(want, list) else [want]
        if i >= len(have) or have[i].lower() not in {o.lower() for o in options}:
            return False
    return True


# ---------------------------------------------------------------------------- server


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class RpcNode:
    """The JSON-RPC server (see the module docstring)."""

    def __init__(
        self,
        btc_chain: BtcChain | None = None,
        eth: EthChain | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        txindex: bool = True,
    ) -> None:
        self.btc = btc_chain or BtcChain()
        self.eth = eth or EthChain()
        self.user, self.password, self.txindex = user, password, txindex
        self.requests = 0
        self.methods: Counter[str] = Counter()
        self.down = False
        self._cut: str | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # -- life
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> RpcNode:
        node = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in separate writes: without this, Nagle's algorithm
                # and the client's delayed ACK add 40 ms to every answer.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                node._handle(self)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def cut_next(self, method: str) -> None:
        self._cut = method

    def revive(self) -> None:
        self.down = False

    def __enter__(self) -> RpcNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        self.requests += 1
        length = int(h.headers.get("Content-Length", 0))
        body = h.rfile.read(length)
        if self.down:
            h.close_connection = True
            h.connection.close()
            return
        if self.user is not None:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            if h.headers.get("Authorization") != f"Basic {token}":
                h.send_response(401)
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
        request = json.loads(body, parse_float=Decimal)
        calls = request if isinstance(request, list) else [request]
        answers = [self._answer(c) for c in calls]
        raw = dumps(answers if isinstance(request, list) else answers[0])
        cut = self._cut is not None and any(c.get("method") == self._cut for c in calls)
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        if cut:
            self._cut = None
            self.down = True
            h.wfile.write(raw[: len(raw) // 2])
            h.wfile.flush()
            h.close_connection = True
            h.connection.close()
            return
        h.wfile.write(raw)

    def _answer(self, call: dict[str, Any]) -> dict[str, Any]:
        method, params = call.get("method", ""), call.get("params") or []
        self.methods[method] += 1
        try:
            with self._lock:
                result = getattr(self, "rpc_" + method)(*params)
        except RpcError as exc:
            return {
                "id": call.get("id"),
                "result": None,
                "error": {"code": exc.code, "message": str(exc)},
            }
        except AttributeError:
            return {
                "id": call.get("id"),
                "result": None,
                "error": {"code": -32601, "message": "Method not found"},
            }
        return {"id": call.get("id"), "result": result, "error": None}

    # -- Bitcoin Core
    def rpc_getblockchaininfo(self) -> dict[str, Any]:
        best = self.btc.at(self.btc.tip)
        return {
            "chain": "main",
            "blocks": self.btc.tip,
            "headers": self.btc.tip,
            "bestblockhash": best["hash"] if best else None,
        }

    def rpc_getblockcount(self) -> int:
        return self.btc.tip

    def rpc_getblockhash(self, height: int) -> str:
        block = self.btc.at(int(height))
        if block is None:
            raise RpcError(-8, "Block height out of range")
        return block["hash"]

    def rpc_getblock(self, block_hash: str, verbosity: int = 1) -> Any:
        block = self.btc.by_hash(block_hash)
        if block is None:
            raise RpcError(-5, "Block not found")
        confirmations = self.btc.tip - block["height"] + 1
        if verbosity >= 3:
            return {**block, "confirmations": confirmations}
        if verbosity == 2:
            txs = [
                {**t, "vin": [{k: v for k, v in i.items() if k != "prevout"} for i in t["vin"]]}
                for t in block["tx"]
            ]
            return {**block, "tx": txs, "confirmations": confirmations}
        return {**block, "tx": [t["txid"] for t in block["tx"]], "confirmations": confirmations}

    def rpc_getrawtransaction(
        self, txid: str, verbosity: Any = 0, blockhash: str | None = None
    ) -> Any:
        found = self.btc.tx(txid) if self.txindex else None
        if found is None:
            raise RpcError(
                -5,
                "No such mempool or blockchain transaction. Use -txindex or provide a block hash.",
            )
        tx, block = found
        doc = dict(tx)
        if int(verbosity) < 2:
            doc["vin"] = [{k: v for k, v in i.items() if k != "prevout"} for i in tx["vin"]]
        doc.update(
            blockhash=block["hash"],
            confirmations=self.btc.tip - block["height"] + 1,
            time=block["time"],
            blocktime=block["time"],
        )
        return doc

    # -- Ethereum
    def rpc_eth_chainId(self) -> str:
        return "0x1"

    def rpc_eth_blockNumber(self) -> str:
        return hex(self.eth.tip)

    def _eth_number(self, tag: str) -> int:
        return self.eth.tip if tag == "latest" else int(tag, 16)

    def rpc_eth_getBlockByNumber(self, tag: str, full: bool) -> Any:
        block = self.eth.blocks.get(self._eth_number(tag))
        if block is None:
            return None
        if full:
            return block
        return {**block, "transactions": [t["hash"] for t in block["transactions"]]}

    def rpc_eth_getBlockReceipts(self, tag: str) -> Any:
        return self.eth.receipts.get(self._eth_number(tag))

    def rpc_eth_getLogs(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        low = self._eth_number(query.get("fromBlock", "latest"))
        high = self._eth_number(query.get("toBlock", "latest"))
        addresses = query.get("address")
        if isinstance(addresses, str):
            addresses = [addresses]
        wanted = {a.lower() for a in addresses} if addresses else None
        hashes = {b["hash"] for b in self.eth.blocks.values()}
        return [
            log
            for log in self.eth.logs
            if low <= int(log["blockNumber"], 16) <= high
            and log["blockHash"] in hashes
            and (wanted is None or log["address"].lower() in wanted)
            and _topic_match(query.get("topics"), log["topics"])
        ]
