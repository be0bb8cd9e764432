"""The dashboard's referrals section: KPIs, the settings form with its preview sentence (bad values
change nothing), advocates from pasted CSV, rewards with filters, mark-issued and the CSV export."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.db import transaction
from partnerloop.models import Program
from tests.conftest import ProgramKeys
from tests.manage.factories import as_owner, form_post
from tests.referral.conftest import friend_sale, make_advocate, rewards, set_rewards

PAGE = "/manage/referrals"
SETTINGS = {
    "trigger": "sale",
    "referrer_type": "credit",
    "referrer_amount": "20",
    "friend_type": "percent_off",
    "friend_percent": "20",
    "friend_months": "3",
    "limit_per_advocate": "10",
    "hold_days": "0",
}


def _rewards_setting(engine: Engine, program: ProgramKeys) -> object:
    with transaction(engine, writes=False) as session:
        found = session.get(Program, program.id)
        assert found is not None
        return found.referral_rewards


def test_preview_then_save_the_settings(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    as_owner(client)
    preview = form_post(client, PAGE, "/manage/referrals/settings", {**SETTINGS, "action": "preview"})
    assert preview.status_code == 200
    assert "Your customer gets a 20 USD credit; their friend gets 20% off for 3 months" in preview.text
    assert _rewards_setting(engine, program) is None  # a preview saves nothing
    saved = form_post(client, PAGE, "/manage/referrals/settings", {**SETTINGS, "action": "save"})
    assert saved.status_code == 303
    assert _rewards_setting(engine, program) == {
        "trigger": "sale", "referrer": {"type": "credit", "amount": 2000},
        "friend": {"type": "percent_off", "percent": 20, "duration_months": 3},
        "limit_per_advocate": 10, "hold_days": 0, "auto_advocates": False,
    }  # fmt: skip
    page = client.get(PAGE)
    assert "Your customer gets a 20 USD credit; their friend gets 20% off for 3 months" in page.text


def test_bad_settings_name_the_field_and_change_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    set_rewards(client, program)
    before = _rewards_setting(engine, program)
    as_owner(client)
    for field, value in (("friend_percent", "150"), ("referrer_amount", "-5"), ("hold_days", "-1")):
        response = form_post(client, PAGE, "/manage/referrals/settings", {**SETTINGS, field: value, "action": "save"})
        assert response.status_code == 422, (field, response.text[:200])
        named = {"friend_percent": "friend.percent", "referrer_amount": "referrer.amount", "hold_days": "hold_days"}[
            field
        ]
        assert named in response.text
    assert _rewards_setting(engine, program) == before


def test_kpis_lists_and_mark_issued(client: TestClient, program: ProgramKeys) -> None:
    set_rewards(client, program, friend={"type": "none"})
    advocate = make_advocate(client, program)
    friend_sale(client, program, advocate, "cus_bob", "in_1", amount=12000)
    as_owner(client)
    page = client.get(PAGE)
    assert page.status_code == 200
    for text in ("Advocates", "Friends referred", "Referred revenue", "120.00 USD", "cus_ada", advocate["share_url"],
                 "Referred friends", "cus_bob"):  # fmt: skip
        assert text in page.text
    (reward,) = rewards(client, program)
    marked = form_post(
        client, PAGE, f"/manage/referrals/rewards/{reward['id']}", {"action": "mark", "reference": "gift-7"}
    )
    assert marked.status_code == 303
    assert rewards(client, program)[0]["external_ref"] == "gift-7"
    issued = client.get(PAGE, params={"status": "issued"})
    assert "gift-7" in issued.text
    assert "No rewards match" in client.get(PAGE, params={"status": "failed"}).text
    export = client.get("/manage/referrals/rewards.csv")
    assert export.status_code == 200 and reward["id"] in export.text and export.text.startswith("id,advocate_id")


def test_advocates_from_pasted_csv(client: TestClient, program: ProgramKeys) -> None:
    as_owner(client)
    bad = form_post(client, PAGE, "/manage/referrals/advocates", {"csv": "cus_1,ada@example.com\ncus_2,not-an-email"})
    assert bad.status_code == 422 and "Line 2" in bad.text
    assert client.get("/api/v1/advocates", headers=program.headers).json()["data"] == []
    csv_text = "customer_id,email,name\ncus_1,ada@example.com,Ada\ncus_2,bob@example.com,Bob"
    added = form_post(client, PAGE, "/manage/referrals/advocates", {"csv": csv_text})
    assert added.status_code == 303
    again = form_post(client, PAGE, "/manage/referrals/advocates", {"csv": csv_text})
    assert again.status_code == 303
    listed = client.get("/api/v1/advocates", headers=program.headers).json()["data"]
    assert sorted(item["customer_external_id"] for item in listed) == ["cus_1", "cus_2"]
