"""The setup checklist: what a clinic must set before its first real SMS, and whether it has.

Shown in Settings in the style of Odoo's onboarding panels, and counted in the SMS log's banner
until every step is done. The steps, in order:

1. **Time zone** – set, and one of the time zones of the clinic's country (when the country is
   known): the default is the installing user's, which may be another country's.
2. **Sending window** – a window that keeps SMS away from the night (0 – 24 h sends at any hour).
3. **Gateway** – a real gateway (not the test gateway, which sends nothing) that took a test SMS
   (*Send test SMS*), and no test gateway among the ones the clinic's messages may go through.
4. **Templates** – the SMS templates reviewed in every language the clinic's patients have.
5. **Credits** – only when the credit check is on: a balance that pays for messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Step names, in the order they are shown.
STEPS = ("tz", "window", "gateway", "templates", "credits")


@dataclass(frozen=True)
class Gateway:
    simulated: bool  # the test gateway: sends nothing
    tested: bool  # a test SMS through it was accepted or delivered


@dataclass(frozen=True)
class Facts:
    tz: str = ""
    country_tzs: tuple[str, ...] = ()  # the clinic's country's time zones; empty: unknown country
    window_start: float = 0.0
    window_end: float = 24.0
    gateways: tuple[Gateway, ...] = ()  # the active gateways the clinic's messages may go through
    langs: tuple[str, ...] = ()  # the languages of the clinic's patients (codes)
    reviewed: frozenset[str] = field(default_factory=frozenset)  # languages whose templates were reviewed
    credit_check: bool = False
    balance: float = 0.0


@dataclass(frozen=True)
class Checklist:
    tz: bool
    window: bool
    gateway: bool
    templates: bool
    credits: bool  # True when credits are not checked (the step does not apply)
    credits_apply: bool
    langs_todo: tuple[str, ...]  # languages whose templates are still to review, in order

    @property
    def total(self) -> int:
        return len(STEPS) if self.credits_apply else len(STEPS) - 1

    @property
    def done_count(self) -> int:
        steps = [self.tz, self.window, self.gateway, self.templates]
        if self.credits_apply:
            steps.append(self.credits)
        return sum(steps)

    @property
    def done(self) -> bool:
        return self.done_count == self.total


def checklist(facts: Facts) -> Checklist:
    """Which steps of the setup are done for a clinic described by ``facts``."""
    tz_done = bool(facts.tz) and (not facts.country_tzs or facts.tz in facts.country_tzs)
    window_done = facts.window_start > 0 or facts.window_end < 24
    gateway_done = (
        bool(facts.gateways)
        and not any(g.simulated for g in facts.gateways)
        and any(g.tested for g in facts.gateways)
    )
    todo = tuple(lang for lang in dict.fromkeys(facts.langs) if lang not in facts.reviewed)
    return Checklist(
        tz=tz_done,
        window=window_done,
        gateway=gateway_done,
        templates=not todo,
        credits=not facts.credit_check or facts.balance > 0,
        credits_apply=facts.credit_check,
        langs_todo=todo,
    )
