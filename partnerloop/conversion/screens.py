"""Who hears of a lead, sale or refund as it is recorded, in its transaction, before the answer.

- screens (alerts' fraud rules) look at a conversion just priced and may hold its commissions (through
  commission/service), returning them as they are now; rescreens look again at a customer's conversions
  when a fact about the customer arrives later (a card fingerprint from Stripe);
- followers (referrals) hear of a conversion once it is attributed, and of a refund of a sale.

Alerts read reports and referrals make partners and links, which read conversions: conversion/service
calling them would be an import circle. So they add themselves here (alert/service and referral/service
do on import; every process that records conversions imports them through the app's routers or the job
registry), as the link cache subscribes to link changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from partnerloop.models import Commission, Customer, Event, Program

Screen = Callable[[Session, Program, Customer, Event, list[Commission]], list[Commission]]

_screens: list[Screen] = []


def add_screen(screen: Screen) -> None:
    if screen not in _screens:
        _screens.append(screen)


def screened(
    session: Session, program: Program, customer: Customer, event: Event, commissions: list[Commission]
) -> list[Commission]:
    """The commissions after every screen has looked at the conversion."""
    for screen in _screens:
        commissions = screen(session, program, customer, event, commissions)
    return commissions


Rescreen = Callable[[Session, Program, str], None]

_rescreens: list[Rescreen] = []


def add_rescreen(rescreen: Rescreen) -> None:
    if rescreen not in _rescreens:
        _rescreens.append(rescreen)


def customer_facts_changed(session: Session, program: Program, external_id: str) -> None:
    """A fact the screens judge arrived after the customer's conversions were screened (a Stripe charge's
    card after its invoice's sale): the screens that judge it look at them again."""
    for rescreen in _rescreens:
        rescreen(session, program, external_id)


class Follower(Protocol):
    def converted(
        self, session: Session, program: Program, customer: Customer, event: Event, *, email: str | None
    ) -> None:
        """A lead or sale of the customer was recorded (or an earlier sale attributed)."""

    def refunded(self, session: Session, program: Program, sale: Event, refunded_at: datetime) -> None:
        """A refund of `sale` was recorded."""


_followers: list[Follower] = []


def add_follower(follower: Follower) -> None:
    if follower not in _followers:
        _followers.append(follower)


def converted(
    session: Session, program: Program, customer: Customer, event: Event, *, email: str | None = None
) -> None:
    for follower in _followers:
        follower.converted(session, program, customer, event, email=email)


def refunded(session: Session, program: Program, sale: Event, refunded_at: datetime) -> None:
    for follower in _followers:
        follower.refunded(session, program, sale, refunded_at)
