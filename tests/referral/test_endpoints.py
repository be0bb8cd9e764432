"""The referral API per API.md: advocates, reward settings, rewards made once per friend, self-referral,
hold days and refunds, mark-issued; the share page and the widget's data endpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.models import Advocate, Enrollment, Program, Reward
from partnerloop.referral.rules import widget_token
from tests.conftest import ProgramKeys
from tests.referral.conftest import REWARDS, friend_sale, make_advocate, rewards, set_rewards, wait_until


def _count(engine: Engine, model: Any) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_advocate_is_created_once_per_customer_id(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    first = client.post(
        "/api/v1/advocates",
        json={
            "customer_external_id": "cus_ada",
            "email": "Ada@Example.com",
            "name": "Ada",
            "stripe_customer_id": "cus_S1",
        },
        headers=program.headers,
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert {"id", "customer_external_id", "email", "referral_code", "share_url", "referrals_count", "rewards"} <= set(
        body
    )
    assert (
        body["share_url"].startswith("http://testserver/r/") and body["referrals_count"] == 0 and body["rewards"] == []
    )
    again = client.post(
        "/api/v1/advocates",
        json={"customer_external_id": "cus_ada", "email": "ada@example.com"},
        headers=program.headers,
    )
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert (
        client.get(f"/api/v1/advocates/{body['id']}", headers=program.headers).json()["referral_code"]
        == body["referral_code"]
    )
    listed = client.get("/api/v1/advocates", headers=program.headers).json()
    assert [item["id"] for item in listed["data"]] == [body["id"]] and listed["next_cursor"] is None
    assert _count(engine, Advocate) == 1
    with transaction(engine, writes=False) as session:
        assert session.execute(select(Enrollment.kind)).scalar_one() == "advocate"


def test_advocates_of_another_program_are_not_found(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    advocate = make_advocate(client, program)
    assert client.get(f"/api/v1/advocates/{advocate['id']}", headers=other_program.headers).status_code == 404
    assert client.get("/api/v1/advocates", headers=other_program.headers).json()["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"customer_external_id": "", "email": "a@example.com"}, "customer_external_id", id="empty id"),
        pytest.param({"customer_external_id": "x", "email": "not-an-email"}, "email", id="bad email"),
        pytest.param({"customer_external_id": "x"}, "email", id="missing email"),
    ],
)
def test_bad_advocate_is_refused_and_nothing_stored(
    client: TestClient, engine: Engine, program: ProgramKeys, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/advocates", json=body, headers=program.headers)
    assert response.status_code == 422 and field in response.text
    assert _count(engine, Advocate) == 0


def test_settings_are_saved_and_shown(client: TestClient, program: ProgramKeys) -> None:
    saved = set_rewards(client, program)
    assert saved["referral_rewards"] == {
        **REWARDS,
        "hold_days": 0,
        "auto_advocates": False,
        "auto_advocates_on": "customer.created",
    }
    shown = client.get("/api/v1/program", headers=program.headers).json()
    assert shown["referral_rewards"]["referrer"] == {"type": "credit", "amount": 2000}
    assert len(shown["widget_secret"]) == 64


@pytest.mark.parametrize(
    ("rewards_body", "field"),
    [
        pytest.param({"referrer": {"type": "credit", "amount": -5}}, "amount", id="a negative amount"),
        pytest.param({"friend": {"type": "percent_off", "percent": 0}}, "percent", id="percent 0"),
        pytest.param({"friend": {"type": "percent_off", "percent": 101}}, "percent", id="percent 101"),
        pytest.param({"referrer": {"type": "gift"}}, "referrer", id="an unknown referrer type"),
        pytest.param({"friend": {"type": "free_month"}}, "friend", id="an unknown friend type"),
        pytest.param({"trigger": "click"}, "trigger", id="an unknown trigger"),
        pytest.param({"hold_days": -1}, "hold_days", id="negative hold days"),
        pytest.param({"limit_per_advocate": 0}, "limit_per_advocate", id="a zero limit"),
        pytest.param({"referrer": {"type": "coupon"}}, "referrer", id="a coupon without a discount"),
    ],
)
def test_bad_settings_are_422_naming_the_field_and_change_nothing(
    client: TestClient, program: ProgramKeys, rewards_body: dict[str, Any], field: str
) -> None:
    set_rewards(client, program)
    response = client.patch(
        "/api/v1/program",
        json={"referral_rewards": {**REWARDS, **rewards_body}, "hold_days": 5},
        headers=program.headers,
    )
    assert response.status_code == 422, response.text
    assert field in response.text
    shown = client.get("/api/v1/program", headers=program.headers).json()
    assert shown["referral_rewards"]["referrer"] == REWARDS["referrer"] and shown["hold_days"] == 30


def test_friend_sale_makes_one_reward_per_side_whatever_the_retries(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    set_rewards(client, program)
    advocate = make_advocate(client, program)
    friend_sale(client, program, advocate, "cus_bob", "in_1")
    for _ in range(3):  # the same sale again, and another sale of the same friend
        friend_sale(client, program, advocate, "cus_bob", "in_1")
    friend_sale(client, program, advocate, "cus_bob", "in_2")
    found = rewards(client, program, advocate_id=advocate["id"])
    assert sorted((r["side"], r["type"], r["status"]) for r in found) == [
        ("friend", "percent_off", "pending"),
        ("referrer", "credit", "pending"),
    ]
    referrer = next(r for r in found if r["side"] == "referrer")
    assert (referrer["amount"], referrer["currency"]) == (2000, "usd")
    friend = next(r for r in found if r["side"] == "friend")
    assert friend["percent"] == 20 and friend["code"]
    assert client.get(f"/api/v1/advocates/{advocate['id']}", headers=program.headers).json()["referrals_count"] == 1
    assert rewards(client, program, status="issued") == []
    assert len(rewards(client, program, status="pending")) == 2


def test_lead_trigger_rewards_the_first_lead(client: TestClient, program: ProgramKeys) -> None:
    set_rewards(client, program, trigger="lead", friend={"type": "none"})
    advocate = make_advocate(client, program)
    for name in ("signup", "signup", "activated"):
        response = client.post(
            "/api/v1/track/lead",
            json={"referral_code": advocate["referral_code"], "customer_external_id": "cus_bob", "event_name": name},
            headers=program.headers,
        )
        assert response.status_code in (200, 201), response.text
    assert [(r["side"], r["status"]) for r in rewards(client, program)] == [("referrer", "pending")]


@pytest.mark.parametrize(
    ("friend_id", "friend_email"),
    [
        pytest.param("cus_ada", "someone@friends.test", id="the same customer id"),
        pytest.param("cus_other", "A.D.A+ref@GMAIL.com", id="the same gmail address, dotted and tagged"),
    ],
)
def test_self_referral_is_rejected_with_the_reason(
    client: TestClient, program: ProgramKeys, friend_id: str, friend_email: str
) -> None:
    set_rewards(client, program, trigger="lead")
    advocate = make_advocate(client, program, email="ada@gmail.com")
    response = client.post(
        "/api/v1/track/lead",
        json={"referral_code": advocate["referral_code"], "customer_external_id": friend_id, "email": friend_email},
        headers=program.headers,
    )
    assert response.status_code in (200, 201), response.text
    found = rewards(client, program)
    assert {r["status"] for r in found} == {"rejected"} and len(found) == 2
    assert all("Self-referral" in r["reason"] for r in found)


def test_limit_per_advocate(client: TestClient, program: ProgramKeys) -> None:
    set_rewards(client, program, limit_per_advocate=2, friend={"type": "none"})
    advocate = make_advocate(client, program)
    for number in range(4):
        friend_sale(client, program, advocate, f"cus_f{number}", f"in_{number}")
    statuses = sorted(r["status"] for r in rewards(client, program, side="referrer"))
    assert statuses == ["pending", "pending", "rejected", "rejected"]
    assert all("Limit" in r["reason"] for r in rewards(client, program, status="rejected"))


def test_refund_inside_the_hold_rejects_the_reward(client: TestClient, program: ProgramKeys) -> None:
    set_rewards(client, program, hold_days=14, friend={"type": "none"})
    advocate = make_advocate(client, program)
    friend_sale(client, program, advocate, "cus_bob", "in_1")
    friend_sale(client, program, advocate, "cus_carl", "in_2")
    refund = client.post("/api/v1/track/refund", json={"invoice_id": "in_1"}, headers=program.headers)
    assert refund.status_code in (200, 201), refund.text
    by_status = sorted((r["status"], r["reason"] or "") for r in rewards(client, program))
    assert by_status == [("pending", ""), ("rejected", "The friend's sale was refunded before the hold ended.")]


def test_without_stripe_rewards_wait_for_mark_issued(client: TestClient, program: ProgramKeys) -> None:
    set_rewards(client, program, friend={"type": "none"})
    advocate = make_advocate(client, program)
    friend_sale(client, program, advocate, "cus_bob", "in_1")
    (reward,) = rewards(client, program)
    assert reward["status"] == "pending"
    marked = client.post(
        f"/api/v1/rewards/{reward['id']}/mark-issued", json={"reference": "manual-42"}, headers=program.headers
    )
    assert marked.status_code == 200, marked.text
    assert (marked.json()["status"], marked.json()["external_ref"]) == ("issued", "manual-42")
    again = client.post(f"/api/v1/rewards/{reward['id']}/mark-issued", json={"reference": "x"}, headers=program.headers)
    assert again.status_code == 409 and again.json()["error"] == "RewardNotIssuable"
    empty = client.post(f"/api/v1/rewards/{reward['id']}/mark-issued", json={}, headers=program.headers)
    assert empty.status_code == 422 and "reference" in empty.text
    assert (
        client.post(
            "/api/v1/rewards/01NOSUCHREWARD/mark-issued", json={"reference": "x"}, headers=program.headers
        ).status_code
        == 404
    )


def test_rewards_filters_are_checked(client: TestClient, program: ProgramKeys) -> None:
    response = client.get("/api/v1/rewards?status=paid", headers=program.headers)
    assert response.status_code == 422 and "status" in response.text


def test_share_url_shows_the_offer_and_continues_through_the_redirect(client: TestClient, program: ProgramKeys) -> None:
    set_rewards(client, program)
    advocate = make_advocate(client, program)
    page = client.get(advocate["share_url"].replace("http://testserver", ""))
    assert page.status_code == 200
    assert "Ada gave you 20% off for 3 months" in page.text and "Acme" in page.text
    assert "script-src 'none'" in page.headers["content-security-policy"]
    continue_href = page.text.split('id="continue" href="', 1)[1].split('"', 1)[0]
    assert f'<meta http-equiv="refresh" content="5;url={continue_href}">' in page.text  # it goes on by itself
    hop = client.get(continue_href, follow_redirects=False)
    assert hop.status_code == 302
    location = hop.headers["location"]
    assert location.startswith("https://acme.test/?pl_cid=")
    click_id = location.split("pl_cid=", 1)[1]
    link_id = advocate["link_id"]
    wait_until(lambda: client.get(f"/api/v1/links/{link_id}", headers=program.headers).json()["clicks"] == 1)
    sale = client.post(
        "/api/v1/track/sale",
        json={
            "customer_external_id": "cus_bob",
            "amount": 5000,
            "currency": "usd",
            "invoice_id": "in_1",
            "click_id": click_id,
        },
        headers=program.headers,
    )
    assert sale.status_code in (200, 201), sale.text
    assert sale.json()["customer"]["partner_id"] == advocate["partner_id"]
    assert len(rewards(client, program)) == 2
    assert client.get("/r/nosuchkey").status_code == 404


def test_widget_data_needs_the_right_token(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    set_rewards(client, program)
    advocate = make_advocate(client, program)
    friend_sale(client, program, advocate, "cus_bob", "in_1")
    with transaction(engine, writes=False) as session:
        secret = session.get(Program, program.id).widget_secret  # type: ignore[union-attr]
    assert secret
    token = widget_token(secret, "cus_ada")
    url = "/api/v1/referral-widget"
    ok = client.get(url, params={"key": program.publishable_key, "customer": "cus_ada", "token": token},
                    headers={"Origin": "https://acme.test"})  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.headers["access-control-allow-origin"] == "https://acme.test"
    data = ok.json()
    assert data["advocate"]["share_url"] == advocate["share_url"] and len(data["referrals"]) == 1
    assert data["rewards"][0]["type"] == "credit" and data["rewards"][0]["status"] == "pending"
    assert set(data["share"]) == {"email", "x", "linkedin", "whatsapp", "facebook"}
    wrong = [
        {"key": program.publishable_key, "customer": "cus_ada", "token": "0" * 64},
        {"key": program.publishable_key, "customer": "cus_nobody", "token": widget_token(secret, "cus_nobody")},
        {"key": "pl_pk_nope", "customer": "cus_ada", "token": token},
    ]
    answers = [client.get(url, params=params, headers={"Origin": "https://acme.test"}) for params in wrong]
    assert {(a.status_code, a.text) for a in answers} == {(404, '{"error":"NotFound","detail":"Nothing to show."}')}
    foreign = client.get(url, params={"key": program.publishable_key, "customer": "cus_ada", "token": token},
                         headers={"Origin": "https://evil.test"})  # fmt: skip
    assert foreign.status_code == 404 and "access-control-allow-origin" not in foreign.headers


def test_widget_script_is_served_small(client: TestClient) -> None:
    plain = client.get("/js/referral-widget.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/javascript")
    assert "attachShadow" in plain.text and "innerHTML" not in plain.text
    zipped = client.get("/js/referral-widget.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) <= 6 * 1024


def test_cli_creates_a_referral_program(tmp_path: Any) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}
    import os

    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-m", "partnerloop.cli", "program", "create", "--name", "Refer Co", "--domain", "refer.test",
         "--kind", "referral", "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["kind"] == "referral" and answer["api_key"].startswith("pl_sk_")
    bad = subprocess.run(
        [sys.executable, "-m", "partnerloop.cli", "program", "create", "--name", "X", "--domain", "x.test", "--kind", "mlm"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "kind" in bad.stderr


def test_reward_rows_are_unique_per_referral_and_side(engine: Engine) -> None:
    assert any(
        constraint.name == "uq_rewards_referral_id_side"
        for constraint in Reward.__table__.constraints  # type: ignore[attr-defined]
    )


def test_hosted_page_opens_with_a_signed_link_only(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    make_advocate(client, program)
    with transaction(engine, writes=False) as session:
        secret = session.get(Program, program.id).widget_secret  # type: ignore[union-attr]
    assert secret
    page = client.get(f"/referrals/{program.id}/cus_ada", params={"token": widget_token(secret, "cus_ada")})
    assert page.status_code == 200
    assert 'src="/js/referral-widget.js"' in page.text and 'data-customer="cus_ada"' in page.text
    assert client.get(f"/referrals/{program.id}/cus_ada", params={"token": "f" * 64}).status_code == 404
    assert (
        client.get(
            f"/referrals/{program.id}/cus_nobody", params={"token": widget_token(secret, "cus_nobody")}
        ).status_code
        == 404
    )


def test_advocates_are_not_listed_as_partners(client: TestClient, program: ProgramKeys) -> None:
    from tests.commission.factories import make_partner

    partner = make_partner(client, program)
    make_advocate(client, program)
    listed = client.get("/api/v1/partners", headers=program.headers).json()["data"]
    assert [item["id"] for item in listed] == [partner["id"]]
