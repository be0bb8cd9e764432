"""Attribution models on stored commissions: first click, and multi-touch splits of a sale's commission."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.ledger import service as ledger
from partnerloop.models import Click
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys

# The Standard plan pays 20%: 4905 earns 981 for a single partner (odd, so a split must round).
AMOUNT, SINGLE = 4905, 981
VISITOR = "visitor-1"


def click(client: TestClient, engine: Engine, program: ProgramKeys, partner_id: str, at: datetime) -> str:
    """A click of the partner's new link by the same visitor (so all of them are the customer's touches)."""
    link = client.post(
        "/api/v1/links",
        json={"partner_id": partner_id, "destination_url": "https://acme.test/"},
        headers=program.headers,
    )
    assert link.status_code == 201, link.text
    with transaction(engine) as session:
        row = Click(
            program_id=program.id, link_id=link.json()["id"], partner_id=partner_id, created_at=at, visitor=VISITOR
        )
        session.add(row)
        session.flush()
        return row.id


def setup(
    client: TestClient, engine: Engine, program: ProgramKeys, model: str, partners: int
) -> tuple[list[str], list[str]]:
    """The Standard plan, the model, and one click per partner (oldest first): (partner ids, click ids)."""
    make_plan(client, program)
    patched = client.patch("/api/v1/program", json={"attribution_model": model}, headers=program.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["attribution_model"] == model
    partner_ids = [str(make_partner(client, program)["id"]) for _ in range(partners)]
    now = utc_now()
    click_ids = [
        click(client, engine, program, partner_id, now - timedelta(hours=partners - index))
        for index, partner_id in enumerate(partner_ids)
    ]
    return partner_ids, click_ids


def sell(client: TestClient, program: ProgramKeys, click_id: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/track/sale",
        json={
            "customer_external_id": "cus_1",
            "amount": AMOUNT,
            "currency": "usd",
            "invoice_id": "in_1",
            "click_id": click_id,
        },
        headers=program.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def pending(engine: Engine, program: ProgramKeys, partner_id: str) -> int:
    with transaction(engine, writes=False) as session:
        return ledger.balance(session, program.id, partner_id, "usd").pending_amount


def test_linear_splits_the_commission_exactly(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    (first, last), clicks = setup(client, engine, program, "linear", 2)
    body = sell(client, program, clicks[-1])
    by_partner = {row["partner_id"]: row for row in body["commissions"]}
    assert set(by_partner) == {first, last}
    assert sum(row["earnings_amount"] for row in by_partner.values()) == SINGLE
    assert by_partner[first]["earnings_amount"] == 491  # ties go to the partner who touched first
    assert by_partner[last]["earnings_amount"] == 490
    assert all(row["explanation"].startswith("50% share (linear) of ") for row in by_partner.values())
    assert body["customer"]["partner_id"] == last  # attribution itself is unchanged
    assert pending(engine, program, first) == 491  # each row is posted to the ledger
    assert pending(engine, program, last) == 490


def test_position_based_gives_40_20_40(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    partners, clicks = setup(client, engine, program, "position", 3)
    body = sell(client, program, clicks[-1])
    by_partner = {row["partner_id"]: row for row in body["commissions"]}
    amounts = [by_partner[partner_id]["earnings_amount"] for partner_id in partners]
    assert amounts == [393, 196, 392]  # 392.4 / 196.2 / 392.4, the leftover unit to the first touch
    assert sum(amounts) == SINGLE
    assert by_partner[partners[0]]["explanation"].startswith("40% share (position-based) of ")
    assert by_partner[partners[1]]["explanation"].startswith("20% share (position-based) of ")
    assert by_partner[partners[2]]["explanation"].startswith("40% share (position-based) of ")


def test_first_click_credits_the_first_partner(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    (first, _last), clicks = setup(client, engine, program, "first_click", 2)
    body = sell(client, program, clicks[-1])
    [commission] = body["commissions"]
    assert commission["partner_id"] == first
    assert commission["earnings_amount"] == SINGLE
    assert body["customer"]["partner_id"] == first
    assert body["customer"]["attribution"].startswith(f"first click {clicks[0]}")


def test_last_click_is_unchanged(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    (_first, last), clicks = setup(client, engine, program, "last_click", 2)
    [commission] = sell(client, program, clicks[-1])["commissions"]
    assert (commission["partner_id"], commission["earnings_amount"]) == (last, SINGLE)


def test_a_refund_reverses_every_share(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    (first, last), clicks = setup(client, engine, program, "linear", 2)
    originals = {row["id"]: row for row in sell(client, program, clicks[-1])["commissions"]}
    response = client.post("/api/v1/track/refund", json={"invoice_id": "in_1"}, headers=program.headers)
    assert response.status_code == 200, response.text
    reversals = response.json()["commissions"]
    assert {row["reverses_id"] for row in reversals} == set(originals)
    for row in reversals:
        assert row["earnings_amount"] == -originals[row["reverses_id"]]["earnings_amount"]
        assert row["partner_id"] == originals[row["reverses_id"]]["partner_id"]
    assert pending(engine, program, first) == 0
    assert pending(engine, program, last) == 0
