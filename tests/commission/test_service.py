"""The conversion service under concurrency, click commissions, and a click still in the buffer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.app import create_app
from partnerloop.commission.clicks import ClickFacts, price_clicks, record_click_commissions
from partnerloop.conversion.schemas import SaleIn, TrackedSale
from partnerloop.conversion.service import track_sale
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import Click, Commission, Program
from tests.commission.factories import counts, make_click, make_partner, make_plan
from tests.conftest import ProgramKeys, make_settings

THREADS = 8


def test_duplicate_sale_concurrently_yields_one_sale(
    client: TestClient, engine: Engine, program: ProgramKeys, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): there is no concurrent insert to race")
    make_plan(client, program)
    partner = make_partner(client, program)
    click_id = make_click(client, engine, program, partner["id"])
    body = SaleIn(customer_external_id="cus_race", amount=4900, currency="usd", invoice_id="in_race", click_id=click_id)
    barrier = threading.Barrier(THREADS)

    def one_request() -> TrackedSale:
        with transaction(engine) as session:
            loaded = session.get(Program, program.id)
            assert loaded is not None
            barrier.wait(timeout=10)  # every thread is inside its own transaction before any inserts
            return track_sale(session, loaded, body, utc_now())

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(lambda _: one_request(), range(THREADS)))

    assert len({answer.sale.id for answer in answers}) == 1
    assert len({tuple(c.id for c in answer.commissions) for answer in answers}) == 1
    assert len(answers[0].commissions) == 1
    assert counts(engine) == {"customers": 1, "events": 1, "commissions": 1}


def test_a_click_still_in_the_buffer_is_flushed_for_the_lead(
    engine: Engine, program: ProgramKeys, database_url: str
) -> None:
    # A minute between timed flushes: the click is in memory only when the lead names it.
    app = create_app(make_settings(database_url, click_flush_interval_ms=60_000, click_batch_size=10_000))
    with TestClient(app) as client:
        make_plan(client, program)
        partner = make_partner(client, program)
        link = client.post(
            "/api/v1/links",
            json={"partner_id": partner["id"], "destination_url": "https://acme.test/"},
            headers=program.headers,
        ).json()
        redirect = client.get(f"/go/{link['key']}", follow_redirects=False)
        assert redirect.status_code == 302
        click_id = parse_qs(urlsplit(redirect.headers["location"]).query)["pl_cid"][0]
        with transaction(engine, writes=False) as session:
            assert session.get(Click, click_id) is None
        response = client.post(
            "/api/v1/track/lead", json={"customer_external_id": "c", "click_id": click_id}, headers=program.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["customer"]["partner_id"] == partner["id"]
        assert response.json()["commissions"][0]["earnings_amount"] == 500


CLICK_PLAN = [
    {"event": "click", "reward": {"type": "flat", "amount": 10}},
    {"event": "sale", "reward": {"type": "percent", "rate_bps": 1000}},
]


def click_facts_of(engine: Engine, click_ids: list[str]) -> list[ClickFacts]:
    with transaction(engine, writes=False) as session:
        rows = session.execute(select(Click).where(Click.id.in_(click_ids)).order_by(Click.id)).scalars()
        return [ClickFacts(c.id, c.program_id, c.partner_id, c.created_at, c.is_bot, True) for c in rows]


def price_and_record(engine: Engine, clicks: list[ClickFacts]) -> tuple[int, int]:
    """(commissions priced, commissions inserted) of the clicks, in one transaction as the click writer does."""
    with engine.begin() as connection:
        priced = price_clicks(connection, clicks)
        return len(priced), record_click_commissions(connection, priced)


def test_click_commissions_pay_approved_partners_once_per_human_click(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program, rules=CLICK_PLAN)
    approved = make_partner(client, program)
    pending = make_partner(client, program, status="pending")
    clicks = [
        make_click(client, engine, program, approved["id"]),
        make_click(client, engine, program, approved["id"], is_bot=True),
    ]
    client.post(f"/api/v1/partners/{pending['id']}/approve", headers=program.headers)
    clicks.append(make_click(client, engine, program, pending["id"]))
    client.post(f"/api/v1/partners/{pending['id']}/ban", headers=program.headers)
    facts = click_facts_of(engine, clicks)
    assert price_and_record(engine, facts) == (1, 1)
    assert price_and_record(engine, facts) == (1, 0)  # priced again, inserted once
    with transaction(engine, writes=False) as session:
        commissions = list(session.execute(select(Commission)).scalars())
    assert [(c.kind, c.click_id, c.partner_id, c.earnings_amount, c.status) for c in commissions] == [
        ("click", clicks[0], approved["id"], 10, "pending")
    ]
    assert commissions[0].explanation == "0.10 USD per click under Standard"
    assert commissions[0].hold_until > utc_now() + timedelta(days=29)


def test_click_commissions_need_a_click_rule(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    make_plan(client, program)  # sale and lead rules only
    click_id = make_click(client, engine, program, make_partner(client, program)["id"])
    assert price_and_record(engine, click_facts_of(engine, [click_id])) == (0, 0)
    assert counts(engine)["commissions"] == 0
