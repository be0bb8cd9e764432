"""POST /api/v1/partners/{id}/unban: a banned partner is approved again; what the ban did to their commissions
stands (held stay held for the manager, rejected stay rejected), and they earn again from then on."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.conftest import ProgramKeys
from tests.partner.test_ban import _convert, _run_approval_job_after_the_hold, _statuses


def test_an_unban_after_a_holding_ban_approves_the_partner_and_leaves_the_held_commissions_held(
    client: TestClient, program: ProgramKeys, engine: Engine, jane: dict[str, Any]
) -> None:
    held = _convert(client, program, "JANE10", "cus_1", ["in_1"])
    ban = client.post(f"/api/v1/partners/{jane['id']}/ban", json={"commissions": "hold"}, headers=program.headers)
    assert ban.status_code == 200, ban.text

    unbanned = client.post(f"/api/v1/partners/{jane['id']}/unban", headers=program.headers)

    assert unbanned.status_code == 200, unbanned.text
    assert unbanned.json()["status"] == "approved"
    assert client.get(f"/api/v1/partners/{jane['id']}", headers=program.headers).json()["status"] == "approved"
    assert _statuses(client, program, jane["id"]) == dict.fromkeys(held, "on_hold")
    new = _convert(client, program, "JANE10", "cus_2", ["in_2"])  # earning again, at the plan's terms
    assert _statuses(client, program, jane["id"]) == dict.fromkeys(held, "on_hold") | dict.fromkeys(new, "pending")
    assert _run_approval_job_after_the_hold(engine) == len(new)  # the held ones wait for the manager
    assert _statuses(client, program, jane["id"]) == dict.fromkeys(held, "on_hold") | dict.fromkeys(new, "approved")


def test_an_unban_leaves_the_rejected_commissions_rejected(
    client: TestClient, program: ProgramKeys, jane: dict[str, Any]
) -> None:
    rejected = _convert(client, program, "JANE10", "cus_1", ["in_1", "in_2"])
    assert client.post(f"/api/v1/partners/{jane['id']}/ban", headers=program.headers).status_code == 200

    assert client.post(f"/api/v1/partners/{jane['id']}/unban", headers=program.headers).status_code == 200

    assert _statuses(client, program, jane["id"]) == dict.fromkeys(rejected, "rejected")
    balance = client.get(f"/api/v1/partners/{jane['id']}/balance", headers=program.headers).json()["data"][0]
    assert (balance["pending_amount"], balance["approved_amount"], balance["balance_amount"]) == (0, 0, 0)


@pytest.mark.parametrize("ban_first", [False, True], ids=["never banned", "already unbanned"])
def test_unbanning_a_partner_who_is_not_banned_is_409_and_changes_nothing(
    client: TestClient, program: ProgramKeys, jane: dict[str, Any], ban_first: bool
) -> None:
    commissions = _convert(client, program, "JANE10", "cus_1", ["in_1"])
    unban = f"/api/v1/partners/{jane['id']}/unban"
    if ban_first:
        ban = client.post(f"/api/v1/partners/{jane['id']}/ban", json={"commissions": "hold"}, headers=program.headers)
        assert ban.status_code == 200, ban.text
        assert client.post(unban, headers=program.headers).status_code == 200

    again = client.post(unban, headers=program.headers)

    assert again.status_code == 409, again.text
    assert again.json() == {
        "error": "StatusChangeNotAllowed",
        "detail": "A partner who is approved cannot be asked to unban.",
    }
    assert client.get(f"/api/v1/partners/{jane['id']}", headers=program.headers).json()["status"] == "approved"
    status = "on_hold" if ban_first else "pending"
    assert _statuses(client, program, jane["id"]) == dict.fromkeys(commissions, status)


def test_unbanning_an_unknown_or_another_programs_partner_is_404(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys, jane: dict[str, Any]
) -> None:
    assert client.post(f"/api/v1/partners/{jane['id']}/ban", headers=program.headers).status_code == 200

    unknown = client.post("/api/v1/partners/nobody/unban", headers=program.headers)
    elsewhere = client.post(f"/api/v1/partners/{jane['id']}/unban", headers=other_program.headers)

    assert unknown.status_code == 404 and set(unknown.json()) == {"error", "detail"}
    assert elsewhere.status_code == 404
    assert client.get(f"/api/v1/partners/{jane['id']}", headers=program.headers).json()["status"] == "banned"
