"""``sanctrace chain …``: load chain data, report it, load tags, cluster addresses, exposure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sanctrace.cli._console import HIT, context, out, print_json, progress_bar, say, state
from sanctrace.services import chain_data
from sanctrace.services.exposure import ExposureAnswer, ExposureRequest, ExposureService

chain_app = typer.Typer(
    help="Blockchain data: load, status, tags, cluster, exposure.", no_args_is_help=True
)


@chain_app.command("load")
def chain_load(
    paths: Annotated[list[Path], typer.Argument(help="Chain data files or folders.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="Format (detected when absent).")
    ] = None,
    chain: Annotated[
        str | None,
        typer.Option("--chain", help="Chain of an EVM export other than Ethereum, e.g. bsc."),
    ] = None,
) -> None:
    """Load blocks or transfers into the chain store (same files twice: nothing new)."""

    def skipped(path: Path, reason: str) -> None:
        say(f"{path}: skipped ({reason})")

    with progress_bar("loading chain records") as advance:
        results = chain_data.load_chain(
            context().chain_store, paths, fmt=fmt, chain=chain, progress=advance, on_skip=skipped
        )
    for r in results:
        counts = ", ".join(f"{n} {table}" for table, n in r.counts.items() if n) or "no records"
        files = f"{len(r.files)} file{'s' if len(r.files) != 1 else ''}"
        if r.created:
            line = f"{r.chain}: loaded {files} ({r.format}, {r.sha256[:16]}): {counts}"
            if r.skipped_files:
                line += f"; {len(r.skipped_files)} already loaded"
        else:
            line = f"{r.chain}: unchanged, {files} already loaded ({r.format})"
        say(line)


@chain_app.command("status")
def chain_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Rows, distinct addresses and block range of each chain in the chain store."""
    found = chain_data.chain_status(context().chain_store)
    if as_json:
        print_json({c.chain: c.to_dict() for c in found})
        return
    if not found:
        out.print("No chain data loaded. Load some with: sanctrace chain load PATH")
        return
    columns = ["blocks", "transactions", "inputs", "outputs", "transfers"]
    table = Table("chain", *columns, "addresses", "heights")
    for c in found:
        low, high = c.min_height, c.max_height
        heights = "?" if low is None else f"{low}–{high}"
        cells = [f"{c.rows.get(t, 0):,}" for t in columns]
        table.add_row(c.chain, *cells, f"{c.addresses:,}", heights)
    out.print(table)
    for c in found:
        if c.follow is not None:
            say_line(_follow_line(c.follow))


def _follow_line(f: chain_data.FollowState) -> str:
    """One line on a follower: its tip, the node's, the lag and the last error."""
    tip = "nothing yet" if f.height is None else f"tip {f.height} ({(f.hash or '')[:16]}…)"
    node = "?" if f.node_height is None else str(f.node_height)
    lag = "?" if f.lag is None else f"{f.lag} block{'s' if f.lag != 1 else ''}"
    line = (
        f"{f.chain} follows {f.node}: {tip}, node at {node}, lag {lag}, "
        f"{f.provisional} provisional (<{f.confirmations} confirmations), "
        f"{f.reorgs} reorganisation{'s' if f.reorgs != 1 else ''}"
    )
    if f.last_error:
        line += f"; last error ({f.last_error_at}): {f.last_error}"
    return line + f"; updated {f.updated_at}"


@chain_app.command("follow")
def chain_follow(
    chain: Annotated[str, typer.Argument(help="btc or eth.")],
    rpc: Annotated[
        str | None,
        typer.Option(
            "--rpc",
            help="Node JSON-RPC URL without credentials (default: SANCTRACE_<CHAIN>_RPC_URL; "
            "credentials: SANCTRACE_<CHAIN>_RPC_USER/_PASSWORD or SANCTRACE_BTC_RPC_COOKIE).",
        ),
    ] = None,
    start: Annotated[
        int | None,
        typer.Option(
            "--from", help="First height (default: where the store stopped, else the tip)."
        ),
    ] = None,
    confirmations: Annotated[
        int, typer.Option(help="Depth at which a block is final; shallower ones are provisional.")
    ] = 6,
    batch: Annotated[int, typer.Option(help="Confirmed blocks per load while catching up.")] = 50,
    poll: Annotated[float, typer.Option(help="Seconds between polls at the tip.")] = 5.0,
    until_tip: Annotated[
        bool, typer.Option("--until-tip", help="Stop at the node's tip instead of waiting.")
    ] = False,
) -> None:
    """Follow a node: append its new blocks to the chain store, roll back orphaned blocks
    (Ctrl-C stops; the progress is kept for the next run)."""
    import threading

    request = chain_data.FollowRequest(
        chain=chain,
        url=rpc,
        start=start,
        confirmations=confirmations,
        batch=batch,
        poll=poll,
        until_tip=until_tip,
    )

    def appended(first: int, count: int) -> None:
        last = first + count - 1
        say(
            f"{chain}: appended block{'s' if count != 1 else ''} {first}"
            + (f"–{last}" if count > 1 else "")
        )

    stop = threading.Event()
    try:
        state = chain_data.follow(context(), request, stop, on_append=appended)
    except KeyboardInterrupt:
        stop.set()
        found = [c for c in chain_data.chain_status(context().chain_store) if c.chain == chain]
        if found and found[0].follow is not None:
            say_line(_follow_line(found[0].follow))
        return
    say_line(_follow_line(state))


@chain_app.command("tags")
def chain_tags(
    paths: Annotated[list[Path], typer.Argument(help="TagPack folders or files, or tag CSVs.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="tagpack or csv (detected when absent).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Name of the tag set.")] = None,
) -> None:
    """Load attribution tags as one tag set (same files twice: nothing new)."""
    r = chain_data.load_tags(context().db, paths, fmt=fmt, name=name)
    word = "loaded" if r.created else "unchanged"
    files = f"{len(r.files)} file{'s' if len(r.files) != 1 else ''}"
    say(
        f"tags: {word} tag set {r.tag_set_id} ({r.kind}, {r.sha256[:16]}): {r.tags} tags "
        f"from {files}, {r.invalid} invalid addresses; {len(r.problems)} problems"
        + ("" if state.verbose or not r.problems else " (-v lists them)")
    )
    if state.verbose:
        for problem in r.problems:
            say(f"  {problem}")


@chain_app.command("cluster")
def chain_cluster(
    chain: Annotated[str, typer.Option(help="A UTXO chain of the chain store.")] = "btc",
    coinjoin_filter: Annotated[
        bool,
        typer.Option(
            "--coinjoin-filter/--no-coinjoin-filter",
            help="Skip transactions that look like CoinJoins.",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Cluster addresses by common-input ownership and store the map with its evidence."""
    from dataclasses import asdict

    r = chain_data.cluster_chain(context().chain_store, chain, coinjoin_filter)
    if as_json:
        print_json(asdict(r))
        return
    word = "clustered" if r.created else "unchanged"
    out.print(
        f"{r.chain}: {word} (build {r.build}): {r.addresses:,} addresses in {r.clusters:,} "
        f"clusters ({r.multi_address_clusters:,} with several addresses); largest cluster "
        f"{r.largest_cluster:,} addresses (id {r.largest_cluster_id}); {r.transactions:,} "
        f"transactions, {r.coinjoin_detected:,} CoinJoins detected, "
        f"{r.coinjoin_skipped:,} skipped; {r.evidence_edges:,} evidence edges",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@chain_app.command("exposure")
def chain_exposure(
    model: Annotated[str, typer.Option(help="Taint model: haircut, poison or fifo.")] = "haircut",
    hops: Annotated[int, typer.Option(help="Hop limit (0–10).")] = 5,
    direction: Annotated[
        str, typer.Option(help="in: source of funds (deposits); out: destination (withdrawals).")
    ] = "in",
    flagged: Annotated[
        Path | None,
        typer.Option("--flagged", help="Addresses to flag instead of the lists and tags."),
    ] = None,
    tx: Annotated[str | None, typer.Option("--tx", help="A transaction id.")] = None,
    output: Annotated[
        int | None, typer.Option("--output", help="With --tx: one output of it.")
    ] = None,
    address: Annotated[str | None, typer.Option("--address", help="An address.")] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every tainted output of the chain, as CSV.")
    ] = False,
    chain: Annotated[
        str | None, typer.Option(help="Chain (default: the address's chain, else btc).")
    ] = None,
    paths: Annotated[int, typer.Option(help="Evidence paths to show.")] = 5,
    token: Annotated[
        str | None, typer.Option(help="Account chains: token contract ('' = native coin).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    out_csv: Annotated[
        Path | None, typer.Option("--out", help="With --all: write the CSV here (else stdout).")
    ] = None,
) -> None:
    """Direct and indirect exposure of a transaction, output or address to flagged funds
    (exit 1 on a block or review verdict)."""
    if sum([tx is not None, address is not None, every]) != 1:
        raise typer.BadParameter("give exactly one of --tx, --address or --all")
    service = ExposureService(context().db, context().chain_store)
    if every:
        if direction != "in":
            raise typer.BadParameter("--all computes the source of funds: use --direction in")
        engine, basis = service.table(chain or "btc", model, hops, flagged)
        if out_csv is not None:
            rows = engine.write_csv(out_csv)
        else:
            import pyarrow.csv as pacsv

            table = engine.table()
            rows = table.num_rows
            sink = typer.get_binary_stream("stdout")
            pacsv.write_csv(table, sink)
        where = f" to {out_csv}" if out_csv else ""
        say(
            f"{chain or 'btc'}: {rows:,} tainted outputs ({model}, {hops} hops){where}; "
            f"{basis.flagged:,} flagged addresses"
        )
        return
    request = ExposureRequest(
        chain=chain,
        txid=tx,
        output_index=output,
        address=address,
        direction=direction,
        model=model,
        hops=hops,
        paths=paths,
        token=token,
        flagged_file=flagged,
    )
    answer = service.screen(request)
    if as_json:
        print_json(answer.to_dict())
    else:
        _print_exposure(answer)
    if answer.hit:
        raise typer.Exit(HIT)


def _print_exposure(a: ExposureAnswer) -> None:
    """The human form of one exposure answer: summary, breakdowns, evidence paths; amounts
    in the asset's unit (the JSON keeps base units)."""
    view = "source of funds" if a.direction == "in" else "destination of funds"
    limit = "no hop limit" if a.account_chain else f"≤{a.hops_limit} hops"
    nearest = "–" if a.min_hops is None else str(a.min_hops)
    money = a.unit.format
    say_line(
        f"{a.subject} ({a.chain}, {view}, {a.model}, {limit}): "
        f"{money(a.tainted_value)} of {money(a.value)} flagged ({a.fraction:.2%}), "
        f"nearest {nearest} hops → {a.risk.action.upper()} ({a.risk.why})"
    )
    if a.by_entity:
        table = Table("entity", "category", "tainted", "fraction")
        for e in a.by_entity:
            table.add_row(
                e.label or e.entity or "?",
                e.category or "",
                money(e.tainted_value),
                f"{e.fraction:.2%}",
            )
        out.print(table)
    for n, path in enumerate(a.paths, 1):
        say_line(f"path {n}: {money(path.value)} over {path.hops} hops")
        for step in path.steps:
            tags = f" [{', '.join(step.tags)}]" if step.tags else ""
            # Account-chain steps are transfers: no output index to show.
            where = step.txid if a.account_chain else f"{step.txid}:{step.output_index}"
            say_line(f"  {where} {step.address or '?'} {money(step.amount)}{tags}")
    for s in a.stopped:
        say_line(f"stopped at {s.label}: {s.address} ({money(s.tainted_value)})")


def say_line(text: str) -> None:
    """A plain line on stdout, never read as markup."""
    out.print(text, markup=False, highlight=False, soft_wrap=True)
