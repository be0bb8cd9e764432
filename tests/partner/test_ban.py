"""POST /api/v1/partners/{id}/ban: what becomes of the partner's commissions, and that the hold-period
job never approves them afterwards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.commission.tasks import approve_due
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from tests.commission.factories import make_partner, set_commission_status
from tests.conftest import ProgramKeys


def _convert(client: TestClient, program: ProgramKeys, code: str, customer: str, invoices: list[str]) -> list[str]:
    """A lead (5.00 USD) and one 100.00 USD sale per invoice (20%: 20.00 USD): the commission ids."""
    lead = client.post(
        "/api/v1/track/lead", json={"customer_external_id": customer, "referral_code": code}, headers=program.headers
    )
    assert lead.status_code == 200, lead.text
    ids = [commission["id"] for commission in lead.json()["commissions"]]
    for invoice in invoices:
        sale = client.post(
            "/api/v1/track/sale",
            json={"customer_external_id": customer, "amount": 10000, "currency": "usd", "invoice_id": invoice},
            headers=program.headers,
        )
        assert sale.status_code == 200, sale.text
        ids += [commission["id"] for commission in sale.json()["commissions"]]
    return ids


def _statuses(client: TestClient, program: ProgramKeys, partner_id: str) -> dict[str, str]:
    response = client.get("/api/v1/commissions", params={"partner_id": partner_id}, headers=program.headers)
    assert response.status_code == 200, response.text
    return {row["id"]: row["status"] for row in response.json()["data"]}


def _balance(client: TestClient, program: ProgramKeys, partner_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/partners/{partner_id}/balance", headers=program.headers)
    assert response.status_code == 200, response.text
    balance: dict[str, Any] = response.json()["data"][0]
    return balance


def _run_approval_job_after_the_hold(engine: Engine) -> int:
    with transaction(engine) as session:
        return approve_due(session, utc_now() + timedelta(days=60))


def test_a_ban_without_a_body_rejects_pending_commissions_and_the_job_approves_none(
    client: TestClient, program: ProgramKeys, engine: Engine, jane: dict[str, Any]
) -> None:
    commissions = _convert(client, program, "JANE10", "cus_1", ["in_1", "in_2"])
    assert _balance(client, program, jane["id"])["pending_amount"] == 500 + 2000 + 2000

    banned = client.post(f"/api/v1/partners/{jane['id']}/ban", headers=program.headers)

    assert banned.status_code == 200, banned.text
    assert banned.json()["status"] == "banned"
    assert _statuses(client, program, jane["id"]) == dict.fromkeys(commissions, "rejected")
    balance = _balance(client, program, jane["id"])
    assert (balance["pending_amount"], balance["approved_amount"], balance["balance_amount"]) == (0, 0, 0)
    _run_approval_job_after_the_hold(engine)
    assert _statuses(client, program, jane["id"]) == dict.fromkeys(commissions, "rejected")


def test_a_ban_that_holds_puts_commissions_on_hold_and_the_job_approves_none(
    client: TestClient, program: ProgramKeys, engine: Engine, jane: dict[str, Any]
) -> None:
    commissions = _convert(client, program, "JANE10", "cus_1", ["in_1"])

    banned = client.post(f"/api/v1/partners/{jane['id']}/ban", json={"commissions": "hold"}, headers=program.headers)

    assert banned.status_code == 200, banned.text
    assert banned.json()["status"] == "banned"
    assert _statuses(client, program, jane["id"]) == dict.fromkeys(commissions, "on_hold")
    assert _run_approval_job_after_the_hold(engine) == 0
    assert _statuses(client, program, jane["id"]) == dict.fromkeys(commissions, "on_hold")
    balance = _balance(client, program, jane["id"])
    assert (balance["pending_amount"], balance["approved_amount"], balance["available_amount"]) == (2500, 0, 0)


def test_a_ban_holds_approved_commissions_with_their_reversals_and_never_touches_paid_ones(
    client: TestClient, program: ProgramKeys, engine: Engine, jane: dict[str, Any]
) -> None:
    lead, approved, paid, pending = _convert(client, program, "JANE10", "cus_1", ["in_1", "in_2", "in_3"])
    for commission_id in (lead, approved):
        assert client.post(f"/api/v1/commissions/{commission_id}/approve", headers=program.headers).status_code == 200
    refund = client.post("/api/v1/track/refund", json={"invoice_id": "in_1", "amount": 5000}, headers=program.headers)
    assert refund.status_code == 200, refund.text
    set_commission_status(engine, paid, "paid")
    [reversal] = [key for key in _statuses(client, program, jane["id"]) if key not in (lead, approved, paid, pending)]
    assert _statuses(client, program, jane["id"])[reversal] == "approved"
    assert _balance(client, program, jane["id"])["approved_amount"] == 500 + 2000 - 1000

    assert client.post(f"/api/v1/partners/{jane['id']}/ban", headers=program.headers).status_code == 200

    assert _statuses(client, program, jane["id"]) == {
        lead: "on_hold",
        approved: "on_hold",
        reversal: "on_hold",
        paid: "paid",
        pending: "rejected",
    }
    balance = _balance(client, program, jane["id"])
    assert (balance["approved_amount"], balance["available_amount"]) == (0, 0)  # held: nothing is available


@pytest.mark.parametrize(
    "body",
    [{"commissions": "approve"}, {"commissions": None}, {"commissions": "reject", "notify": True}, ["hold"]],
    ids=["an unknown choice", "a null choice", "an unknown field", "a list instead of an object"],
)
def test_a_ban_with_a_bad_body_is_422_and_changes_nothing(
    client: TestClient, program: ProgramKeys, jane: dict[str, Any], body: Any
) -> None:
    commissions = _convert(client, program, "JANE10", "cus_1", ["in_1"])

    response = client.post(f"/api/v1/partners/{jane['id']}/ban", json=body, headers=program.headers)

    assert response.status_code == 422, response.text
    assert set(response.json()) == {"error", "detail"}
    assert client.get(f"/api/v1/partners/{jane['id']}", headers=program.headers).json()["status"] == "approved"
    assert _statuses(client, program, jane["id"]) == dict.fromkeys(commissions, "pending")


def test_a_second_ban_is_refused_and_leaves_held_commissions_held(
    client: TestClient, program: ProgramKeys, jane: dict[str, Any]
) -> None:
    commissions = _convert(client, program, "JANE10", "cus_1", ["in_1"])
    ban = f"/api/v1/partners/{jane['id']}/ban"
    assert client.post(ban, json={"commissions": "hold"}, headers=program.headers).status_code == 200

    again = client.post(ban, json={"commissions": "reject"}, headers=program.headers)

    assert again.status_code == 409
    assert again.json()["error"] == "StatusChangeNotAllowed"
    assert _statuses(client, program, jane["id"]) == dict.fromkeys(commissions, "on_hold")


def test_a_ban_settles_only_that_partners_commissions(
    client: TestClient, program: ProgramKeys, engine: Engine, jane: dict[str, Any]
) -> None:
    joe = make_partner(client, program, referral_code="JOE100")
    _convert(client, program, "JANE10", "cus_1", ["in_1"])
    joes = _convert(client, program, "JOE100", "cus_2", ["in_2"])

    assert client.post(f"/api/v1/partners/{jane['id']}/ban", headers=program.headers).status_code == 200

    assert _statuses(client, program, joe["id"]) == dict.fromkeys(joes, "pending")
    assert _run_approval_job_after_the_hold(engine) == len(joes)
    assert _statuses(client, program, joe["id"]) == dict.fromkeys(joes, "approved")


def test_a_ban_cannot_skip_the_settlement(
    client: TestClient, program: ProgramKeys, engine: Engine, jane: dict[str, Any]
) -> None:
    """The status-only path refuses a ban: only ban_partner bans, and it settles the commissions."""
    from partnerloop.models import Program
    from partnerloop.partner import service as partner_service

    refused = pytest.raises(partner_service.StatusChangeNotAllowed, match="ban_partner")
    with transaction(engine) as session, refused:
        partner_service.change_status(session, session.get_one(Program, program.id), jane["id"], "ban")
    assert client.get(f"/api/v1/partners/{jane['id']}", headers=program.headers).json()["status"] == "approved"
