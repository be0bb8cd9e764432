"""Two runs confirmed at the same moment (two threads, two connections): each commission is paid once."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.db import transaction
from partnerloop.kit.errors import AppError
from partnerloop.models import Program
from partnerloop.payout.service.run import confirm_run
from tests.conftest import ProgramKeys
from tests.payout.helpers import assert_exactly_once, earn, partner_with_method, write_counts


def test_two_simultaneous_runs_pay_each_commission_once(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    for _ in range(5):
        partner = partner_with_method(client, program)
        for amount in (3000, 4000, -500):
            earn(client, program, partner, amount)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def confirm(key: str) -> None:
        barrier.wait()
        try:
            with transaction(engine) as session:
                found = session.get(Program, program.id)
                assert found is not None
                confirm_run(session, found, run_key=key)
            outcomes.append("confirmed")
        except AppError as error:
            outcomes.append(error.name)

    threads = [threading.Thread(target=confirm, args=(key,)) for key in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["NothingToPay", "confirmed"]
    counts = write_counts(engine)
    assert counts["payouts"] == 5 and counts["items"] == 15 and counts["paid_commissions"] == 15
    assert_exactly_once(engine, program.id)
