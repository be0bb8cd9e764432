"""Alerts end to end: a self-referral holds its commission naming the alert and is emailed; one open alert
per rule and subject; resolve / dismiss decide the held commissions; thresholds per program; the scans."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select

from partnerloop.alert.service import scan_clicks, scan_performance
from partnerloop.app import PartnerloopApp
from partnerloop.commission.tasks import approve_due
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import AlertSettings, Click, Commission, StripeDispute
from tests.account.factories import PASSWORD, add_partner_user
from tests.account.helpers import login
from tests.conftest import ProgramKeys
from tests.notify.smtp import SmtpRecorder
from tests.report.helpers import click, sale, setup_plan, wait_for_link_clicks
from tests.tracking.helpers import GOOGLEBOT, make_link

ANA = "ana.banana+promo@gmail.com"


def partner_with_link(client: TestClient, program: ProgramKeys, email: str = ANA, key: str = "ana") -> dict[str, Any]:
    partner = client.post("/api/v1/partners", headers=program.headers, json={"email": email, "name": "Ana"})
    assert partner.status_code == 201, partner.text
    return make_link(client, program, key=key, partner_id=partner.json()["id"])


def lead_by(client: TestClient, program: ProgramKeys, click_id: str, customer: str, email: str) -> dict[str, Any]:
    response = client.post("/api/v1/track/lead", headers=program.headers,
                           json={"click_id": click_id, "customer_external_id": customer, "email": email})  # fmt: skip
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def open_alerts(client: TestClient, program: ProgramKeys) -> list[dict[str, Any]]:
    response = client.get("/api/v1/alerts", params={"status": "open"}, headers=program.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_a_partner_referring_himself_is_held_named_and_emailed(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    client = mail_client
    setup_plan(client, program, rate_bps=2000, lead_amount=500)
    link = partner_with_link(client, program)
    wait_click = click(client, "ana")
    wait_for_link_clicks(client, program, link["id"], 1)
    # the partner's own mailbox: a +tag and dots do not hide it
    tracked = lead_by(client, program, wait_click, "cus_self", "anabanana@gmail.com")
    held = tracked["commissions"][0]
    assert held["status"] == "on_hold"
    alerts = open_alerts(client, program)
    assert [(a["kind"], a["partner_id"], a["severity"]) for a in alerts] == [
        ("self_referral", link["partner_id"], "high")
    ]
    alert = alerts[0]
    assert alert["id"] in held["explanation"] and "self_referral" in held["explanation"]
    assert alert["evidence"]["matched"] == ["email"] and alert["evidence"]["held_commission_ids"] == [held["id"]]
    # the sale of the same customer: the same open alert, seen again, and its commission held too
    bought = sale(client, program, "cus_self", "in_self", 10000)
    assert bought["commissions"][0]["status"] == "on_hold"
    again = open_alerts(client, program)
    assert len(again) == 1 and again[0]["occurrences"] == 2
    assert len(again[0]["evidence"]["held_commission_ids"]) == 2
    # held stays out of payouts: the hold period passing does not approve it
    with transaction(engine) as session:
        approve_due(session, utc_now() + timedelta(days=400))
        statuses = set(session.execute(select(Commission.status).where(Commission.program_id == program.id)).scalars())
    assert statuses == {"on_hold"}
    message = smtp.wait_for(to="owner-acme@example.com", subject="self referral")
    assert "matches the partner's own email" in message.text and alert["id"] in message.text
    # the manager decides: resolved, commissions rejected
    resolved = client.post(f"/api/v1/alerts/{alert['id']}/resolve", headers=program.headers,
                           json={"note": "Ana bought through her own link", "commissions": "reject"})  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved" and resolved.json()["note"] == "Ana bought through her own link"
    listed = client.get("/api/v1/commissions", params={"partner_id": link["partner_id"]}, headers=program.headers)
    assert {row["status"] for row in listed.json()["data"]} == {"rejected"}
    assert open_alerts(client, program) == []
    twice = client.post(f"/api/v1/alerts/{alert['id']}/dismiss", headers=program.headers, json={})
    assert twice.status_code == 409, twice.text
    # after closing, a new finding opens a new alert
    other = click(client, "ana")
    wait_for_link_clicks(client, program, link["id"], 2)
    lead_by(client, program, other, "cus_self_2", "Ana.Banana+Promo@gmail.com")
    assert [a["id"] != alert["id"] for a in open_alerts(client, program)] == [True]


def test_the_customers_own_spelling_of_the_partners_mailbox_is_a_self_referral(
    client: TestClient, program: ProgramKeys
) -> None:
    setup_plan(client, program, lead_amount=500)
    link = partner_with_link(client, program, email="anabanana@gmail.com")
    clicked = click(client, "ana")
    wait_for_link_clicks(client, program, link["id"], 1)
    tracked = lead_by(client, program, clicked, "cus_1", "Ana.Banana+shop@googlemail.com")
    assert tracked["commissions"][0]["status"] == "on_hold"
    assert [(a["kind"], a["evidence"]["matched"]) for a in open_alerts(client, program)] == [
        ("self_referral", ["email"])
    ]


def test_a_coupon_from_a_coupon_site_is_held_and_one_from_the_partners_blog_is_not(
    client: TestClient, program: ProgramKeys
) -> None:
    setup_plan(client, program)
    bad = client.post("/api/v1/partners", headers=program.headers,
                      json={"email": "bo@example.com", "name": "Bo", "website": "my blog"})  # fmt: skip
    assert bad.status_code == 422 and "website" in bad.text
    partner = client.post("/api/v1/partners", headers=program.headers,
                          json={"email": "bo@example.com", "name": "Bo", "website": "https://www.bo-blog.example/"})  # fmt: skip
    assert partner.status_code == 201 and partner.json()["website"] == "https://www.bo-blog.example/"
    link = make_link(client, program, key="bo", partner_id=partner.json()["id"])
    coupon = client.post("/api/v1/coupons", headers=program.headers,
                         json={"code": "BO20", "partner_id": partner.json()["id"]})  # fmt: skip
    assert coupon.status_code == 201, coupon.text
    clicked = {}
    for customer, referrer in (("cus_leak", "https://coupons.example/acme-codes"),
                               ("cus_blog", "https://bo-blog.example/review")):  # fmt: skip
        client.cookies.clear()
        went = client.get("/go/bo", headers={"referer": referrer}, follow_redirects=False)
        assert went.status_code == 302, went.text
        clicked[customer] = went.headers["location"].split("pl_cid=")[1]
    wait_for_link_clicks(client, program, link["id"], 2)
    statuses = {}
    for customer in ("cus_leak", "cus_blog"):
        lead = client.post("/api/v1/track/lead", headers=program.headers,
                           json={"click_id": clicked[customer], "customer_external_id": customer})  # fmt: skip
        assert lead.status_code in (200, 201), lead.text
        bought = sale(client, program, customer, f"in_{customer}", 5000, coupon_code="BO20")
        statuses[customer] = bought["commissions"][0]["status"]
    assert statuses == {"cus_leak": "on_hold", "cus_blog": "pending"}
    alerts = open_alerts(client, program)
    assert [(a["kind"], a["evidence"]["referrer_host"]) for a in alerts] == [("coupon_off_site", "coupons.example")]


def test_by_default_a_lead_a_moment_after_its_click_is_held_as_too_fast(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    with transaction(engine) as session:  # the program's thresholds as a new program has them
        session.execute(delete(AlertSettings).where(AlertSettings.program_id == program.id))
    defaults = client.get("/api/v1/alerts/settings", headers=program.headers).json()["thresholds"]
    assert defaults["fast_conversion_seconds"]["value"] == defaults["fast_conversion_seconds"]["default"] == 3
    setup_plan(client, program, lead_amount=500)
    link = partner_with_link(client, program)
    clicked = click(client, "ana")
    wait_for_link_clicks(client, program, link["id"], 1)
    with transaction(engine, writes=False) as session:  # a script's lead: a second after the click
        clicked_at = session.execute(select(Click.created_at).where(Click.id == clicked)).scalar_one()
    response = client.post("/api/v1/track/lead", headers=program.headers, json={
        "click_id": clicked, "customer_external_id": "cus_1", "email": "someone.else@example.com",
        "occurred_at": (clicked_at + timedelta(seconds=1)).isoformat()})  # fmt: skip
    assert response.status_code in (200, 201), response.text
    assert response.json()["commissions"][0]["status"] == "on_hold"
    [alert] = open_alerts(client, program)
    assert alert["kind"] == "fast_conversion" and alert["evidence"]["seconds_after_click"] == 1
    # a lead a minute after its click is a person's
    later = click(client, "ana")
    wait_for_link_clicks(client, program, link["id"], 2)
    response = client.post("/api/v1/track/lead", headers=program.headers, json={
        "click_id": later, "customer_external_id": "cus_2", "email": "another@example.com",
        "occurred_at": (utc_now() + timedelta(minutes=1)).isoformat()})  # fmt: skip
    assert response.status_code in (200, 201) and response.json()["commissions"][0]["status"] == "pending"


def test_a_stranger_is_not_held(client: TestClient, program: ProgramKeys) -> None:
    setup_plan(client, program, lead_amount=500)
    link = partner_with_link(client, program)
    clicked = click(client, "ana")
    wait_for_link_clicks(client, program, link["id"], 1)
    assert (
        lead_by(client, program, clicked, "cus_1", "someone.else@example.com")["commissions"][0]["status"] == "pending"
    )
    assert open_alerts(client, program) == []


def test_dismissing_with_approve_releases_the_held_commission(client: TestClient, program: ProgramKeys) -> None:
    setup_plan(client, program, lead_amount=500)
    link = partner_with_link(client, program)
    clicked = click(client, "ana")
    wait_for_link_clicks(client, program, link["id"], 1)
    held = lead_by(client, program, clicked, "cus_1", ANA)["commissions"][0]
    alert = open_alerts(client, program)[0]
    bad = client.post(f"/api/v1/alerts/{alert['id']}/dismiss", headers=program.headers, json={"commissions": "pay"})
    assert bad.status_code == 422 and "commissions" in bad.json()["detail"]
    dismissed = client.post(f"/api/v1/alerts/{alert['id']}/dismiss", headers=program.headers,
                            json={"note": "her husband, a real customer", "commissions": "approve"})  # fmt: skip
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    commission = client.get("/api/v1/commissions", params={"partner_id": link["partner_id"]}, headers=program.headers)
    assert [(row["id"], row["status"]) for row in commission.json()["data"]] == [(held["id"], "approved")]


def test_the_partners_own_browser_and_network_on_the_click_is_a_self_referral(
    app: PartnerloopApp, engine: Engine, program: ProgramKeys
) -> None:
    firefox = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"
    with TestClient(app, base_url="http://testserver", client=("203.0.113.7", 50000),
                    headers={"user-agent": firefox}) as browser:  # fmt: skip
        setup_plan(browser, program, lead_amount=500)
        _user, partner_id = add_partner_user(engine, program.id, "pat@creator.example", name="Pat")
        assert login(browser, "pat@creator.example", PASSWORD).status_code == 303
        link = make_link(browser, program, key="pat", partner_id=partner_id)
        clicked = click(browser, "pat", agent=firefox)
        wait_for_link_clicks(browser, program, link["id"], 1)
        tracked = lead_by(browser, program, clicked, "cus_pat", "someone@example.com")
        assert tracked["commissions"][0]["status"] == "on_hold"
        alert = open_alerts(browser, program)[0]
        assert alert["evidence"]["matched"] == ["IP and user agent"]
        assert alert["evidence"]["click"]["ip"] == "203.0.113.0"


def test_thresholds_are_per_program_and_checked(client: TestClient, program: ProgramKeys,
                                                other_program: ProgramKeys) -> None:  # fmt: skip
    defaults = client.get("/api/v1/alerts/settings", headers=program.headers).json()["thresholds"]
    assert defaults["click_spike_factor"]["value"] == 5
    changed = client.patch("/api/v1/alerts/settings", headers=program.headers, json={"click_spike_factor": 8})
    assert changed.status_code == 200 and changed.json()["thresholds"]["click_spike_factor"]["value"] == 8
    for body, field in (
        ({"bot_share": 2}, "bot_share"),
        ({"nonsense": 1}, "nonsense"),
        ({"quiet_days": 0}, "quiet_days"),
    ):
        response = client.patch("/api/v1/alerts/settings", headers=program.headers, json=body)
        assert response.status_code == 422 and response.json()["detail"].startswith(field), response.text
    again = client.get("/api/v1/alerts/settings", headers=program.headers).json()["thresholds"]
    assert again["click_spike_factor"]["value"] == 8 and again["bot_share"]["value"] == 0.5
    other = client.get("/api/v1/alerts/settings", headers=other_program.headers).json()["thresholds"]
    assert other["click_spike_factor"]["value"] == 5


def test_the_click_scan_flags_a_flood_and_bots_once_per_subject(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    link = partner_with_link(client, program)
    patched = client.patch("/api/v1/alerts/settings", headers=program.headers,
                           json={"click_spike_min_clicks": 12, "bot_min_clicks": 12})  # fmt: skip
    assert patched.status_code == 200, patched.text
    for _ in range(8):
        click(client, "ana")
    for _ in range(8):
        click(client, "ana", GOOGLEBOT)
    wait_for_link_clicks(client, program, link["id"], 16)
    with transaction(engine) as session:
        assert scan_clicks(session, utc_now()) == 2
    with transaction(engine) as session:
        scan_clicks(session, utc_now())  # the same findings again: the same two open alerts
    alerts = {a["kind"]: a for a in open_alerts(client, program)}
    assert set(alerts) == {"click_spike", "bot_traffic"}
    # seen again (the app's own every-minute scan may have run in between too)
    assert alerts["click_spike"]["occurrences"] >= 2 and alerts["click_spike"]["link_id"] == link["id"]
    assert alerts["click_spike"]["evidence"]["clicks"] == 16
    assert alerts["bot_traffic"]["evidence"]["bot_clicks"] == 8
    bad = client.get("/api/v1/alerts", params={"status": "closed"}, headers=program.headers)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("status")


def test_the_performance_scan_flags_many_leads_without_a_sale(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    link = partner_with_link(client, program)
    client.patch("/api/v1/alerts/settings", headers=program.headers, json={"leads_without_sales_min": 3})
    code = client.get(f"/api/v1/partners/{link['partner_id']}", headers=program.headers).json()["referral_code"]
    for index in range(3):
        response = client.post("/api/v1/track/lead", headers=program.headers,
                               json={"referral_code": code, "customer_external_id": f"l{index}"})  # fmt: skip
        assert response.status_code in (200, 201), response.text
    with transaction(engine) as session:
        scan_performance(session, utc_now())
    assert [a["kind"] for a in open_alerts(client, program)] == ["leads_without_sales"]


def test_the_performance_scan_counts_disputed_sales_with_refunded_ones(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    setup_plan(client, program)
    client.patch("/api/v1/alerts/settings", headers=program.headers, json={"refund_min_sales": 5})
    for name, sales in (("ana", 5), ("bo", 15)):
        partner = client.post("/api/v1/partners", headers=program.headers,
                              json={"email": f"{name}@example.com", "name": name}).json()  # fmt: skip
        coupon = client.post("/api/v1/coupons", headers=program.headers,
                             json={"code": f"{name.upper()}20", "partner_id": partner["id"]})  # fmt: skip
        assert coupon.status_code == 201, coupon.text
        for index in range(sales):
            sale(client, program, f"cus_{name}_{index}", f"in_{name}_{index}", 5000, coupon_code=f"{name.upper()}20")
    with transaction(engine) as session:  # chargebacks, as the Stripe integration records them: one won
        for index, status in enumerate(("lost", "open", "lost", "won")):
            session.add(StripeDispute(program_id=program.id, dispute_id=f"dp_{index}", invoice_id=f"in_ana_{index}",
                                      status=status, held={}))  # fmt: skip
    with transaction(engine) as session:
        scan_performance(session, utc_now())
    [alert] = open_alerts(client, program)
    assert alert["kind"] == "refund_rate" and alert["partner_id"] == partner_id_of(client, program, "ana@example.com")
    assert alert["evidence"]["refunded"] == 3 and alert["evidence"]["sales"] == 5 and "disputed" in alert["detail"]


def partner_id_of(client: TestClient, program: ProgramKeys, email: str) -> str:
    listed = client.get("/api/v1/partners", headers=program.headers, params={"limit": 100}).json()["data"]
    return str(next(row["id"] for row in listed if row["email"] == email))


def test_alerts_of_another_program_are_404(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    setup_plan(client, program, lead_amount=500)
    link = partner_with_link(client, program)
    clicked = click(client, "ana")
    wait_for_link_clicks(client, program, link["id"], 1)
    lead_by(client, program, clicked, "cus_1", ANA)
    alert = open_alerts(client, program)[0]
    assert client.get(f"/api/v1/alerts/{alert['id']}", headers=other_program.headers).status_code == 404
    assert client.post(f"/api/v1/alerts/{alert['id']}/resolve", headers=other_program.headers).status_code == 404
    assert open_alerts(client, other_program) == []
