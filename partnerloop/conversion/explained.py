"""The words pages show for how customers and commissions were attributed (worded by conversion/wording.py),
from the facts behind them: the customer, the click and its link, the lead or sale that attributed the
customer, the partner's name and referral code. A few batched look-ups per page, never one per row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from partnerloop.conversion import repository
from partnerloop.conversion.wording import AttributionFacts, Channel, attribution_words, customer_label
from partnerloop.models import Commission, Customer
from partnerloop.partner import figures as partner_figures

FORMER_PARTNER = "a former partner"


@dataclass(frozen=True)
class _Known:
    names: dict[str, str]  # partner id -> name
    codes: dict[str, str]  # partner id -> referral code (enrolled partners)
    clicks: dict[str, tuple[str, datetime]]  # click id -> (link key, clicked at)
    events: dict[str, tuple[str, str | None]]  # customer id -> (kind, coupon code) of the attributing event


def _known(
    session: Session, program_id: str, customers: Sequence[Customer], partner_ids: set[str], click_ids: set[str]
) -> _Known:
    partner_ids = partner_ids | {c.partner_id for c in customers if c.partner_id}
    enrolled = partner_figures.enrolled_among(session, program_id, sorted(partner_ids))
    return _Known(
        names={
            partner_id: name for partner_id, (name, _email) in partner_figures.names_of(session, partner_ids).items()
        },
        codes={partner_id: enrollment.referral_code for partner_id, (_p, enrollment) in enrolled.items()},
        clicks=repository.click_links(session, program_id, click_ids | {c.click_id for c in customers if c.click_id}),
        events=repository.attributing_events(session, program_id, {c.id for c in customers if c.partner_id}),
    )


def _customer_facts(customer: Customer, known: _Known) -> AttributionFacts:
    if customer.partner_id is None:
        return AttributionFacts(None)
    name = known.names.get(customer.partner_id, FORMER_PARTNER)
    event = known.events.get(customer.id)
    converted_as = "sale" if event is not None and event[0] == "sale" else "sign-up"
    click = known.clicks.get(customer.click_id) if customer.click_id else None
    if click is not None:
        return AttributionFacts(name, Channel.LINK, click[0], click[1], customer.attributed_at, converted_as)
    if event is not None and event[1]:
        return AttributionFacts(name, Channel.COUPON, event[1])
    if event is not None and customer.partner_id in known.codes:  # no click, no coupon: the lead named the code
        return AttributionFacts(name, Channel.CODE, known.codes[customer.partner_id])
    return AttributionFacts(name)


def customer_attributions(session: Session, program_id: str, customers: Sequence[Customer]) -> dict[str, str]:
    """Customer id -> how they were attributed, in words ('Jane Cooper · link /go/jane · 2 h before sign-up')."""
    known = _known(session, program_id, customers, set(), set())
    return {customer.id: attribution_words(_customer_facts(customer, known)) for customer in customers}


def _commission_facts(commission: Commission, customer: Customer | None, known: _Known) -> AttributionFacts | None:
    if customer is None:
        return None  # a bonus or a manual commission: no customer was attributed
    if customer.partner_id == commission.partner_id:
        return _customer_facts(customer, known)
    # a share of a multi-touch split: this partner's own click, up to the sale
    name = known.names.get(commission.partner_id, FORMER_PARTNER)
    click = known.clicks.get(commission.click_id) if commission.click_id else None
    if click is None:
        return AttributionFacts(name)
    return AttributionFacts(name, Channel.LINK, click[0], click[1], commission.occurred_at, "sale")


def commission_attributions(session: Session, program_id: str, commissions: Sequence[Commission]) -> dict[str, str]:
    """Commission id -> how its customer was attributed to its partner, in words; commissions without a
    customer (bonuses, manual ones) are left out."""
    customers = repository.customers_by_ids(session, program_id, {c.customer_id for c in commissions if c.customer_id})
    known = _known(
        session,
        program_id,
        list(customers.values()),
        {c.partner_id for c in commissions},
        {c.click_id for c in commissions if c.click_id},
    )
    words: dict[str, str] = {}
    for commission in commissions:
        customer = customers.get(commission.customer_id) if commission.customer_id else None
        facts = _commission_facts(commission, customer, known)
        if facts is not None:
            words[commission.id] = attribution_words(facts)
    return words


def customers_of(session: Session, program_id: str, customer_ids: set[str]) -> dict[str, Customer]:
    """The program's customers among `customer_ids`, by id (to name them on a page)."""
    return repository.customers_by_ids(session, program_id, customer_ids)


def customer_labels(
    session: Session, program_id: str, customers: Sequence[Customer], *, masked: bool
) -> dict[str, str]:
    """Customer id -> how a page row names the customer (wording.customer_label): the email the program knows
    (masked for partners, who should not harvest the merchant's customers), else the name, else the external id."""
    emails = repository.customer_emails(session, program_id, {c.id: c.external_id for c in customers})
    return {c.id: customer_label(emails.get(c.id), c.name, c.external_id, masked=masked) for c in customers}
