"""Who screens a lead or sale as it is recorded, in its transaction, before the answer.

The fraud rules belong to alerts, which read reports, which read conversions: conversion/service calling
alert would be an import circle. So alerts add their screen here (alert/service does on import; every
process that records conversions imports it through the app's routers or the job registry), as the link
cache subscribes to link changes. A screen may hold the conversion's commissions (through
commission/service) and returns them as they are now.
"""

from __future__ import annotations

from collections.abc import Callable

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
