"""``sanctrace demo``: the synthetic exchange, end to end."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sanctrace.cli._console import context, err, out, state


def demo(
    folder: Annotated[Path, typer.Option(help="Where the demo world and report go.")] = Path(
        "demo-world"
    ),
    report: Annotated[Path, typer.Option(help="Report folder.")] = Path("demo-report"),
    customers: Annotated[int, typer.Option(help="Number of exchange customers.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2022,
) -> None:
    """Generate the synthetic exchange, run every step on it and write the HTML report."""
    from sanctrace.demo.run import run_demo

    summary = run_demo(context(), folder, report, customers=customers, seed=seed, console=err)
    table = Table("step", "result", title="sanctrace demo")
    for step, result in summary.steps:
        table.add_row(step, result)
    out.print(table)
    out.print(f"Report: [bold]{summary.report.resolve()}[/]")
    if summary.credentials:
        out.print("Credentials made for this run (shown once; only their hashes are stored):")
        for c in summary.credentials:
            out.print(
                f"  {c.kind} {c.name}: {c.secret}", markup=False, highlight=False, soft_wrap=True
            )
    _console_hint(folder)


def _console_hint(folder: Path) -> None:
    """The end of the demo: where the console is, with the demo's cases waiting in its queue."""
    from sanctrace.cases.cases import CaseQuery, list_cases
    from sanctrace.demo.accounts import ANALYST, APPROVER

    waiting = len(list_cases(context(), CaseQuery(state="open")))
    from sanctrace.demo.files import data_dir

    database = f"--db {shlex.quote(state.db_url)} " if state.db_url else ""
    command = f"sanctrace {database}--data-dir {shlex.quote(str(data_dir(folder)))} serve"
    out.print(
        f"Analyst console: run `{command}`, then open http://127.0.0.1:8000/ and sign in as "
        f"{ANALYST} (works cases) or {APPROVER} (approves them) with the passwords above; "
        f"{waiting} open cases wait in the queue. API docs: http://127.0.0.1:8000/docs",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
