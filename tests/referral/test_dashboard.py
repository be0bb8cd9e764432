"""The dashboard's referrals section: KPIs, the settings form with its preview sentence (bad values
change nothing), advocates from pasted CSV, rewards with filters, mark-issued and the CSV export."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.db import transaction
from partnerloop.models import Program
from tests.conftest import ProgramKeys
from tests.manage.factories import as_owner, form_post
from tests.referral.conftest import friend_sale, make_advocate, rewards, set_rewards, wait_until

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
        "limit_per_advocate": 10, "hold_days": 0, "auto_advocates": False, "auto_advocates_on": "customer.created",
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
    for text in ("Advocates", "Friends referred", "Referred revenue", "$120.00", "cus_ada", advocate["share_url"],
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


def test_advocates_and_referrals_export_as_csv_and_long_lists_page(client: TestClient, program: ProgramKeys) -> None:
    set_rewards(client, program, friend={"type": "none"})
    advocate = make_advocate(client, program, name='=HYPERLINK("https://evil.test")')
    friend_sale(client, program, advocate, "cus_bob", "in_1", amount=12000)
    as_owner(client)
    lines = "\n".join(f"cus_{number:03},a{number}@example.com" for number in range(55))
    assert form_post(client, PAGE, "/manage/referrals/advocates", {"csv": lines}).status_code == 303
    advocates_csv = client.get("/manage/referrals/advocates.csv")
    assert advocates_csv.status_code == 200 and advocates_csv.text.startswith("id,customer_external_id,email")
    rows = list(csv.reader(io.StringIO(advocates_csv.text)))[1:]
    assert len(rows) == 56  # every advocate, over several pages of the service
    ada = next(row for row in rows if row[1] == "cus_ada")
    assert ada[3].startswith("'=HYPERLINK") and ada[7] == "1"  # the formula is inert; one referral
    referrals_csv = list(csv.reader(io.StringIO(client.get("/manage/referrals/referrals.csv").text)))
    assert referrals_csv[0][:4] == ["id", "advocate_id", "advocate_email", "friend_external_id"]
    assert [(row[3], row[6], row[7]) for row in referrals_csv[1:]] == [("cus_bob", "1", "12000")]
    first = client.get(PAGE)
    assert first.text.count("/r/") >= 50 and "data-next-advocates" in first.text
    cursor = re.search(r'data-next-advocates href="[^"]*advocates_after=(\w+)', first.text)
    assert cursor is not None
    second = client.get(PAGE, params={"advocates_after": cursor.group(1)})
    assert second.status_code == 200 and "data-next-advocates" not in second.text and "First advocates" in second.text
    shown_first = set(re.findall(r"<td>(cus_\d{3})", first.text))
    shown_second = set(re.findall(r"<td>(cus_\d{3})", second.text))
    assert not shown_first & shown_second and len(shown_first | shown_second) == 55  # each on one page only


def test_advocates_who_shared_counts_human_clicks_on_their_link(client: TestClient, program: ProgramKeys) -> None:
    shared = make_advocate(client, program, "cus_ada")
    make_advocate(client, program, "cus_quiet")
    key = shared["share_url"].rsplit("/", 1)[1]
    browser = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"}
    assert client.get(f"/go/{key}", headers=browser, follow_redirects=False).status_code == 302
    as_owner(client)

    def shared_kpi() -> str | None:
        found = re.search(r"Advocates who shared</span>\s*<strong>(\d+)</strong>", client.get(PAGE).text)
        return found.group(1) if found and found.group(1) == "1" else None

    assert wait_until(shared_kpi) == "1"


def test_a_manager_creates_a_referral_program_from_the_dashboard_and_switches_to_it(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    as_owner(client)
    assert "New program" in client.get(PAGE).text
    form_page = "/manage/programs/new"
    bad = form_post(client, form_page, "/manage/programs", {"name": "Friends", "kind": "referral", "domain": ""})
    assert bad.status_code == 422 and "domain" in bad.text
    odd = form_post(client, form_page, "/manage/programs", {"name": "Friends", "kind": "pyramid", "domain": "a.test"})
    assert odd.status_code == 422 and "kind" in odd.text
    with transaction(engine, writes=False) as session:
        assert session.query(Program).count() == 1  # nothing was made
    made = form_post(client, form_page, "/manage/programs",
                     {"name": "Acme Friends", "kind": "referral", "domain": "acme.test", "currency": "eur"})  # fmt: skip
    assert made.status_code == 201, made.text
    new_id = re.search(r'data-created="(\w+)"', made.text)
    key = re.search(r"<code data-api-key>([^<]+)</code>", made.text)
    assert new_id is not None and key is not None
    shown = client.get("/api/v1/program", headers={"Authorization": f"Bearer {key.group(1)}"}).json()
    assert (shown["name"], shown["kind"], shown["currency"], shown["allowed_domains"]) == (
        "Acme Friends", "referral", "eur", ["acme.test"],
    )  # fmt: skip
    switched = client.get("/manage/referrals", params={"program": new_id.group(1)})
    assert switched.status_code == 200 and "Customer referrals" in switched.text
    assert 'id="program-switch"' in switched.text and "Acme Friends" in switched.text  # two programs: a switch
    with transaction(engine, writes=False) as session:
        workspaces = {row.workspace_id for row in session.query(Program).all()}
    assert workspaces == {program.workspace_id}  # in the manager's own workspace
