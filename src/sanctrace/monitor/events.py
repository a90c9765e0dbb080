"""Exchange activity as event records: what the exchange sends sanctrace (docs/events.md).

Every event has an ``event_id`` (the same id twice is stored once), a ``type``, a ``time``
(ISO 8601 with an offset) and a ``customer_id``. The types:

* ``customer`` — a customer created or updated: kind, names (each a legal name, a kana reading
  or an alias, in any script), birth date, nationality, residence, address and phone country,
  identity documents;
* ``wallet`` — a customer's deposit address or whitelisted withdrawal address, added or removed;
* ``login`` — IP, device and user agent;
* ``deposit`` — a credit on chain: chain, asset, amount (a decimal string in the asset's usual
  unit, stored exactly), txid, output or log index, the exchange's deposit address, and the
  travel-rule originator when known;
* ``withdrawal`` — a request before it is sent: chain, asset, amount, destination address,
  the travel-rule beneficiary, the IP it came from;
* ``fiat_in`` / ``fiat_out`` — bank transfers: amount, currency, bank country, counterparty.

Country fields take an ISO 3166-1 alpha-2 code or a country name and are kept as the upper-case
code. Records are validated once, here; a bad one is a ``BadEvent`` naming its field.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from sanctrace.countries import country_code
from sanctrace.errors import BadRequest

__all__ = [
    "EVENT_TYPES",
    "Amount",
    "BadEvent",
    "CustomerEvent",
    "DepositEvent",
    "Event",
    "FiatEvent",
    "IdDocument",
    "LoginEvent",
    "NameIn",
    "Party",
    "WalletEvent",
    "WithdrawalEvent",
    "parse_event",
]

EVENT_TYPES = (
    "customer",
    "wallet",
    "login",
    "deposit",
    "withdrawal",
    "fiat_in",
    "fiat_out",
)
_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,29})(\.[0-9]{1,30})?$")


class BadEvent(BadRequest):
    """An event record that is not valid: the message names the record and the field."""


def _amount(value: str) -> str:
    if not _AMOUNT.match(value):
        raise ValueError("a non-negative decimal number written with digits and one '.'")
    return value


def _country(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = country_code(value)
    if code is None:
        raise ValueError(f"{value!r}: not a country code or a known country name")
    return code.upper()


# A decimal string, kept exactly as sent ("0.95"); ``Decimal(amount)`` computes with it.
Amount = Annotated[str, Field(max_length=64), AfterValidator(_amount)]
Country = Annotated[str | None, Field(default=None, max_length=100), AfterValidator(_country)]
Text = Annotated[str, Field(min_length=1, max_length=500)]
Short = Annotated[str, Field(min_length=1, max_length=128)]
IpAddress = IPv4Address | IPv6Address


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class NameIn(_Record):
    """One name of a customer or counterparty, in its own script."""

    text: Text
    script: str | None = Field(default=None, max_length=16)  # detected when absent
    kind: Literal["legal", "kana", "alias"] = "legal"


class IdDocument(_Record):
    type: Short
    number: Short
    country: Country = None


class Party(_Record):
    """A travel-rule originator or beneficiary (IVMS101-style)."""

    names: list[NameIn] = Field(default_factory=list, max_length=20)
    vasp: str | None = Field(default=None, max_length=200)
    wallet: str | None = Field(default=None, max_length=200)
    country: Country = None


class _Event(_Record):
    event_id: Short
    time: AwareDatetime
    customer_id: Short


class CustomerEvent(_Event):
    type: Literal["customer"]
    action: Literal["create", "update"] = "create"
    kind: Literal["person", "company"]
    names: list[NameIn] = Field(min_length=1, max_length=50)
    birth_date: str | None = Field(default=None, max_length=10)
    nationality: Country = None
    residence: Country = None
    address_country: Country = None
    phone_country: Country = None
    id_documents: list[IdDocument] = Field(default_factory=list, max_length=20)


class WalletEvent(_Event):
    type: Literal["wallet"]
    action: Literal["add", "remove"] = "add"
    chain: Short
    address: Text
    purpose: Literal["deposit", "withdrawal"]
    label: str | None = Field(default=None, max_length=200)
    vasp: str | None = Field(default=None, max_length=200)


class LoginEvent(_Event):
    type: Literal["login"]
    ip: IpAddress
    device_id: str | None = Field(default=None, max_length=200)
    user_agent: str | None = Field(default=None, max_length=500)


class DepositEvent(_Event):
    type: Literal["deposit"]
    chain: Short
    asset: Short
    amount: Amount
    txid: Short
    output_index: int | None = Field(default=None, ge=0)
    log_index: int | None = Field(default=None, ge=0)
    address: Text  # the exchange's deposit address
    originator: Party | None = None


class WithdrawalEvent(_Event):
    type: Literal["withdrawal"]
    chain: Short
    asset: Short
    amount: Amount
    address: Text  # the destination
    beneficiary: Party | None = None
    ip: IpAddress | None = None


class FiatEvent(_Event):
    type: Literal["fiat_in", "fiat_out"]
    amount: Amount
    currency: str = Field(min_length=3, max_length=3, pattern="^[A-Za-z]{3}$")
    bank_country: Country = None
    counterparty_name: str | None = Field(default=None, max_length=500)


Event = Annotated[
    CustomerEvent | WalletEvent | LoginEvent | DepositEvent | WithdrawalEvent | FiatEvent,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: Any, where: str = "event") -> Event:
    """One event from its JSON form; ``BadEvent`` names ``where`` and the first bad field."""
    if not isinstance(data, dict):
        raise BadEvent(f"{where}: an event is a JSON object")
    if data.get("type") not in EVENT_TYPES:
        raise BadEvent(
            f"{where}: type: {data.get('type')!r} is not one of {', '.join(EVENT_TYPES)}"
        )
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"][1:]) or "record"
        raise BadEvent(f"{where}: {field}: {first['msg']}") from None


def amount_of(event: DepositEvent | WithdrawalEvent | FiatEvent) -> Decimal:
    """The event's amount as an exact decimal."""
    return Decimal(event.amount)


def event_time(event: Event) -> datetime:
    return event.time
