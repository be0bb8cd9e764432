"""The touches that led to a customer: the non-bot clicks their conversions named, plus every other click
by the same visitor (Click.visitor: truncated IP + user agent). Read by attribution on the write path and
by the attribution report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.models import Click, Customer, Event, Program

_CHUNK = 500


def chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def touches_by_customer(
    session: Session, program: Program, customer_ids: list[str], customers: dict[str, Customer]
) -> dict[str, list[Click]]:
    named: dict[str, set[str]] = defaultdict(set)
    for customer_id, customer in customers.items():
        if customer.click_id:
            named[customer_id].add(customer.click_id)
    for chunk in chunks(customer_ids):
        rows = session.execute(
            select(Event.customer_id, Event.click_id).where(
                Event.program_id == program.id, Event.customer_id.in_(chunk), Event.click_id.is_not(None)
            )
        )
        for customer_id, click_id in rows:
            if click_id:
                named[customer_id].add(click_id)
    all_named = sorted({click_id for ids in named.values() for click_id in ids})
    named_clicks: dict[str, Click] = {}
    for chunk in chunks(all_named):
        for click in session.execute(
            select(Click).where(Click.program_id == program.id, Click.id.in_(chunk))
        ).scalars():
            named_clicks[click.id] = click
    visitors = sorted({click.visitor for click in named_clicks.values() if click.visitor})
    by_visitor: dict[str, list[Click]] = defaultdict(list)
    for chunk in chunks(visitors):
        statement = select(Click).where(Click.program_id == program.id, Click.visitor.in_(chunk))
        for click in session.execute(statement).scalars():
            by_visitor[click.visitor or ""].append(click)
    touches: dict[str, list[Click]] = {}
    for customer_id, click_ids in named.items():
        found: dict[str, Click] = {}
        for click_id in click_ids:
            named_click = named_clicks.get(click_id)
            if named_click is None:
                continue
            found[named_click.id] = named_click
            for same in by_visitor.get(named_click.visitor, []) if named_click.visitor else []:
                found[same.id] = same
        touches[customer_id] = [click for click in found.values() if not click.is_bot]
    return touches


def customer_touches(session: Session, program: Program, customer: Customer) -> list[Click]:
    """The customer's non-bot clicks (named by their conversions, or by the same visitor), any age."""
    return touches_by_customer(session, program, [customer.id], {customer.id: customer}).get(customer.id, [])
