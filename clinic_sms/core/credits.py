"""Credits: what a message costs, which month it belongs to, how a cost is split between the month's
allowance and purchased packs, and the warning thresholds.

Plain values only: ``now`` is a naive UTC datetime (Odoo's), time zones are IANA names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo


def cost(parts: int, number: str, per_part: float, prices: Mapping[str, float] | None = None) -> float:
    """Credits for a message of ``parts`` parts to ``number`` (E.164): the price of the longest
    prefix in ``prices`` that the number starts with, else ``per_part``, times the parts."""
    rate = per_part
    best = ""
    for prefix, price in (prices or {}).items():
        if number.startswith(prefix) and len(prefix) > len(best):
            best, rate = prefix, price
    return round(max(parts, 0) * rate, 2)


def split(amount: float, allowance_left: float) -> tuple[float, float]:
    """How a cost of ``amount`` is paid: (from the allowance, from packs). The allowance goes first."""
    from_allowance = round(min(amount, max(allowance_left, 0.0)), 2)
    return from_allowance, round(amount - from_allowance, 2)


def month_of(now: datetime, tz: str) -> tuple[str, datetime]:
    """The month ``now`` (naive UTC) falls in at the clinic (``"2027-03"``) and when that month
    began, as a naive UTC datetime (midnight on the 1st, clinic time)."""
    zone = ZoneInfo(tz or "UTC")
    local = now.replace(tzinfo=timezone.utc).astimezone(zone)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    return f"{local.year:04d}-{local.month:02d}", start.astimezone(timezone.utc).replace(tzinfo=None)


def local_day(when: datetime, tz: str) -> date:
    """The day ``when`` (naive UTC) falls on at the clinic."""
    return when.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz or "UTC")).date()


def price_on(prices: Iterable[tuple[date, float]], day: date) -> float | None:
    """The price per credit that applies on ``day`` (a clinic-time date): of ``prices`` ((valid
    from, price per credit) pairs), the one valid from the latest day on or before ``day``; None
    before the first one."""
    best = None
    for valid_from, price in prices:
        if valid_from <= day and (best is None or valid_from > best[0]):
            best = (valid_from, price)
    return best[1] if best else None


def value_of_use(
    used_by_day: Mapping[date, float], prices: Iterable[tuple[date, float]]
) -> tuple[float, float]:
    """What credits used cost in money: ``used_by_day`` {clinic-time day: credits used that day}
    times the price per credit of each day. Answers (the amount, the credits used on days without
    a price, which have none)."""
    prices = list(prices)
    amount = unpriced = 0.0
    for day, used in used_by_day.items():
        price = price_on(prices, day)
        if price is None:
            unpriced += used
        else:
            amount += used * price
    return amount, round(unpriced, 2)


def parse_thresholds(text: str, strict: bool = False) -> list[float]:
    """``"50, 30,0"`` → ``[50.0, 30.0, 0.0]`` (highest first, no duplicates). Bad items raise
    ValueError when ``strict``, else are ignored."""
    values = set()
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            values.add(float(item))
        except ValueError:
            if strict:
                raise
    return sorted(values, reverse=True)


def format_number(value: float) -> str:
    """50.0 → "50", 12.5 → "12.5"."""
    return f"{value:g}"


@dataclass(frozen=True)
class Crossing:
    warned: str  # the thresholds the balance is now at or below, as stored ("50,30")
    new: tuple[float, ...]  # those not warned about before: an e-mail is due (lowest first)
    changed: bool  # whether ``warned`` differs from what was stored


def crossing(balance: float, thresholds: str, warned_before: str) -> Crossing:
    """Which warning thresholds ``balance`` is at or below, and which of them are new since the
    last check (``warned_before``). A threshold warns once per crossing: it is re-armed when the
    balance rises above it again."""
    crossed = [t for t in parse_thresholds(thresholds) if balance <= t]
    new = tuple(sorted(set(crossed) - set(parse_thresholds(warned_before))))
    text = ",".join(format_number(t) for t in crossed)
    return Crossing(text, new, text != (warned_before or ""))
