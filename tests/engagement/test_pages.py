"""The engagement pages over real HTTP: the manager writes, previews and sends; the partner reads news,
sees their tier, the leaderboard and their reviews."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.engagement.rules import month_of
from partnerloop.kit.time import utc_now
from partnerloop.models import Announcement, PerformanceReview
from tests.account.factories import PASSWORD, add_partner_user
from tests.account.helpers import login, post_form
from tests.conftest import ProgramKeys
from tests.engagement.helpers import convert, group, make_partner, make_plan, percent_plan
from tests.manage.factories import as_owner, form_post
from tests.notify.smtp import SmtpRecorder

PAT = "pat@portal.test"


def _as_partner(client: TestClient, email: str = PAT) -> None:
    client.cookies.clear()
    assert login(client, email, PASSWORD).status_code == 303


def _referral_code(client: TestClient, program: ProgramKeys, partner_id: str) -> str:
    return str(client.get(f"/api/v1/partners/{partner_id}", headers=program.headers).json()["referral_code"])


def test_a_manager_previews_then_sends_and_the_partner_reads_it_once_marked_new(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    client = mail_client
    _user, pat_id = add_partner_user(engine, program.id, PAT, name="Pat")
    as_owner(client)
    page = f"/manage/announcements?program={program.id}"
    assert "Write an announcement" in client.get(page).text
    fields = {"title": "Webinar Thursday", "body": "Join us: [register](https://acme.test/w)\n\n<script>x()</script>",
              "audience": "all", "email": "yes"}  # fmt: skip
    preview = form_post(client, page, page, {**fields, "action": "preview"})
    assert preview.status_code == 200 and "Goes to 1 partners, 1 of them by email." in preview.text
    assert '<a href="https://acme.test/w">register</a>' in preview.text and "<script>x()" not in preview.text
    with transaction(engine, writes=False) as session:
        assert (
            session.execute(select(func.count()).select_from(Announcement)).scalar_one() == 0
        )  # a preview saves nothing
    nobody = group(client, program, name="Nobody")
    empty = form_post(
        client, page, page, [*fields.items(), ("audience", "groups"), ("group_ids", nobody["id"]), ("action", "send")]
    )
    assert empty.status_code == 422 and "no approved partner is in this audience" in empty.text
    blank = form_post(client, page, page, {**fields, "title": " ", "action": "send"})
    assert blank.status_code == 422 and "title" in blank.text
    sent = form_post(client, page, page, {**fields, "action": "send"})
    assert sent.status_code == 303, sent.text
    assert "is sent to 1 partners" in client.get(sent.headers["location"]).text
    smtp.wait_for(to=PAT, subject="Webinar Thursday")
    _as_partner(client)
    news = client.get("/partner/announcements").text
    assert 'data-read="no"' in news and "1 new" in news and ">News<" in client.get("/partner").text
    link = re.search(r'href="(/partner/announcements/[0-9A-Za-z]+\?program=[0-9A-Za-z]+)"', news)
    assert link
    opened = client.get(link.group(1).replace("&amp;", "&"))
    assert opened.status_code == 200
    tracked = re.search(r'<a href="http://testserver(/news/click/[^"]+)">register</a>', opened.text)
    assert tracked, opened.text
    click = tracked.group(1).replace("&amp;", "&")
    assert client.get(click.replace("t=", "t=0"), follow_redirects=False).status_code == 404  # a forged signature
    assert (
        client.get(click.replace("acme.test", "evil.test"), follow_redirects=False).status_code == 404
    )  # no open redirect
    forwarded = client.get(click, follow_redirects=False)
    assert forwarded.status_code == 302 and forwarded.headers["location"] == "https://acme.test/w"
    assert "&lt;script&gt;" in opened.text
    assert 'data-read="yes"' in client.get("/partner/announcements").text
    listed = client.get("/api/v1/announcements", headers=program.headers).json()["data"][0]
    assert listed["figures"]["opened"] == 1 and listed["figures"]["recipients"] == 1 and pat_id
    assert listed["figures"]["clicked"] == 1
    mail = smtp.wait_for(to=PAT, subject="Webinar Thursday")
    assert (
        f"/news/click/{listed['id']}/{pat_id}?u=https%3A%2F%2Facme.test%2Fw" in mail.html
    )  # the email's link counts too


def test_the_partner_sees_tier_progress_and_the_leaderboard_with_names_they_chose(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    base = percent_plan(client, program, "Base", 1000, default=True)
    gold = group(client, program, name="Gold", rank=2, perks=["early_access"])
    bronze = group(client, program, name="Bronze", rank=1, plan_id=base,
                   promotion={"metric": "sales", "period": "month", "threshold": 4, "to_group_id": gold["id"]})  # fmt: skip
    _user, pat_id = add_partner_user(engine, program.id, PAT, name="Pat")
    client.patch(f"/api/v1/partners/{pat_id}", json={"group_id": bronze["id"]}, headers=program.headers)
    top = make_partner(client, program, name="Top Seller Real Name")
    mid = make_partner(client, program, name="Mid Real Name")
    for n in range(3):
        convert(client, program, top["referral_code"], f"cus_t{n}", 10000, f"in_t{n}")
    convert(client, program, mid["referral_code"], "cus_m", 9000, "in_m")
    convert(client, program, _referral_code(client, program, pat_id), "cus_p", 5000, "in_p")
    as_owner(client)
    board_page = f"/manage/leaderboard?program={program.id}"
    assert "Top Seller Real Name" in client.get(board_page + "&metric=revenue&period=month").text
    form_post(client, board_page, f"/manage/leaderboard/settings?program={program.id}",
              {"leaderboard_in_portal": "yes", "leaderboard_metric": "revenue"})  # fmt: skip
    with transaction(engine) as session:
        from partnerloop.models import PartnerEngagement

        session.add(PartnerEngagement(program_id=program.id, partner_id=top["id"], display_name="TopDog",
                                      newsletter_opt_out=False, public_profile=False))  # fmt: skip
    _as_partner(client)
    page = client.get("/partner/progress").text
    assert 'data-tier="Bronze"' in page and 'data-next-tier="Gold"' in page and 'data-progress="25"' in page
    assert "1 of 4 (25%)" in page
    assert 'data-my-rank="3"' in page and "Pat (you)" in page
    assert "TopDog" in page and "Partner #2" in page
    assert "Real Name" not in page  # others never by their real names
    saved = post_form(
        client,
        "/partner/progress/choices",
        {"display_name": "PatSells", "newsletters": "yes"},
        page="/partner/progress",
    )
    assert saved.status_code == 303
    assert 'value="PatSells"' in client.get("/partner/progress").text


def test_the_review_queue_sends_a_review_the_partner_then_reads(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    client = mail_client
    make_plan(client, program)
    _user, pat_id = add_partner_user(engine, program.id, PAT, name="Pat")
    convert(client, program, _referral_code(client, program, pat_id), "cus_1", 10000, "in_1")
    month = month_of(utc_now())
    as_owner(client)
    queue = f"/manage/reviews?program={program.id}&month={month}"
    assert "No review of" in client.get(queue).text
    drafted = form_post(client, queue, f"/manage/reviews/make?program={program.id}", {"month": month})
    assert drafted.status_code == 303 and "1 reviews drafted" in client.get(drafted.headers["location"]).text
    with transaction(engine, writes=False) as session:
        review_id = session.execute(select(PerformanceReview.id)).scalar_one()
    page = client.get(queue).text
    assert 'data-review="Pat" data-status="draft"' in page and "100.00 USD" in page
    assert "data-program-month" in page and "<span data-roi>3.00×</span>" in page  # (100 - 25) / 25
    assert 'data-mover="Pat"' in page
    _as_partner(client)
    assert "Your first review comes" in client.get("/partner/reviews").text  # a draft is not shown to the partner
    client.cookies.clear()
    as_owner(client)
    sent = form_post(
        client,
        queue,
        f"/manage/reviews/{review_id}?program={program.id}",
        {"note": "Lovely month, Pat.", "action": "send"},
    )
    assert sent.status_code == 303
    assert 'data-status="sent"' in client.get(queue).text
    assert "Lovely month, Pat." in smtp.wait_for(to=PAT, subject="review").text
    _as_partner(client)
    mine = client.get("/partner/reviews").text
    assert f'data-review="{month}"' in mine and "Lovely month, Pat." in mine and "100.00 USD" in mine


def test_a_campaign_is_set_up_from_one_form(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    plan = percent_plan(client, program, "Standard", 1000, default=True)
    make_partner(client, program, name="Ann")
    as_owner(client)
    page = f"/manage/campaigns?program={program.id}"
    now = utc_now()
    fields = {"name": "Week of 25%", "plan_id": plan, "starts": now.strftime("%Y-%m-%dT%H:%M"),
              "until": (now.replace(year=now.year + 1)).strftime("%Y-%m-%dT%H:%M"), "rate": "25", "metric": "sales",
              "title": "25% all week", "body": "Go **now**", "email": "yes"}  # fmt: skip
    bad = form_post(client, page, page, {**fields, "rate": "lots"})
    assert bad.status_code == 422 and "rate" in bad.text
    made = form_post(client, page, page, fields)
    assert made.status_code == 303, made.text
    shown = client.get(made.headers["location"]).text
    assert 'data-campaign="Week of 25%"' in shown and "running" in shown
    rules = client.get(f"/api/v1/plans/{plan}", headers=program.headers).json()["rules"]
    assert rules[0]["reward"] == {"type": "percent", "rate_bps": 2500}
    assert client.get("/api/v1/announcements", headers=program.headers).json()["data"][0]["title"] == "25% all week"
