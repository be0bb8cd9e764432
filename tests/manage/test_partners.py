"""Partners: list with search, filters and sorting; applications queue; partner detail; groups; bans; notes."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.models import Enrollment, Group, Partner, PartnerNote, User
from tests.conftest import ProgramKeys
from tests.manage.factories import as_owner, convert, form_post, make_partner, make_plan
from tests.notify.smtp import SmtpRecorder


def _names(html: str) -> list[str]:
    table = html.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'/manage/partners/[0-9a-z]{26}\?program=[0-9a-z]+">([^<]+)</a>', table)


def _status(engine: Engine, partner_id: str) -> tuple[str, str | None, str | None]:
    with transaction(engine, writes=False) as session:
        row = session.execute(
            select(Enrollment.status, Enrollment.status_reason, Enrollment.group_id).where(
                Enrollment.partner_id == partner_id
            )
        ).one()
        return row[0], row[1], row[2]


def test_partners_are_searched_filtered_and_sorted(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    zoe = make_partner(client, program, name="Zoe Zed", email="zoe@z.test")
    make_partner(client, program, name="Adam Ant", email="adam@a.test")
    make_partner(client, program, name="Mia Pending", email="mia@m.test", status="pending")
    convert(client, program, zoe["referral_code"], "cus_1", 10000, "in_1")
    as_owner(client)
    base = f"/manage/partners?program={program.id}"
    assert _names(client.get(base).text) == ["Adam Ant", "Mia Pending", "Zoe Zed"]
    assert _names(client.get(base + "&sort=revenue").text)[0] == "Zoe Zed"
    assert _names(client.get(base + "&q=ADAM").text) == ["Adam Ant"]
    assert _names(client.get(base + "&q=m.test").text) == ["Mia Pending"]
    assert _names(client.get(base + "&status=pending").text) == ["Mia Pending"]
    row = client.get(base + "&q=zoe").text
    assert "$100.00" in row and "$25.00" in row  # revenue, and earnings: lead 5.00 + 20% of the sale
    assert _names(client.get(base + "&status=nonsense&sort=nonsense").text) == ["Adam Ant", "Mia Pending", "Zoe Zed"]


def test_applications_are_approved_and_rejected_in_bulk_with_a_reason(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    client = mail_client
    ann = make_partner(client, program, name="Ann", email="ann@apply.test", status="pending")
    bob = make_partner(client, program, name="Bob", email="bob@apply.test", status="pending")
    cat = make_partner(client, program, name="Cat", email="cat@apply.test", status="pending")
    as_owner(client)
    queue = f"/manage/applications?program={program.id}"
    page = client.get(queue)
    assert all(name in page.text for name in ("Ann", "Bob", "Cat"))
    approved = form_post(
        client, queue, queue, [("action", "approve"), ("partner_ids", ann["id"]), ("partner_ids", bob["id"])]
    )
    assert approved.status_code == 303
    assert "2 applications approved." in client.get(approved.headers["location"]).text
    rejected = form_post(
        client,
        queue,
        queue,
        [("action", "reject"), ("partner_ids", cat["id"]), ("reason", "Coupon sites are not accepted.")],
    )
    assert rejected.status_code == 303
    assert _status(engine, ann["id"])[0] == _status(engine, bob["id"])[0] == "approved"
    assert _status(engine, cat["id"])[:2] == ("rejected", "Coupon sites are not accepted.")
    assert "No application is waiting" in client.get(queue).text
    message = smtp.wait_for(to="cat@apply.test")
    assert "Coupon sites are not accepted." in message.text
    smtp.wait_for(to="ann@apply.test")
    # Deciding again on a decided partner is refused per row, and said so.
    again = form_post(client, queue, queue, [("action", "reject"), ("partner_ids", ann["id"])])
    assert "0 applications rejected. 1 not:" in client.get(again.headers["location"]).text


def test_a_bulk_action_without_a_selection_says_so(client: TestClient, program: ProgramKeys) -> None:
    make_partner(client, program, name="Ann", status="pending")
    as_owner(client)
    queue = f"/manage/applications?program={program.id}"
    response = form_post(client, queue, queue, {"action": "approve"})
    assert response.status_code == 422 and "Select at least one row first." in response.text


def test_partner_detail_shows_profile_figures_links_customers_and_commissions(
    client: TestClient, program: ProgramKeys
) -> None:
    make_plan(client, program)
    jane = make_partner(client, program, name="Jane Cooper", email="jane@p.test")
    client.post(
        "/api/v1/links",
        json={"partner_id": jane["id"], "destination_url": "https://acme.test/x", "key": "jane-x"},
        headers=program.headers,
    )
    convert(client, program, jane["referral_code"], "cus_77", 10000, "in_1")
    as_owner(client)
    page = client.get(f"/manage/partners/{jane['id']}?program={program.id}")
    assert page.status_code == 200
    text = page.text
    for expected in (
        "jane@p.test",
        jane["referral_code"],
        "/go/jane-x",
        "cus_77",
        "$20.00",
        "Standard",
        "the program&#39;s default plan",
    ):
        assert expected in text, expected


def test_a_partner_is_moved_between_groups_banned_and_annotated(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    jane = make_partner(client, program, name="Jane")
    mark = make_partner(client, program, name="Mark")
    as_owner(client)
    plans = f"/manage/plans?program={program.id}"
    assert (
        form_post(client, plans, f"/manage/groups?program={program.id}", {"name": "Gold", "plan_id": ""}).status_code
        == 303
    )
    with transaction(engine, writes=False) as session:
        gold = session.execute(select(Group.id)).scalar_one()
    listing = f"/manage/partners?program={program.id}"
    moved = form_post(
        client,
        listing,
        f"/manage/partners/bulk?program={program.id}",
        [("action", "group"), ("group_id", gold), ("partner_ids", jane["id"]), ("partner_ids", mark["id"])],
    )
    assert moved.status_code == 303 and _status(engine, jane["id"])[2] == gold == _status(engine, mark["id"])[2]
    assert _names(client.get(listing + f"&group={gold}").text) == ["Jane", "Mark"]

    detail = f"/manage/partners/{jane['id']}?program={program.id}"
    assert (
        form_post(
            client, detail, f"/manage/partners/{jane['id']}/group?program={program.id}", {"group_id": ""}
        ).status_code
        == 303
    )
    assert _status(engine, jane["id"])[2] is None
    banned = form_post(
        client,
        detail,
        f"/manage/partners/{jane['id']}/status?program={program.id}",
        {"action": "ban", "reason": "Brand bidding"},
    )
    assert banned.status_code == 303 and _status(engine, jane["id"])[:2] == ("banned", "Brand bidding")
    twice = form_post(client, detail, f"/manage/partners/{jane['id']}/status?program={program.id}", {"action": "ban"})
    assert twice.status_code == 409 and "cannot" in twice.text

    noted = form_post(
        client, detail, f"/manage/partners/{jane['id']}/notes?program={program.id}", {"body": "Call back <b>Monday</b>"}
    )
    assert noted.status_code == 303
    assert "Call back &lt;b&gt;Monday&lt;/b&gt;" in client.get(detail).text
    empty = form_post(client, detail, f"/manage/partners/{jane['id']}/notes?program={program.id}", {"body": "  "})
    assert empty.status_code == 422 and "Write something" in empty.text
    with transaction(engine, writes=False) as session:
        assert len(session.execute(select(PartnerNote)).all()) == 1


def test_a_partner_gets_a_plan_of_their_own(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    make_plan(client, program, name="Standard")
    vip = make_plan(client, program, name="VIP", default=False)
    jane = make_partner(client, program, name="Jane")
    as_owner(client)
    detail = f"/manage/partners/{jane['id']}?program={program.id}"
    assert (
        form_post(
            client, detail, f"/manage/partners/{jane['id']}/plan?program={program.id}", {"plan_id": vip}
        ).status_code
        == 303
    )
    assert "VIP <small>(the partner&#39;s own plan)</small>" in client.get(detail).text
    unknown = form_post(
        client,
        detail,
        f"/manage/partners/{jane['id']}/plan?program={program.id}",
        {"plan_id": "01nonexistentplan000000000"},
    )
    assert unknown.status_code == 404
    with transaction(engine, writes=False) as session:
        assert session.execute(select(Enrollment.plan_id)).scalar_one() == vip


def test_a_manager_invites_a_partner_who_accepts_by_email(
    mail_client: TestClient, program: ProgramKeys, engine: Engine, smtp: SmtpRecorder
) -> None:
    client = mail_client
    as_owner(client)
    listing = f"/manage/partners?program={program.id}"
    sent = form_post(
        client, listing, f"/manage/partners/invite?program={program.id}", {"name": "Ivy", "email": "Ivy@Partner.test"}
    )
    assert sent.status_code == 303
    assert _names(client.get(listing + "&status=invited").text) == ["Ivy"]
    message = smtp.wait_for(to="ivy@partner.test", subject="Join the Acme partner program")
    invitee = TestClient(client.app, base_url="http://testserver")
    link = message.link("/invite/")
    page = invitee.get(link)
    assert page.status_code == 200 and "Become a partner" in page.text
    weak = form_post(invitee, link, link, {"name": "Ivy", "password": "password123"})
    assert weak.status_code == 422 and "most common" in weak.text
    accepted = form_post(invitee, link, link, {"name": "Ivy", "password": "ivy's long passphrase"})
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/partner?program={program.id}"
    with transaction(engine, writes=False) as session:
        status, user_email = session.execute(
            select(Enrollment.status, User.email)
            .join(Partner, Partner.id == Enrollment.partner_id)
            .join(User, User.id == Partner.user_id)
            .where(Enrollment.program_id == program.id)
        ).one()
    assert status == "approved" and user_email == "ivy@partner.test"
    assert invitee.get(link).status_code == 400  # used


def test_a_column_header_sorts_the_partners_and_keeps_the_filters(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    low = make_partner(client, program, name="Aaron Low", email="aaron@club.test")
    high = make_partner(client, program, name="Zed High", email="zed@club.test")
    make_partner(client, program, name="Ola Outside", email="ola@else.test")
    convert(client, program, high["referral_code"], "cus_high", 90000, "in_high")
    convert(client, program, low["referral_code"], "cus_low", 1000, "in_low")
    as_owner(client)
    listing = client.get(f"/manage/partners?program={program.id}&q=club.test").text
    assert _names(listing) == ["Aaron Low", "Zed High"]  # by name, the search applied
    assert re.search(r'aria-sort="ascending"><a class="sort" [^>]+data-sort="name"', listing)

    header = re.search(r'<a class="sort" href="([^"]+)" data-sort="earnings">', listing)
    assert header, "the Earnings header is a link"
    url = header.group(1).replace("&amp;", "&")
    assert "q=club.test" in url and "sort=earnings" in url and "page=" not in url
    by_earnings = client.get(url).text
    assert _names(by_earnings) == ["Zed High", "Aaron Low"]  # the order changed, the filter kept
    assert re.search(r'aria-sort="descending"><a class="sort" [^>]+data-sort="earnings"', by_earnings)
    assert 'name="sort"' in by_earnings and '<option value="earnings" selected>' in by_earnings  # the form keeps it
