"""Concurrency: the same sale from many threads makes one reward per side; the limit per advocate holds
under concurrent sales of different friends (the advocate row is locked while deciding)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.conversion import service as conversion_service
from partnerloop.conversion.schemas import SaleIn
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import Program, Reward
from tests.conftest import ProgramKeys
from tests.referral.conftest import make_advocate, set_rewards

THREADS = 8


def _in_threads(work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def run(number: int) -> None:
        try:
            start.wait()
            work(number)
        except BaseException as error:  # collected and asserted on
            errors.append(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def _sale(engine: Engine, program_id: str, friend: str, invoice: str) -> None:
    with transaction(engine) as session:
        program = session.get(Program, program_id)
        assert program is not None
        body = SaleIn(customer_external_id=friend, amount=5000, currency="usd", invoice_id=invoice)
        conversion_service.track_sale(session, program, body, utc_now())


def _lead(client: TestClient, program: ProgramKeys, code: str, friend: str) -> None:
    response = client.post(
        "/api/v1/track/lead", json={"referral_code": code, "customer_external_id": friend}, headers=program.headers
    )
    assert response.status_code in (200, 201), response.text


def _rewards(engine: Engine) -> list[tuple[str, str]]:
    with transaction(engine, writes=False) as session:
        return [(side, status) for side, status in session.execute(select(Reward.side, Reward.status)).all()]


def test_the_same_sale_concurrently_makes_one_reward_per_side(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    set_rewards(client, program)
    advocate = make_advocate(client, program)
    _lead(client, program, advocate["referral_code"], "cus_bob")
    errors = _in_threads(lambda _number: _sale(engine, program.id, "cus_bob", "in_same"))
    assert errors == []
    assert sorted(_rewards(engine)) == [("friend", "pending"), ("referrer", "pending")]


def test_the_limit_per_advocate_holds_under_concurrent_sales(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    set_rewards(client, program, limit_per_advocate=3, friend={"type": "none"})
    advocate = make_advocate(client, program)
    for number in range(THREADS):
        _lead(client, program, advocate["referral_code"], f"cus_f{number}")
    errors = _in_threads(lambda number: _sale(engine, program.id, f"cus_f{number}", f"in_{number}"))
    assert errors == []
    statuses = sorted(status for _side, status in _rewards(engine))
    assert statuses == ["pending"] * 3 + ["rejected"] * (THREADS - 3)
    with transaction(engine, writes=False) as session:
        assert session.execute(select(func.count()).select_from(Reward)).scalar_one() == THREADS
