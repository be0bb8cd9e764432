"""The ECB's daily reference rates from a loopback server, and sales that waited for a rate priced when
it arrives (once, across a restart of the app)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.app import create_app
from partnerloop.config import Settings
from partnerloop.db import transaction
from partnerloop.fx.tasks import configure_fx
from partnerloop.job_registry import SCHEDULES
from partnerloop.jobs import schedules
from partnerloop.jobs.runner import run_next_job
from partnerloop.kit.time import utc_now
from partnerloop.models import Commission, FxRate, Job
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys, make_program, make_settings
from tests.fx.ecb_server import ECB_CURRENCIES, EcbServer

FETCH = [schedule for schedule in SCHEDULES if schedule.kind == "fx.fetch_ecb"]
SALE_RULES = [{"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}}]


@pytest.fixture
def ecb() -> Iterator[EcbServer]:
    server = EcbServer().start()
    yield server
    server.stop()


@pytest.fixture
def ecb_settings(database_url: str, ecb: EcbServer) -> Iterator[Settings]:
    # Jobs run when the test says (run_all), not by the app's runner racing it.
    yield make_settings(database_url, ecb_rates_url=ecb.url, run_jobs_in_process=False)
    configure_fx(make_settings(database_url))


@pytest.fixture
def ecb_client(ecb_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(ecb_settings), base_url="http://testserver") as client:
        yield client


def fetch_due(engine: Engine, now: datetime) -> None:
    """The periodic fx.fetch_ecb job, enqueued as the worker's tick would when it is due."""
    with transaction(engine) as session:
        assert schedules.tick(session, now, FETCH) == ["fx.fetch_ecb"]


def run_all(engine: Engine, now: datetime) -> None:
    while run_next_job(engine, "test-worker", now=now):
        pass


@pytest.fixture
def now() -> datetime:
    """A little ahead of the clock: the jobs the app enqueues (at the clock's now) are due by then."""
    return utc_now() + timedelta(minutes=1)


def ecb_rates(engine: Engine) -> list[tuple[str, str, str, str, str, str, datetime]]:
    with transaction(engine, writes=False) as session:
        rows = session.execute(select(FxRate).order_by(FxRate.program_id, FxRate.quote)).scalars()
        return [(r.program_id, r.base, r.quote, r.day.isoformat(), r.rate, r.source, r.updated_at) for r in rows]


def jobs(engine: Engine, kind: str) -> list[tuple[str, int, str | None]]:
    with transaction(engine, writes=False) as session:
        rows = session.execute(select(Job).where(Job.kind == kind).order_by(Job.created_at)).scalars()
        return [(job.status, job.attempts, job.last_error) for job in rows]


def test_the_daily_job_records_the_ecb_rates_for_every_program_and_a_second_run_changes_nothing(
    now: datetime, ecb_client: TestClient, engine: Engine, ecb: EcbServer
) -> None:
    dollars = make_program(engine, name="Dollars", currency="usd", email="usd@example.com")
    make_program(engine, name="Yen", currency="jpy", email="jpy@example.com")
    fetch_due(engine, now)
    run_all(engine, now)
    rates = ecb_rates(engine)
    assert len(rates) == 2 * ECB_CURRENCIES and {row[5] for row in rates} == {"ecb"}
    assert {row[1:5] for row in rates if row[0] == dollars.id} >= {
        ("eur", "usd", "2024-06-28", "1.0705"), ("eur", "jpy", "2024-06-28", "171.94"),
        ("eur", "gbp", "2024-06-28", "0.84638"), ("eur", "huf", "2024-06-28", "395.1"),
    }  # fmt: skip
    # A cross rate comes through the euro, exactly: 1 JPY = 1.0705/171.94 USD.
    latest = ecb_client.get("/api/v1/fx-rates/latest", params={"base": "jpy", "quote": "usd", "on": "2024-06-30"},
                            headers=dollars.headers)  # fmt: skip
    assert latest.json()["rate"] == "1.0705/171.94" and latest.json()["date"] == "2024-06-28", latest.text

    fetch_due(engine, now + timedelta(hours=6))  # the same day's file again
    run_all(engine, now + timedelta(hours=6))
    assert ecb_rates(engine) == rates  # not one row added or touched
    assert [status for status, _attempts, _error in jobs(engine, "fx.fetch_ecb")] == ["done", "done"]
    assert ecb.requests == 2


def test_a_rate_set_by_hand_for_that_day_stands(
    now: datetime, ecb_client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    body = {"base": "eur", "quote": "usd", "date": "2024-06-28", "rate": "1.07"}
    assert ecb_client.post("/api/v1/fx-rates", json=body, headers=program.headers).status_code == 201
    fetch_due(engine, now)
    run_all(engine, now)
    eur_usd = [row for row in ecb_rates(engine) if row[2] == "usd"]
    assert [(row[4], row[5]) for row in eur_usd] == [("1.07", "api")]


def test_a_server_error_is_tried_again_later_and_records_nothing_meanwhile(
    now: datetime, ecb_client: TestClient, engine: Engine, ecb: EcbServer, program: ProgramKeys
) -> None:
    ecb.statuses = [500]
    fetch_due(engine, now)
    run_all(engine, now)
    [(status, attempts, error)] = jobs(engine, "fx.fetch_ecb")
    assert (status, attempts) == ("queued", 1) and "500" in (error or "")
    assert ecb_rates(engine) == []
    run_all(engine, now + timedelta(hours=1))  # after the queue's backoff
    assert [status for status, _attempts, _error in jobs(engine, "fx.fetch_ecb")] == ["done"]
    assert len(ecb_rates(engine)) == ECB_CURRENCIES and ecb.requests == 2


def test_no_url_fetches_nothing(
    now: datetime, database_url: str, engine: Engine, program: ProgramKeys, ecb: EcbServer
) -> None:
    configure_fx(make_settings(database_url, ecb_rates_url=""))
    fetch_due(engine, now)
    run_all(engine, now)
    assert ecb.requests == 0 and ecb_rates(engine) == []
    assert [status for status, _attempts, _error in jobs(engine, "fx.fetch_ecb")] == ["done"]


# ---------------------------------------------------------------- sales waiting for a rate


def yen_sale(client: TestClient, program: ProgramKeys, **body: Any) -> Any:
    payload = {"customer_external_id": "cus_1", "amount": 15_000, "currency": "jpy", "invoice_id": "in_1",
               "occurred_at": "2024-06-28T09:00:00Z", **body}  # fmt: skip
    return client.post("/api/v1/track/sale", json=payload, headers=program.headers)


def sale_commissions(engine: Engine) -> list[tuple[int, str, int | None, str | None, int, str]]:
    with transaction(engine, writes=False) as session:
        rows = session.execute(select(Commission).order_by(Commission.created_at, Commission.id)).scalars()
        return [
            (c.amount or 0, c.currency or "", c.program_amount, c.fx_rate, c.earnings_amount, c.earnings_currency)
            for c in rows
        ]


def partner_with_customer(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program, rules=SALE_RULES)  # 20% of every sale
    make_partner(client, program, referral_code="JANE")
    lead = {"customer_external_id": "cus_1", "referral_code": "JANE", "occurred_at": "2024-06-01T00:00:00Z"}
    assert client.post("/api/v1/track/lead", json=lead, headers=program.headers).status_code == 200


def test_a_yen_sale_without_a_rate_is_recorded_and_priced_once_when_the_ecb_rates_arrive_after_a_restart(
    now: datetime, ecb_settings: Settings, engine: Engine, program: ProgramKeys
) -> None:
    with TestClient(create_app(ecb_settings), base_url="http://testserver") as client:
        partner_with_customer(client, program)
        response = yen_sale(client, program)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["commissions"] == [] and answer["sale"]["awaiting_rate"] is True
        assert (answer["sale"]["amount"], answer["sale"]["currency"]) == (15_000, "jpy")
        assert answer["no_commission_reason"].startswith(
            "Commission pending: no exchange rate from JPY to USD on or before 2024-06-28 yet;"
        )
    assert sale_commissions(engine) == []

    # The app stops and a new one starts: what waits is in the database, and the ECB's rates arrive.
    with TestClient(create_app(ecb_settings), base_url="http://testserver") as client:
        fetch_due(engine, now)
        run_all(engine, now)
        # 15000 JPY x 1.0705/171.94 = 93.39013... USD -> 9339 cents; 20% -> 1867.8 -> 1868
        assert sale_commissions(engine) == [(15_000, "jpy", 9_339, "1.0705/171.94", 1_868, "usd")]
        [listed] = client.get("/api/v1/commissions", headers=program.headers).json()["data"]
        assert (
            listed["explanation"]
            == "20% of 93.39 USD (15000 JPY at 1.0705/171.94) under Standard, one-time (first sale)"
        )
        again = yen_sale(client, program).json()  # the same invoice answers the priced sale now
        assert again["sale"]["awaiting_rate"] is False and [c["earnings_amount"] for c in again["commissions"]] == [
            1_868
        ]

        # Later rates and pricing jobs price nothing twice.
        body = {"base": "usd", "quote": "jpy", "date": "2024-06-28", "rate": "100"}
        assert client.post("/api/v1/fx-rates", json=body, headers=program.headers).status_code == 201
        fetch_due(engine, now + timedelta(days=1))
        run_all(engine, now + timedelta(days=1))
        assert len(sale_commissions(engine)) == 1
    assert {status for status, _a, _e in jobs(engine, "conversion.price_waiting_sales")} == {"done"}


def test_a_rate_posted_by_hand_prices_the_waiting_sale_and_its_refund_reverses_in_proportion(
    now: datetime, ecb_settings: Settings, engine: Engine, program: ProgramKeys
) -> None:
    with TestClient(create_app(ecb_settings), base_url="http://testserver") as client:
        partner_with_customer(client, program)
        assert yen_sale(client, program).json()["sale"]["awaiting_rate"] is True
        refund = client.post("/api/v1/track/refund", json={"invoice_id": "in_1", "amount": 5_000},
                             headers=program.headers)  # fmt: skip
        assert refund.status_code == 200 and refund.json()["commissions"] == [], refund.text
        body = {"base": "usd", "quote": "jpy", "date": "2024-06-27", "rate": "160"}  # a day before: in force
        assert client.post("/api/v1/fx-rates", json=body, headers=program.headers).status_code == 201
        run_all(engine, now)
    # 15000 JPY / 160 = 93.75 USD -> 9375 cents, 20% -> 1875; a third refunded: 3125 cents, -625
    assert sale_commissions(engine) == [
        (15_000, "jpy", 9_375, "1/160", 1_875, "usd"),
        (-5_000, "jpy", -3_125, "1/160", -625, "usd"),
    ]


def test_a_sale_before_any_rate_of_its_day_keeps_waiting(
    now: datetime, ecb_settings: Settings, engine: Engine, program: ProgramKeys
) -> None:
    with TestClient(create_app(ecb_settings), base_url="http://testserver") as client:
        partner_with_customer(client, program)
        assert yen_sale(client, program, occurred_at="2024-06-27T09:00:00Z").json()["sale"]["awaiting_rate"]
        fetch_due(engine, now)  # rates of 2024-06-28 only: not in force on the 27th
        run_all(engine, now)
        assert sale_commissions(engine) == []
        assert yen_sale(client, program, occurred_at="2024-06-27T09:00:00Z").json()["sale"]["awaiting_rate"]
