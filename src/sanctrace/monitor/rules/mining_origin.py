"""``mining_origin`` (typology 7): a deposit whose coins descend from the block rewards of a miner
or pool attributed to a sanctioned party.

The attribution is a data file (``monitor/data/miners.csv``, or the rule's ``miners_file``):
one row per payout or coinbase output address, with the sanctioned entity and the source that
says so. The rule asks the exposure engine for the deposit output's source of funds within
``hops`` with those addresses as the only flagged ones (``chain exposure --flagged``), and fires
when the tainted fraction is above ``min_fraction`` (default 0: any). A deposit on a chain with
no attributed miner is not checked; one the chain store does not know is an ``error`` finding
(never a silent pass).
"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sanctrace.errors import BadRequest
from sanctrace.fileio import write_atomic
from sanctrace.monitor.events import DepositEvent, Event
from sanctrace.monitor.rules._windowed import decimal_param, number_param
from sanctrace.monitor.rules.base import Facts, Finding, Rule, RuleConfig, evidence_key

__all__ = ["MINERS_FILE", "Miner", "MiningOrigin", "read_miners"]

MINERS_FILE = Path(__file__).resolve().parent.parent / "data" / "miners.csv"
_NEEDED = ("miner", "chain", "address", "sanctioned_entity", "source")


@dataclass(frozen=True)
class Miner:
    """One attributed payout address (or coinbase tag) of a miner or pool."""

    miner: str
    chain: str
    address: str | None
    coinbase_tag: str | None
    sanctioned_entity: str
    program: str | None
    source: str


def read_miners(path: Path) -> list[Miner]:
    """The rows of a miners file; ``BadRequest`` names the file and line of a bad one."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadRequest(f"{path}: cannot read the miners file: {exc.strerror}") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    lines = [(n, line) for n, line in lines if not line.startswith("#")]
    if not lines:
        raise BadRequest(f"{path}: the miners file is empty")
    numbers = [n for n, _ in lines]
    reader = csv.DictReader(io.StringIO("\n".join(line for _, line in lines)))
    missing = [c for c in _NEEDED if c not in (reader.fieldnames or [])]
    if missing:
        raise BadRequest(f"{path}:{numbers[0]}: missing columns: {', '.join(missing)}")
    found = []
    for i, row in enumerate(reader, 1):
        where = f"{path}:{numbers[i] if i < len(numbers) else '?'}"
        chain = (row.get("chain") or "").strip().lower()
        entity = (row.get("sanctioned_entity") or "").strip()
        source = (row.get("source") or "").strip()
        if not chain or not entity or not source:
            raise BadRequest(f"{where}: chain, sanctioned_entity and source are required")
        found.append(
            Miner(
                miner=(row.get("miner") or entity).strip(),
                chain=chain,
                address=(row.get("address") or "").strip() or None,
                coinbase_tag=(row.get("coinbase_tag") or "").strip() or None,
                sanctioned_entity=entity,
                program=(row.get("program") or "").strip() or None,
                source=source,
            )
        )
    return found


def _flagged_file(miners: list[Miner], chain: str) -> Path | None:
    """The miners' addresses on ``chain`` as a flagged-address CSV (cached by its content)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["address", "category", "entity", "label"])
    rows = sorted(
        {
            (m.address, m.sanctioned_entity, m.miner)
            for m in miners
            if m.chain == chain and m.address
        }
    )
    if not rows:
        return None
    for address, entity, miner in rows:
        writer.writerow([address, "sanctioned", entity, f"{miner} (mining payout)"])
    text = out.getvalue()
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"sanctrace-miners-{chain}-{digest}.csv"
    if not path.exists():
        write_atomic(path, text)
    return path


class MiningOrigin(Rule):
    id: ClassVar[str] = "mining_origin"
    event_types: ClassVar[frozenset[str]] = frozenset({"deposit"})

    def __init__(self, config: RuleConfig) -> None:
        super().__init__(config)
        self.hops = int(number_param(self.id, self.params, "hops", 5, integer=True))
        self.min_fraction = float(
            decimal_param(self.id, "min_fraction", self.params.get("min_fraction", 0))
        )
        given = self.params.get("miners_file")
        if given is not None and not isinstance(given, str | Path):
            raise BadRequest(f"rules: {self.id}.miners_file: a path")
        self.miners_file = Path(given) if given else MINERS_FILE
        self.miners = read_miners(self.miners_file)
        self._files: dict[str, Path | None] = {}

    def flagged_file(self, chain: str) -> Path | None:
        if chain not in self._files:
            self._files[chain] = _flagged_file(self.miners, chain)
        return self._files[chain]

    def evaluate(self, event: Event, facts: Facts) -> list[Finding]:
        if not isinstance(event, DepositEvent):
            return []
        chain = event.chain.lower()
        flagged = self.flagged_file(chain)
        if flagged is None:
            return []  # no miner attributed on this chain
        index = event.output_index if event.output_index is not None else event.log_index
        subject = f"{event.txid}:{index}" if index is not None else event.txid
        answer = facts.exposure(
            chain=chain,
            direction="in",
            hops=self.hops,
            txid=event.txid,
            output_index=index,
            flagged_file=flagged,
        )
        if answer is None:
            return [
                Finding(
                    rule=self.id,
                    severity=str(self.config.severity),
                    action=str(self.config.action),
                    subject=subject,
                    summary=f"Cannot check the origin of deposit {subject}: the chain store "
                    f"holds no {chain} data for it.",
                    summary_ja=f"入金 {subject} の資金の出所を確認できません。チェーンストアに"
                    f"{chain} のデータがありません。",
                    evidence={"txid": event.txid, "output_index": index, "chain": chain},
                    evidence_key=evidence_key(subject, "error"),
                    error=True,
                )
            ]
        fraction = float(answer.get("fraction") or 0.0)
        if not answer.get("tainted_value") or fraction <= self.min_fraction:
            return []
        entities: list[dict[str, Any]] = list(answer.get("by_entity") or [])
        names = ", ".join(sorted({str(e.get("entity") or e.get("label")) for e in entities}))
        hops = answer.get("min_hops")
        return [
            self.finding(
                subject,
                f"{fraction:.1%} of deposit {subject} descends within {hops} hops from block "
                f"rewards paid to a miner attributed to {names}.",
                f"入金 {subject} の {fraction:.1%} は、制裁対象（{names}）に帰属する"
                f"マイナーの採掘報酬から {hops} ホップ以内で流入した資金です。",
                {
                    "chain": chain,
                    "txid": event.txid,
                    "output_index": index,
                    "fraction": fraction,
                    "tainted_value": answer.get("tainted_value"),
                    "min_hops": hops,
                    "by_entity": entities,
                    "paths": answer.get("paths", [])[:3],
                    "miners_file": str(self.miners_file),
                    "sources": sorted(
                        {m.source for m in self.miners if m.chain == chain and m.address}
                    ),
                },
                key=(subject,),
            )
        ]
