"""Banning from the dashboard (partner page and bulk): the manager chooses whether the partner's pending
commissions are rejected or held; the approval job approves none of them afterwards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.commission.tasks import approve_due
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from tests.conftest import ProgramKeys
from tests.manage.factories import OWNER, as_owner, convert, form_post, make_partner, make_plan


def _partner(client: TestClient, program: ProgramKeys, partner_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/partners/{partner_id}", headers=program.headers).json()
    return body


def _commission_statuses(client: TestClient, program: ProgramKeys, partner_id: str) -> list[str]:
    response = client.get("/api/v1/commissions", params={"partner_id": partner_id}, headers=program.headers)
    return sorted(row["status"] for row in response.json()["data"])


def _approve_due_after_the_hold(engine: Engine) -> int:
    with transaction(engine) as session:
        return approve_due(session, utc_now() + timedelta(days=60))


def test_the_partner_page_bans_and_holds_the_commissions_when_the_manager_chooses(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    make_plan(client, program)
    jane = make_partner(client, program, name="Jane")
    convert(client, program, jane["referral_code"], "cus_1", 10000, "in_1")
    as_owner(client)
    detail = f"/manage/partners/{jane['id']}?program={program.id}"
    page = client.get(detail).text
    assert 'name="commissions"' in page and 'value="hold"' in page and 'value="reject"' in page

    banned = form_post(
        client,
        detail,
        f"/manage/partners/{jane['id']}/status?program={program.id}",
        {"action": "ban", "reason": "Brand bidding", "commissions": "hold"},
    )

    assert banned.status_code == 303
    assert _partner(client, program, jane["id"])["status"] == "banned"
    assert _commission_statuses(client, program, jane["id"]) == ["on_hold", "on_hold"]
    assert _approve_due_after_the_hold(engine) == 0
    assert _commission_statuses(client, program, jane["id"]) == ["on_hold", "on_hold"]


def test_a_bulk_ban_rejects_the_commissions_by_default_choice(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    make_plan(client, program)
    jane = make_partner(client, program, name="Jane")
    mark = make_partner(client, program, name="Mark")
    convert(client, program, jane["referral_code"], "cus_1", 10000, "in_1")
    convert(client, program, mark["referral_code"], "cus_2", 10000, "in_2")
    as_owner(client)
    listing = f"/manage/partners?program={program.id}"
    assert 'id="bulk-commissions"' in client.get(listing).text

    banned = form_post(
        client,
        listing,
        f"/manage/partners/bulk?program={program.id}",
        [("action", "ban"), ("commissions", "reject"), ("partner_ids", jane["id"]), ("partner_ids", mark["id"])],
    )

    assert banned.status_code == 303
    assert "2 partners banned." in client.get(banned.headers["location"]).text
    for partner in (jane, mark):
        assert _partner(client, program, partner["id"])["status"] == "banned"
        assert _commission_statuses(client, program, partner["id"]) == ["rejected", "rejected"]
        balance = client.get(f"/api/v1/partners/{partner['id']}/balance", headers=program.headers).json()["data"][0]
        assert balance["pending_amount"] == 0
        ledger = client.get(f"/api/v1/partners/{partner['id']}/ledger", headers=program.headers).json()["data"]
        assert {entry["actor"] for entry in ledger if entry["kind"] == "rejected"} == {OWNER}
    assert _approve_due_after_the_hold(engine) == 0


def test_a_ban_with_an_unknown_commissions_choice_is_refused_on_the_page_and_changes_nothing(
    client: TestClient, program: ProgramKeys
) -> None:
    make_plan(client, program)
    jane = make_partner(client, program, name="Jane")
    convert(client, program, jane["referral_code"], "cus_1", 10000, "in_1")
    as_owner(client)
    detail = f"/manage/partners/{jane['id']}?program={program.id}"
    listing = f"/manage/partners?program={program.id}"

    one = form_post(
        client,
        detail,
        f"/manage/partners/{jane['id']}/status?program={program.id}",
        {"action": "ban", "commissions": "approve"},
    )
    bulk = form_post(
        client,
        listing,
        f"/manage/partners/bulk?program={program.id}",
        [("action", "ban"), ("commissions", "forgive"), ("partner_ids", jane["id"])],
    )

    assert one.status_code == 422 and "A ban&#39;s commissions are &#39;reject&#39; or &#39;hold&#39;" in one.text
    assert bulk.status_code == 422 and "not &#39;forgive&#39;" in bulk.text
    assert _partner(client, program, jane["id"])["status"] == "approved"
    assert _commission_statuses(client, program, jane["id"]) == ["pending", "pending"]


def test_the_partner_page_unbans_a_banned_partner_and_the_held_commissions_stay_held(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    make_plan(client, program)
    jane = make_partner(client, program, name="Jane")
    convert(client, program, jane["referral_code"], "cus_1", 10000, "in_1")
    as_owner(client)
    detail = f"/manage/partners/{jane['id']}?program={program.id}"
    status_url = f"/manage/partners/{jane['id']}/status?program={program.id}"
    assert 'value="unban"' not in client.get(detail).text
    form_post(client, detail, status_url, {"action": "ban", "commissions": "hold"})
    page = client.get(detail).text
    assert 'value="unban"' in page and 'value="ban"' not in page

    unbanned = form_post(client, detail, status_url, {"action": "unban", "reason": "Appeal accepted"})

    assert unbanned.status_code == 303
    assert _partner(client, program, jane["id"])["status"] == "approved"
    assert _commission_statuses(client, program, jane["id"]) == ["on_hold", "on_hold"]
    assert _approve_due_after_the_hold(engine) == 0
    page = client.get(detail).text
    assert 'value="unban"' not in page and 'value="ban"' in page and "Appeal accepted" in page


def test_a_bulk_unban_unbans_the_banned_and_names_the_partner_who_was_not(
    client: TestClient, program: ProgramKeys
) -> None:
    make_plan(client, program)
    jane = make_partner(client, program, name="Jane")
    mark = make_partner(client, program, name="Mark")
    assert client.post(f"/api/v1/partners/{jane['id']}/ban", headers=program.headers).status_code == 200
    as_owner(client)
    listing = f"/manage/partners?program={program.id}"
    assert 'value="unban"' in client.get(listing).text

    unbanned = form_post(
        client,
        listing,
        f"/manage/partners/bulk?program={program.id}",
        [("action", "unban"), ("partner_ids", jane["id"]), ("partner_ids", mark["id"])],
    )

    assert unbanned.status_code == 303
    notice = client.get(unbanned.headers["location"]).text
    assert "1 partner unbanned. 1 not: A partner who is approved cannot be asked to unban." in notice
    assert _partner(client, program, jane["id"])["status"] == "approved"
    assert _partner(client, program, mark["id"])["status"] == "approved"
