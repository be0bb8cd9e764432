"""Leaderboards, awards and the public partners page, monthly reviews: over the API and real SMTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.engagement.rules import month_of, month_window, previous_month
from partnerloop.engagement.service import reviews
from partnerloop.kit.time import utc_now
from partnerloop.models import PartnerEngagement, PerformanceReview, Program
from tests.conftest import ProgramKeys
from tests.engagement.helpers import convert, make_partner, make_plan
from tests.notify.smtp import SmtpRecorder


def test_the_leaderboard_ranks_partners_by_the_metric_of_the_period(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    ann = make_partner(client, program, name="Ann")
    bob = make_partner(client, program, name="Bob")
    cat = make_partner(client, program, name="Cat")
    make_partner(client, program, name="Idle")
    convert(client, program, ann["referral_code"], "cus_a1", 3000, "in_a1")
    convert(client, program, ann["referral_code"], "cus_a2", 3000, "in_a2")
    convert(client, program, bob["referral_code"], "cus_b1", 9000, "in_b1")
    convert(client, program, cat["referral_code"], "cus_c1", 1000, "in_c1")
    assert client.post("/api/v1/track/refund", json={"invoice_id": "in_b1", "amount": 4000},
                       headers=program.headers).status_code in (200, 201)  # fmt: skip

    def board(query: str) -> list[tuple[int, str, int]]:
        answer = client.get(f"/api/v1/leaderboard?{query}", headers=program.headers)
        assert answer.status_code == 200, answer.text
        return [(row["rank"], row["name"], row["value"]) for row in answer.json()["data"]]

    assert board("metric=revenue&period=month") == [(1, "Ann", 6000), (2, "Bob", 5000), (3, "Cat", 1000)]
    assert board("metric=sales&period=quarter") == [(1, "Ann", 2), (2, "Bob", 1), (2, "Cat", 1)]
    assert board("metric=leads&period=year")[0] == (1, "Ann", 2)
    assert board("metric=new_customers&period=month") == [(1, "Ann", 2), (2, "Bob", 1), (2, "Cat", 1)]
    assert board("metric=sales&period=month&from=2020-01-01") == []  # another window: nothing then
    for query, field in (("metric=clicks_per_moon", "metric"), ("period=week", "period")):
        refused = client.get(f"/api/v1/leaderboard?{query}", headers=program.headers)
        assert refused.status_code == 422 and refused.json()["detail"].startswith(field), refused.text


def test_an_award_shows_on_the_public_page_only_when_public_and_the_partner_opted_in(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    client = mail_client
    star = make_partner(client, program, name="Star", email="star@award.test")
    shy = make_partner(client, program, name="Shy", email="shy@award.test")
    given = client.post("/api/v1/awards", headers=program.headers,
                        json={"partner_id": star["id"], "name": "Partner of the month", "note": "Record November", "public": True})  # fmt: skip
    assert given.status_code == 201, given.text
    client.post(
        "/api/v1/awards",
        headers=program.headers,
        json={"partner_id": star["id"], "name": "Quiet thanks", "public": False},
    )
    client.post(
        "/api/v1/awards", headers=program.headers, json={"partner_id": shy["id"], "name": "Rising star", "public": True}
    )
    assert smtp.wait_for(to="star@award.test", subject="Partner of the month").text.count("Record November") == 1
    page = client.get(f"/programs/{program.id}/partners").text
    assert "Star" not in page and "Shy" not in page  # nobody opted in yet
    with transaction(engine) as session:
        session.add(
            PartnerEngagement(
                program_id=program.id, partner_id=star["id"], public_profile=True, newsletter_opt_out=False
            )
        )
    page = client.get(f"/programs/{program.id}/partners").text
    assert 'data-public-partner="Star"' in page and "Partner of the month" in page
    assert "Quiet thanks" not in page and "Rising star" not in page
    listed = client.get(f"/api/v1/awards?partner_id={star['id']}", headers=program.headers).json()["data"]
    assert {award["name"] for award in listed} == {"Partner of the month", "Quiet thanks"}
    unknown = client.post(
        "/api/v1/awards", headers=program.headers, json={"partner_id": "nobody", "name": "X", "public": True}
    )
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("partner_id")
    blank = client.post(
        "/api/v1/awards", headers=program.headers, json={"partner_id": star["id"], "name": " ", "public": True}
    )
    assert blank.status_code == 422 and "name" in blank.text
    assert len(client.get("/api/v1/awards", headers=program.headers).json()["data"]) == 3


def test_a_monthly_review_compares_the_month_with_the_one_before_and_is_sent_with_a_note(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    client = mail_client
    make_plan(client, program)
    pat = make_partner(client, program, name="Pat", email="pat@review.test")
    make_partner(client, program, name="Other", email="other@review.test")
    convert(client, program, pat["referral_code"], "cus_1", 10000, "in_1")
    month = month_of(utc_now())
    made = client.post(f"/api/v1/partners/{pat['id']}/reviews", json={"month": month}, headers=program.headers)
    assert made.status_code == 201, made.text
    review = made.json()
    assert review["figures"] | {} == {"clicks": 0, "leads": 1, "sales": 1, "new_customers": 1, "revenue_amount": 10000,
                                      "commissions_amount": 2500, "currency": "usd"}  # fmt: skip
    assert review["previous"]["sales"] == 0 and review["status"] == "draft" and review["note"] is None
    summary = review["summary"]
    assert "1 lead and 1 sale worth 100.00 USD, earning 25.00 USD" in summary
    assert "Revenue rose from 0.00 USD in" in summary and "to 100.00 USD in" in summary
    # Remaking keeps the note; the manager's note and send go out by email.
    noted = client.patch(
        f"/api/v1/reviews/{review['id']}", json={"note": "Great start, Pat!", "send": True}, headers=program.headers
    )
    assert noted.status_code == 200 and noted.json()["status"] == "sent", noted.text
    mail = smtp.wait_for(to="pat@review.test", subject="review")
    assert (
        summary in mail.text
        and "Great start, Pat!" in mail.text
        and "Revenue: $100.00 (previous month: $0.00)" in mail.text  # Babel money; the stored summary keeps its text
    )
    again = client.post(f"/api/v1/partners/{pat['id']}/reviews", json={"month": month}, headers=program.headers).json()
    assert again["id"] == review["id"] and again["note"] == "Great start, Pat!"
    listed = client.get(f"/api/v1/partners/{pat['id']}/reviews", headers=program.headers).json()["data"]
    assert [row["month"] for row in listed] == [month]
    for bad in ("2026-13", "next month", "2999-01"):
        refused = client.post(f"/api/v1/partners/{pat['id']}/reviews", json={"month": bad}, headers=program.headers)
        assert refused.status_code == 422 and "month" in refused.text, refused.text
    assert client.get("/api/v1/partners/nobody/reviews", headers=program.headers).status_code == 404


def test_the_monthly_job_drafts_one_review_per_active_partner_once(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    make_plan(client, program)
    a = make_partner(client, program, name="A")
    make_partner(client, program, name="B")
    make_partner(client, program, name="P", status="pending")
    convert(client, program, a["referral_code"], "cus_1", 10000, "in_1")
    month = month_of(utc_now())
    with transaction(engine) as session:
        program_row = session.get(Program, program.id)
        assert program_row is not None
        # Reviewing a month before they enrolled makes none; this month (as the job does next month) makes two.
        assert reviews.make_month(session, program_row, previous_month(month), utc_now()) == 0
        assert reviews.make_month(session, program_row, month, utc_now()) == 2
        assert reviews.make_month(session, program_row, month, utc_now()) == 0
        rows = {r.partner_id: r for r in session.execute(select(PerformanceReview)).scalars()}
    assert rows[a["id"]].figures["revenue_amount"] == 10000 and len(rows) == 2


def test_a_review_sets_the_month_against_the_partners_goals(
    mail_client: TestClient, program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    client = mail_client
    make_plan(client, program)
    pat = make_partner(client, program, name="Pat", email="pat@goals.test")
    other = make_partner(client, program, name="Other")
    start, end = month_window(month_of(utc_now()))
    goal = client.post("/api/v1/goals", headers=program.headers, json={
        "name": "Pat: 4 sales", "metric": "sales", "target": 4, "partner_id": pat["id"],
        "start": start.isoformat(), "end": end.isoformat()})  # fmt: skip
    assert goal.status_code == 201, goal.text
    client.post("/api/v1/goals", headers=program.headers, json={
        "name": "Other's goal", "metric": "sales", "target": 9, "partner_id": other["id"],
        "start": start.isoformat(), "end": end.isoformat()})  # fmt: skip
    convert(client, program, pat["referral_code"], "cus_1", 10000, "in_1")
    month = month_of(utc_now())
    review = client.post(f"/api/v1/partners/{pat['id']}/reviews", json={"month": month}, headers=program.headers).json()
    assert [
        (g["name"], g["metric"], g["current"], g["target"], g["percent"], g["reached"]) for g in review["goals"]
    ] == [("Pat: 4 sales", "sales", 1, 4, 25, False)]
    assert review["summary"].endswith('Goal: "Pat: 4 sales" 1 of 4 (25%).')
    sent = client.patch(f"/api/v1/reviews/{review['id']}", json={"send": True}, headers=program.headers)
    assert sent.status_code == 200, sent.text
    assert "Goal Pat: 4 sales: 1 of 4" in smtp.wait_for(to="pat@goals.test", subject="review").text
