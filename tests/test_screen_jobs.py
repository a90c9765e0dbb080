"""``screen names --jobs N``: worker processes over the one mapped index give the same output
file as one process, whatever the number of jobs."""

from __future__ import annotations

import csv
import random

import pytest

from helpers import run
from sanctrace.errors import BadRequest
from sanctrace.lists.snapshots import load_lists
from sanctrace.services import names as name_service
from sanctrace.services._bulk_jobs import MIN_PER_JOB
from sanctrace.services.context import Context
from sanctrace.settings import Settings

LISTED = [
    "Arkady Kornevsky",
    "KORNEVSKII Arkadii",
    "Корневский Аркадий",
    "コルネフスキー・アルカジー",
    "Taiga Vychisleniya",
    "Severnaya Zvezda",
]
OTHERS = ["Hanako Yamada", "John Smith", "Maria Garcia", "Ivan Petrov", "Chen Wei", "山田太郎"]


def _typo(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text))
    return text[:i] + rng.choice("aeiouk") + text[i + 1 :]


def write_customers(path, count: int) -> None:
    """``count`` customers: listed names (some misspelt), other names, both schemas."""
    rng = random.Random(15)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "name", "schema", "birth_date", "country"])
        for i in range(count):
            name = rng.choice(LISTED if i % 3 else OTHERS)
            if rng.random() < 0.4:
                name = _typo(rng, name)
            schema = rng.choice(["Person", "", "Company"])
            out.writerow([f"c{i:05d}", name, schema, rng.choice(["", "1971"]), ""])


@pytest.fixture
def ctx(tmp_path, fixtures):
    # The output contract does not depend on the database: SQLite only.
    context = Context(Settings(db=f"sqlite:///{tmp_path / 'jobs.db'}", data_dir=tmp_path / "data"))
    load_lists(context.db, [fixtures / "lists" / "ofac_csv"])
    yield context
    context.db.dispose()


def test_jobs_give_the_same_output_as_one_process(ctx, tmp_path):
    names_csv = tmp_path / "customers.csv"
    count = 2 * MIN_PER_JOB + 50  # enough for two workers
    write_customers(names_csv, count)
    outputs = {}
    for jobs in (1, 2):
        out = tmp_path / f"matches-{jobs}.csv"
        seen: list[int] = []
        request = name_service.BulkRequest(input=names_csv, output=out, jobs=jobs)
        answer = name_service.screen_names(ctx, request, progress=seen.append)
        assert answer.names == count and sum(seen) == count
        outputs[jobs] = out.read_bytes()
    assert outputs[1] == outputs[2]
    rows = list(csv.DictReader(outputs[1].decode().splitlines()))
    assert len({r["query_id"] for r in rows}) > count // 3  # most listed names match


def test_cli_jobs_option(ctx, tmp_path):
    names_csv = tmp_path / "customers.csv"
    write_customers(names_csv, 2 * MIN_PER_JOB + 10)
    one = tmp_path / "one.csv"
    name_service.screen_names(ctx, name_service.BulkRequest(input=names_csv, output=one, jobs=1))
    two = tmp_path / "two.csv"
    db = ctx.settings.db
    done = run(
        "--data-dir",
        str(ctx.settings.data_dir),
        "screen",
        "names",
        str(names_csv),
        "--out",
        str(two),
        "--jobs",
        "2",
        db=db,
    )
    assert done.returncode == 0, done.stderr
    assert two.read_bytes() == one.read_bytes()
    with pytest.raises(BadRequest, match="jobs"):
        name_service.BulkRequest(input=names_csv, output=two, jobs=0)
