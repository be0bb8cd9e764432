"""Announcements over the API: audiences, safe Markdown, email batches through the queue, unsubscribing."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.engagement.service import announcements
from partnerloop.kit.time import utc_now
from partnerloop.models import Announcement, AnnouncementDelivery, Job
from tests.account.helpers import post_form
from tests.conftest import ProgramKeys
from tests.engagement.helpers import convert, group, make_partner, make_plan
from tests.notify.smtp import SmtpRecorder
from tests.tracking.helpers import eventually

EVIL = (
    "Hello **partners**\n\n<script>alert('x')</script>\n\n[click me](javascript:alert(1)) "
    '<img src=x onerror="alert(2)"> [docs](https://acme.test/docs)'
)


def _count(engine: Engine, model: type) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_an_announcement_reaches_approved_partners_by_email_and_never_banned_or_unsubscribed_ones(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    client = mail_client
    ann = make_partner(client, program, name="Ann", email="ann@news.test")
    bob = make_partner(client, program, name="Bob", email="bob@news.test")
    make_partner(client, program, name="Pen", email="pen@news.test", status="pending")
    ban = make_partner(client, program, name="Ban", email="ban@news.test")
    assert client.post(f"/api/v1/partners/{ban['id']}/ban", headers=program.headers).status_code == 200
    first = client.post("/api/v1/announcements", json={"title": "Spring launch", "body": EVIL, "email": True},
                        headers=program.headers)  # fmt: skip
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "sent" and body["figures"]["recipients"] == 2
    html = body["body_html"]
    assert "<strong>partners</strong>" in html and '<a href="https://acme.test/docs">docs</a>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # raw HTML is text
    assert "<img" not in html and 'href="javascript' not in html  # no tag, no javascript: link
    mail = smtp.wait_for(to="ann@news.test", subject="Spring launch")
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    smtp.wait_for(to="bob@news.test", subject="Spring launch")
    assert smtp.to("pen@news.test") == [] and smtp.to("ban@news.test") == []
    eventually(lambda: client.get(f"/api/v1/announcements/{body['id']}", headers=program.headers)
               .json()["figures"]["emailed"] == 2, timeout=10)  # fmt: skip
    # Bob leaves the newsletters through his email's link; it turns off nothing else.
    leave = mail.link("/unsubscribe/")
    assert leave.startswith(f"/unsubscribe/{program.id}/{ann['id']}/")
    bob_leave = smtp.wait_for(to="bob@news.test").link("/unsubscribe/")
    assert "Stop newsletters" in client.get(bob_leave).text
    assert "no more newsletters" in post_form(client, bob_leave, {}, page=bob_leave).text
    assert client.get(bob_leave[:-4] + "0000").status_code == 404  # a forged token is refused
    second = client.post("/api/v1/announcements", json={"title": "Webinar Thursday", "body": "Join us", "email": True},
                         headers=program.headers)  # fmt: skip
    assert second.json()["figures"]["recipients"] == 2  # Bob still sees it in the portal
    smtp.wait_for(to="ann@news.test", subject="Webinar Thursday")
    eventually(lambda: client.get(f"/api/v1/announcements/{second.json()['id']}", headers=program.headers)
               .json()["figures"]["emailed"] == 1, timeout=10)  # fmt: skip
    assert [m.subject for m in smtp.to("bob@news.test")] == ["Spring launch · Acme"]
    # Only newsletters stop: an account email (an award) still reaches Bob.
    award = {"partner_id": bob["id"], "name": "Rising star", "public": False}
    assert client.post("/api/v1/awards", json=award, headers=program.headers).status_code == 201
    smtp.wait_for(to="bob@news.test", subject="Rising star")


def test_an_empty_title_or_an_audience_of_nobody_is_a_422_and_nothing_is_sent(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    make_partner(client, program, name="Pending Pat", status="pending")
    empty = group(client, program, name="Empty")
    cases = [
        ({"title": "  ", "body": "x"}, "title"),
        ({"title": "Hi", "body": "x"}, "audience"),  # only a pending partner: nobody to send to
        ({"title": "Hi", "group_ids": [empty["id"]]}, "audience"),
        ({"title": "Hi", "group_ids": ["01NOSUCHGROUP0000000000000"]}, "group_ids"),
        ({"title": "Hi", "audience": "tiers", "group_ids": [empty["id"]]}, "group_ids"),  # a group without a rank
        ({"title": "Hi", "audience": "everyone"}, "audience"),
    ]
    for body, field in cases:
        answer = client.post("/api/v1/announcements", json=body, headers=program.headers)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.text, answer.text
    assert _count(engine, Announcement) == 0 and _count(engine, AnnouncementDelivery) == 0


def test_audiences_pick_groups_tiers_and_partners_quiet_for_30_days(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    make_plan(client, program)
    gold = group(client, program, name="Gold", rank=2)
    other = group(client, program, name="Other")
    seller = make_partner(client, program, name="Seller", group_id=gold["id"])
    quiet = make_partner(client, program, name="Quiet", group_id=other["id"])
    convert(client, program, seller["referral_code"], "cus_1", 5000, "in_1")

    def audience(**body: object) -> set[str]:
        answer = client.post("/api/v1/announcements", json={"title": "T", **body}, headers=program.headers)
        assert answer.status_code == 201, answer.text
        with transaction(engine, writes=False) as session:
            rows = session.execute(
                select(AnnouncementDelivery.partner_id).where(
                    AnnouncementDelivery.announcement_id == answer.json()["id"]
                )
            ).scalars()
            return set(rows)

    assert audience() == {seller["id"], quiet["id"]}
    assert audience(group_ids=[other["id"]]) == {quiet["id"]}
    assert audience(audience="tiers") == {seller["id"]}
    assert audience(audience="inactive") == {quiet["id"]}
    listed = client.get("/api/v1/announcements?limit=2", headers=program.headers).json()
    assert len(listed["data"]) == 2 and listed["next_cursor"]
    rest = client.get(f"/api/v1/announcements?limit=2&cursor={listed['next_cursor']}", headers=program.headers).json()
    assert len(rest["data"]) == 2 and rest["next_cursor"] is None
    assert {row["id"] for row in listed["data"]}.isdisjoint({row["id"] for row in rest["data"]})


def test_a_scheduled_announcement_waits_for_its_time(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    make_partner(client, program, name="Ann")
    later = utc_now() + timedelta(hours=2)
    answer = client.post("/api/v1/announcements", headers=program.headers,
                         json={"title": "Soon", "email": True, "send_at": later.isoformat()})  # fmt: skip
    assert answer.status_code == 201 and answer.json()["status"] == "scheduled", answer.text
    assert _count(engine, AnnouncementDelivery) == 0
    with transaction(engine) as session:
        assert announcements.send_due(session, utc_now()) == 0
        assert announcements.send_due(session, later + timedelta(seconds=1)) == 1
        assert session.execute(select(func.count()).select_from(Job).where(
            Job.kind == announcements.SEND_BATCH_JOB)).scalar_one() == 1  # fmt: skip
    shown = client.get(f"/api/v1/announcements/{answer.json()['id']}", headers=program.headers).json()
    assert shown["status"] == "sent" and shown["figures"]["recipients"] == 1


def test_a_relay_failure_keeps_what_was_sent_and_retries_the_rest_later(
    client: TestClient, program: ProgramKeys, engine: Engine, database_url: str
) -> None:
    from partnerloop.engagement.schemas import AnnouncementIn
    from partnerloop.engagement.tasks import send_announcement_batch
    from partnerloop.models import Program
    from partnerloop.notify.email import configure_email
    from tests.conftest import make_settings
    from tests.jobs.processes import free_port

    for name in ("Ann", "Bob"):
        make_partner(client, program, name=name, email=f"{name.lower()}@relay.test")
    with transaction(engine) as session:
        program_row = session.get(Program, program.id)
        assert program_row is not None
        body = AnnouncementIn(title="Relay test", body="x", email=True)
        announcement = announcements.create_announcement(session, program_row, body, now=utc_now(), actor="test")
        batch = session.execute(select(Job).where(Job.kind == announcements.SEND_BATCH_JOB)).scalar_one()
        payload = dict(batch.payload)
        session.delete(batch)  # run by hand below, not by the app's worker
    down = f"smtp://127.0.0.1:{free_port()}"  # a relay that is down: nothing listens there
    configure_email(make_settings(database_url, smtp_url=down))
    with transaction(engine) as session:
        send_announcement_batch(session, payload)
    with transaction(engine, writes=False) as session:
        statuses = session.execute(
            select(AnnouncementDelivery.email_status).where(AnnouncementDelivery.announcement_id == announcement.id)
        ).scalars().all()  # fmt: skip
        retry = session.execute(select(Job).where(Job.kind == announcements.SEND_BATCH_JOB)).scalar_one()
    assert sorted(statuses) == ["queued", "queued"]  # nothing was sent, nothing is lost
    assert retry.payload["round"] == 1 and len(retry.payload["partner_ids"]) == 2 and retry.run_at > utc_now()
