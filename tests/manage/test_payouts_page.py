"""/manage/payouts: who is due and who not (with the API's reasons), confirming a run with a delivery choice per
method, CSV exports, mark paid (many, one reference), failures and retries, run history and the schedule."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.models import Job, Payout
from tests.conftest import ProgramKeys, make_settings
from tests.manage.factories import as_member, as_owner, form_post
from tests.payout.helpers import earn, partner_with_method, write_counts


def _world(client: TestClient, program: ProgramKeys) -> dict[str, str]:
    """Ann and Eve are due (PayPal, Wise); Bob is under the minimum; Cat has no payout method; Dan is banned."""
    assert client.patch("/api/v1/program", json={"min_payout_amount": 1000}, headers=program.headers).is_success
    ann = partner_with_method(
        client, program, {"type": "paypal", "email": "ann@pay.test"}, name="Ann", email="ann@p.test"
    )
    eve = partner_with_method(
        client,
        program,
        {"type": "wise", "account_holder_name": "Eve E", "iban": "DE89 3704 0044 0532 0130 00"},
        name="Eve",
        email="eve@p.test",
    )
    bob = partner_with_method(client, program, name="Bob", email="bob@p.test")
    cat = client.post("/api/v1/partners", json={"name": "Cat", "email": "cat@p.test"}, headers=program.headers).json()
    dan = partner_with_method(client, program, name="Dan", email="dan@p.test")
    for partner_id, amount in [(ann, 5000), (ann, 2500), (eve, 4000), (bob, 500), (cat["id"], 3000), (dan, 2000)]:
        earn(client, program, partner_id, amount)
    banned = client.post(f"/api/v1/partners/{dan}/ban", json={"commissions": "hold"}, headers=program.headers)
    assert banned.status_code == 200, banned.text
    for commission in client.get(f"/api/v1/commissions?partner_id={dan}", headers=program.headers).json()["data"]:
        if commission["status"] == "on_hold":
            approved = client.post(f"/api/v1/commissions/{commission['id']}/approve", headers=program.headers)
            assert approved.status_code == 200, approved.text
    return {"ann": ann, "eve": eve, "bob": bob, "cat": cat["id"], "dan": dan}


def _row(html: str, kind: str, email: str) -> str:
    match = re.search(rf'<tr data-{kind}="{re.escape(email)}">(.*?)</tr>', html, re.S)
    assert match, f"no {kind} row for {email}"
    return match.group(1)


def test_the_page_says_who_is_due_and_every_reason_the_others_are_not(client: TestClient, program: ProgramKeys) -> None:
    _world(client, program)
    as_owner(client)
    html = client.get(f"/manage/payouts?program={program.id}").text
    preview = client.post("/api/v1/payouts/runs", json={"preview": True}, headers=program.headers).json()
    assert "75.00" in _row(html, "due", "ann@p.test") and "PayPal" in _row(html, "due", "ann@p.test")
    assert "Wise" in _row(html, "due", "eve@p.test")
    assert "Below the minimum payout" in _row(html, "skipped", "bob@p.test")
    assert "No payout method" in _row(html, "skipped", "cat@p.test")
    assert "banned" in _row(html, "skipped", "dan@p.test")
    for skipped in preview["skipped"]:  # the page's reasons are the API's, word for word
        for reason in skipped["reasons"]:
            assert reason.replace("'", "&#39;") in html
    # PayPal is not connected here: nothing offers to send through it.
    assert "Send through PayPal" not in html and "Pay from the CSV" in html


def test_confirm_export_and_mark_paid_with_one_reference(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    people = _world(client, program)
    as_owner(client)
    page = f"/manage/payouts?program={program.id}"
    run_key = re.search(r'name="run_key" value="([^"]+)"', client.get(page).text)
    assert run_key
    data = [("run_key", run_key.group(1)), ("offered", "paypal"), ("offered", "wise")]
    confirmed = form_post(client, page, f"/manage/payouts/run?program={program.id}", data)
    assert confirmed.status_code == 303, confirmed.text
    assert "Payout run confirmed: 2 payouts." in client.get(confirmed.headers["location"]).text
    before = write_counts(engine)
    again = form_post(client, page, f"/manage/payouts/run?program={program.id}", data)  # a second click
    assert again.status_code == 409 and "was confirmed already" in again.text
    assert write_counts(engine) == before
    with transaction(engine, writes=False) as session:
        payouts = {p.partner_id: p for p in session.execute(select(Payout)).scalars()}
    assert set(payouts) == {people["ann"], people["eve"]} and {p.delivery for p in payouts.values()} == {"csv"}

    html = client.get(page).text
    links = re.findall(r'href="(/manage/payouts/runs/[^"]+/export\.csv[^"]+)"', html)
    assert len(links) == 2, links
    paypal_csv = client.get(next(link for link in links if "format=paypal" in link).replace("&amp;", "&"))
    assert paypal_csv.status_code == 200 and paypal_csv.text.startswith("ann@pay.test,75.00,USD,")
    wise_csv = client.get(next(link for link in links if "format=wise" in link).replace("&amp;", "&"))
    assert "DE89370400440532013000" in wise_csv.text

    mark = f"/manage/payouts/mark-paid?program={program.id}"
    ids = [("payout_ids", payouts[people["ann"]].id), ("payout_ids", payouts[people["eve"]].id)]
    refused = form_post(client, page, mark, [*ids, ("reference", "  ")])
    assert refused.status_code == 422 and "reference:" in refused.text
    assert form_post(client, page, mark, [("reference", "B-1")]).status_code == 422  # nothing selected
    paid = form_post(client, page, mark, [*ids, ("reference", "BANK-2026-12")])
    assert "2 payouts marked paid." in client.get(paid.headers["location"]).text
    with transaction(engine, writes=False) as session:
        rows = list(session.execute(select(Payout)).scalars())
    assert {(p.status, p.provider_reference) for p in rows} == {("paid", "BANK-2026-12")}
    assert "2 paid" in client.get(page).text  # the run history counts them


def test_a_failed_payout_is_retried_from_the_page(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    _world(client, program)
    as_owner(client)
    page = f"/manage/payouts?program={program.id}"
    form_post(client, page, f"/manage/payouts/run?program={program.id}", [("offered", "paypal"), ("offered", "wise")])
    with transaction(engine, writes=False) as session:
        first = session.execute(select(Payout).order_by(Payout.id)).scalars().first()
    assert first is not None
    fail = f"/manage/payouts/{first.id}/fail?program={program.id}"
    assert form_post(client, page, fail, {"reason": ""}).status_code == 422
    failed = form_post(client, page, fail, {"reason": "PayPal account closed"})
    assert "its commissions are back in the partner" in client.get(failed.headers["location"]).text
    assert "PayPal account closed" in client.get(page).text
    retried = form_post(client, page, f"/manage/payouts/{first.id}/retry?program={program.id}", {})
    assert "Payout retried" in client.get(retried.headers["location"]).text
    assert ">Retried<" in client.get(page).text
    again = form_post(client, page, f"/manage/payouts/{first.id}/retry?program={program.id}", {})
    assert again.status_code == 409 and "retried already" in again.text


def test_the_schedule_is_saved_and_bad_values_name_the_field(client: TestClient, program: ProgramKeys) -> None:
    as_owner(client)
    page = f"/manage/payouts?program={program.id}"
    action = f"/manage/payouts/settings?program={program.id}"
    bad = form_post(client, page, action, {"schedule": "monthly", "day_of_month": "31", "net_days": "15"})
    assert bad.status_code == 422 and "day_of_month" in bad.text
    assert client.get("/api/v1/payouts/settings", headers=program.headers).json()["schedule"] == "manual"
    saved = form_post(client, page, action, {"schedule": "monthly", "day_of_month": "5", "net_days": "30"})
    assert saved.status_code == 303
    assert client.get("/api/v1/payouts/settings", headers=program.headers).json() == {
        "schedule": "monthly", "day_of_month": 5, "net_days": 30, "stripe_secret_key_set": False,
    }  # fmt: skip
    assert "monthly on day 5" in client.get(page).text


def test_a_viewer_sees_payouts_but_cannot_run_them(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    _world(client, program)
    as_member(client, engine, program, "viewer")
    page = f"/manage/payouts?program={program.id}"
    html = client.get(page).text
    assert "Confirm the run" not in html and "Ann" in html
    refused = form_post(client, page, f"/manage/payouts/run?program={program.id}", [("offered", "paypal")])
    assert refused.status_code == 403
    assert write_counts(engine)["payouts"] == 0


@pytest.fixture
def paypal_client(engine: Engine, database_url: str) -> Iterator[TestClient]:
    settings = make_settings(
        database_url, run_jobs_in_process=False, paypal_client_id="client", paypal_client_secret="secret"
    )
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield client


def test_with_paypal_connected_sending_through_it_is_an_explicit_choice(
    paypal_client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    client = paypal_client
    people = _world(client, program)
    as_owner(client)
    page = f"/manage/payouts?program={program.id}"
    html = client.get(page).text
    assert "Send through PayPal" in html and "Send through Wise" not in html
    action = f"/manage/payouts/run?program={program.id}"
    unchosen = form_post(client, page, action, [("offered", "paypal"), ("offered", "wise")])
    assert unchosen.status_code == 422 and "delivery: choose how to pay the PayPal payouts" in unchosen.text
    assert write_counts(engine)["payouts"] == 0
    sent = form_post(client, page, action, [("offered", "paypal"), ("offered", "wise"), ("delivery_paypal", "api")])
    assert sent.status_code == 303, sent.text
    with transaction(engine, writes=False) as session:
        deliveries = {p.partner_id: p.delivery for p in session.execute(select(Payout)).scalars()}
        jobs = [job.kind for job in session.execute(select(Job)).scalars()]
    assert deliveries == {people["ann"]: "api", people["eve"]: "csv"}
    assert "payout_send" in jobs


def test_a_long_list_shows_the_largest_balances_and_counts_everyone(
    client: TestClient, program: ProgramKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With thousands of partners due the page lists the largest balances (SHOWN_LIMIT of them, here 1) and
    says how many the run pays; the run itself pays everyone due."""
    from partnerloop.payout.service import board

    _world(client, program)
    monkeypatch.setattr(board, "SHOWN_LIMIT", 1)
    as_owner(client)
    html = client.get(f"/manage/payouts?program={program.id}").text
    assert 'data-due="ann@p.test"' in html and 'data-due="eve@p.test"' not in html  # 75.00 before 40.00
    assert "<small data-due-count>2</small>" in html
    assert "The 1 largest balances are listed of 2 partners due; the run pays all 2." in html
    assert "1 of 3 listed." in html and 'data-skipped="cat@p.test"' in html  # 30.00, the largest not paid
    run = client.post("/api/v1/payouts/runs", json={}, headers=program.headers)
    assert run.status_code in (200, 201), run.text
    assert len(run.json()["payouts"]) == 2
