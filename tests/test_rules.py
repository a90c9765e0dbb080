"""The rules file, RuleSet, custom CEL rules and error findings, over real databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanctrace.errors import BadRequest
from sanctrace.monitor.events import parse_event
from sanctrace.monitor.facts import LiveFacts
from sanctrace.monitor.rules import RuleSet, decision_of
from sanctrace.monitor.rules.base import Finding, Rule
from sanctrace.monitor.rules.config import PACKAGED, load_config
from sanctrace.services.context import Context
from sanctrace.settings import load_settings
from sanctrace.store.monitoring import insert_events

ONLY_CUSTOM = "\n".join(f"  {rid}: {{enabled: false}}" for rid in load_config().rules)


@pytest.fixture
def ctx(db_url, tmp_path) -> Context:
    return Context(load_settings(db=db_url, data_dir=str(tmp_path / "data")))


def rules_file(tmp_path: Path, text: str, name: str = "rules.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def withdrawal(i: int, amount: str = "0.5", hour: int = 10) -> dict:
    return {
        "event_id": f"w{i}",
        "type": "withdrawal",
        "time": f"2026-03-01T{hour:02d}:{i:02d}:00+09:00",
        "customer_id": "c1",
        "chain": "btc",
        "asset": "BTC",
        "amount": amount,
        "address": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    }


def store(ctx: Context, records: list[dict]) -> None:
    rows = []
    for r in records:
        e = parse_event(r)
        rows.append(
            {
                "event_id": e.event_id,
                "type": e.type,
                "time": e.time,
                "customer_id": e.customer_id,
                "payload": e.model_dump(mode="json"),
                **{c: getattr(e, c, None) for c in ("chain", "asset", "amount", "address")},
            }
        )
    with ctx.db.begin() as conn:
        insert_events(conn, rows)


def test_packaged_rules_load_with_every_builtin_id():
    rules = RuleSet.load()
    assert set(rules.by_id) >= {
        "sanctioned_address",
        "indirect_exposure",
        "name_match",
        "sanctioned_jurisdiction_ip",
        "sanctioned_vasp",
    }
    assert len(rules.version) == 64 and rules.version == RuleSet.load().version
    assert rules.by_id["sanctioned_address"].config.action == "block"
    assert rules.by_id["indirect_exposure"].params["min_fraction"] == 0.1


def test_user_file_merges_per_rule_and_changes_the_version(tmp_path):
    base = RuleSet.load()
    path = rules_file(
        tmp_path,
        "rules:\n  indirect_exposure:\n    params:\n      hops: 3\n      min_amount: {BTC: 5}\n"
        "  name_match: {enabled: false}\n",
    )
    mine = RuleSet.load(path)
    rule = mine.by_id["indirect_exposure"]
    assert rule.params["hops"] == 3 and rule.params["min_fraction"] == 0.1
    # One asset overridden, the others kept.
    assert rule.params["min_amount"]["BTC"] == 5 and rule.params["min_amount"]["ETH"] > 0
    assert "name_match" not in mine.by_id
    assert mine.version != base.version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules:\n  no_such_rule: {}\n", "rules.no_such_rule: unknown rule id"),
        ("rules:\n  name_match: {action: stop}\n", "rules.name_match.action: 'stop'"),
        ("rules:\n  name_match: {severity: 3}\n", "rules.name_match.severity"),
        (
            "rules:\n  indirect_exposure: {params: {hops: five}}\n",
            "params.hops: expected an integer",
        ),
        ("rules:\n  indirect_exposure: {params: {nope: 1}}\n", "params.nope: unknown parameter"),
        (
            "rules:\n  indirect_exposure: {params: {min_fraction: 2}}\n",
            "params.min_fraction: must be",
        ),
        (
            "rules:\n  structuring: {params: {thresholds: {BTC: 0.1}}}\n",
            "thresholds.BTC: expected a decimal",
        ),
        (
            "rules:\n  sanctioned_jurisdiction_ip: {params: {sanctioned: [North]}}\n",
            "sanctioned[0]",
        ),
        ("bogus: 1\n", "bogus: unknown key"),
        ("rules: [\n", "not valid YAML"),
        (
            "custom:\n  - {id: c1, events: [login], expression: 'event.ip ==', "
            "explanation: {en: a, ja: b}}\n",
            "custom[0].expression: not a valid CEL expression",
        ),
        (
            "custom:\n  - {id: c1, events: [trade], expression: 'true', explanation: {en: a, ja: b}}\n",
            "custom[0].events",
        ),
        (
            "custom:\n  - {id: name_match, events: [login], expression: 'true', "
            "explanation: {en: a, ja: b}}\n",
            "is a built-in rule's id",
        ),
        (
            "custom:\n  - {id: c1, events: [login], expression: 'true', explanation: {en: a}}\n",
            "explanation.ja",
        ),
    ],
)
def test_bad_config_names_the_file_and_key(tmp_path, text, expected):
    path = rules_file(tmp_path, text, "mine.yml")
    with pytest.raises(BadRequest) as caught:
        RuleSet.load(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)


def test_missing_user_file_is_a_bad_request(tmp_path):
    with pytest.raises(BadRequest, match="cannot read"):
        RuleSet.load(tmp_path / "absent.yml")


def test_the_packaged_file_is_package_data():
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert "monitor/rules/rules.yml" in text and PACKAGED.exists()


CUSTOM = f"""
rules:
{ONLY_CUSTOM}
custom:
  - id: burst
    severity: high
    action: hold
    events: [withdrawal]
    expression: "agg.withdrawals_24h.count >= 3 && agg.withdrawals_24h.sum > 1.2 && amount >= 0.5"
    explanation:
      en: "three withdrawals over 1.2 BTC in a day"
      ja: "1日に3件、合計1.2 BTC超の出金"
  - id: broken
    events: [withdrawal]
    expression: "event.no_such_field > 1"
    explanation: {{en: "broken", ja: "壊れたルール"}}
  - id: not_bool
    events: [login]
    expression: "event.customer_id"
    explanation: {{en: "x", ja: "x"}}
"""


def test_custom_rule_fires_on_aggregates_and_errors_are_visible(ctx, tmp_path):
    rules = RuleSet.load(rules_file(tmp_path, CUSTOM))
    facts = LiveFacts(ctx)
    store(ctx, [withdrawal(1), withdrawal(2)])
    # Two stored plus this one: three withdrawals, 1.5 BTC.
    third = parse_event(withdrawal(3))
    findings = rules.evaluate(third, facts)
    by_rule = {f.rule: f for f in findings}
    assert by_rule["burst"].action == "hold" and not by_rule["burst"].error
    assert by_rule["burst"].evidence["agg"]["withdrawals_24h"]["count"] == 3
    assert by_rule["burst"].summary_ja == "1日に3件、合計1.2 BTC超の出金"
    # The expression that fails on the event is an error finding, never a pass.
    assert by_rule["broken"].error and "no_such_field" in by_rule["broken"].summary
    assert decision_of(findings) == "hold"
    # Near miss: the same count the day after is outside 24 h.
    later = parse_event({**withdrawal(4), "time": "2026-03-03T10:00:00+09:00"})
    assert "burst" not in {f.rule for f in rules.evaluate(later, facts) if not f.error}
    login = parse_event(
        {
            "event_id": "l1",
            "type": "login",
            "time": "2026-03-01T10:00:00+09:00",
            "customer_id": "c1",
            "ip": "192.0.2.1",
        }
    )
    (wrong,) = rules.evaluate(login, facts)
    assert wrong.rule == "not_bool" and wrong.error and "not true or false" in wrong.summary


class Exploding(Rule):
    id = "exploding"
    event_types = frozenset({"login"})

    def evaluate(self, event, facts) -> list[Finding]:
        raise RuntimeError("boom")


def test_a_rule_that_raises_gives_an_error_finding_and_a_hold(ctx, tmp_path):
    base = RuleSet.load(rules_file(tmp_path, f"rules:\n{ONLY_CUSTOM}\n"))
    from sanctrace.monitor.rules.base import RuleConfig

    rules = RuleSet(base.config, [Exploding(RuleConfig(id="exploding", action="alert"))])
    login = parse_event(
        {
            "event_id": "l1",
            "type": "login",
            "time": "2026-03-01T10:00:00+09:00",
            "customer_id": "c1",
            "ip": "192.0.2.1",
        }
    )
    findings = rules.evaluate(login, LiveFacts(ctx))
    assert [(f.rule, f.error) for f in findings] == [("exploding", True)]
    assert "boom" in findings[0].summary and "評価できませんでした" in findings[0].summary_ja
    assert decision_of(findings) == "hold"
