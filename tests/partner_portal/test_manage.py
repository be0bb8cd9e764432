"""The manager's portal settings: the resource library, the welcome kit, the application form and its review."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.models import ApplicationQuestion, Partner, PartnerApplication, Program, Resource, WelcomeKit
from partnerloop.partner.service import StatusChangeNotAllowed
from partnerloop.partner_portal.service import application as application_service
from tests.account.factories import PASSWORD, add_member
from tests.account.helpers import login, post_form
from tests.conftest import ProgramKeys
from tests.notify.smtp import SmtpRecorder
from tests.partner_portal.helpers import APPLICANT_PASSWORD, apply, count

OWNER = "owner-acme@example.com"


def _owner(client: TestClient) -> None:
    assert login(client, OWNER, "correct horse battery").status_code == 303


def _post(client: TestClient, program: ProgramKeys, path: str, data: dict[str, object]) -> object:
    return post_form(client, f"{path}?program={program.id}", data, page=f"/manage/resources?program={program.id}")


def test_a_manager_curates_the_resource_library(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    _owner(client)
    empty = client.get("/manage/resources")
    assert empty.status_code == 200 and "Nothing yet." in empty.text

    missing_url = _post(client, program, "/manage/resources", {"kind": "banner", "title": "Leaderboard 728x90"})
    assert missing_url.status_code == 422  # type: ignore[attr-defined]
    assert "A banner is a link: give its web address." in missing_url.text  # type: ignore[attr-defined]
    assert 'value="Leaderboard 728x90"' in missing_url.text  # type: ignore[attr-defined]
    assert count(engine, Resource) == 0

    added = _post(
        client, program, "/manage/resources",
        {"kind": "banner", "title": "Leaderboard 728x90", "url": "https://cdn.acme.test/728x90.png"},
    )  # fmt: skip
    assert added.status_code == 303  # type: ignore[attr-defined]
    _post(client, program, "/manage/resources", {"kind": "swipe_copy", "title": "Tweet", "body": "Acme rocks."})
    listing = client.get("/manage/resources").text
    assert "Leaderboard 728x90" in listing and "Tweet" in listing and "Every partner" in listing

    with transaction(engine, writes=False) as session:
        banner_id = session.execute(select(Resource.id).where(Resource.kind == "banner")).scalar_one()
    edit = client.get(f"/manage/resources/{banner_id}")
    assert edit.status_code == 200 and 'value="https://cdn.acme.test/728x90.png"' in edit.text
    saved = _post(
        client, program, f"/manage/resources/{banner_id}",
        {"kind": "banner", "title": "Leaderboard", "url": "https://cdn.acme.test/lb.png"},
    )  # fmt: skip
    assert saved.status_code == 303  # type: ignore[attr-defined]
    unknown_group = _post(
        client, program, f"/manage/resources/{banner_id}",
        {"kind": "banner", "title": "Leaderboard", "url": "https://cdn.acme.test/lb.png", "group_ids": "grp_nope"},
    )  # fmt: skip
    assert unknown_group.status_code == 422  # type: ignore[attr-defined]
    assert "groups do not exist" in unknown_group.text  # type: ignore[attr-defined]
    deleted = _post(client, program, f"/manage/resources/{banner_id}/delete", {})
    assert deleted.status_code == 303  # type: ignore[attr-defined]
    with transaction(engine, writes=False) as session:
        assert session.execute(select(Resource.title)).scalars().all() == ["Tweet"]
    assert client.get(f"/manage/resources/{banner_id}").status_code == 404


def test_resources_of_another_program_are_out_of_reach(
    client: TestClient, engine: Engine, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    with transaction(engine) as session:
        theirs = Resource(program_id=other_program.id, kind="guide", title="Their guide", body="…", group_ids=[])
        session.add(theirs)
        session.flush()
        theirs_id = theirs.id
    _owner(client)
    assert client.get(f"/manage/resources/{theirs_id}").status_code == 404
    assert _post(client, program, f"/manage/resources/{theirs_id}/delete", {}).status_code == 404  # type: ignore[attr-defined]
    assert count(engine, Resource) == 1


def test_a_viewer_reads_the_library_but_can_not_change_it(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    add_member(engine, program.workspace_id, "viewer@acme.test", "viewer")
    login(client, "viewer@acme.test", PASSWORD)
    page = client.get("/manage/resources")
    assert page.status_code == 200 and "Add a resource" not in page.text
    refused = _post(client, program, "/manage/resources", {"kind": "guide", "title": "Mine", "body": "x"})
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert count(engine, Resource) == 0


def test_a_manager_writes_the_welcome_kit_and_reads_the_terms_partners_get(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    plan = client.post(
        "/api/v1/plans",
        json={"name": "Standard", "rules": [{"event": "sale", "reward": {"type": "percent", "rate_bps": 2500}}]},
        headers=program.headers,
    ).json()
    client.patch("/api/v1/program", json={"default_plan_id": plan["id"]}, headers=program.headers)
    _owner(client)
    page = client.get("/manage/onboarding")
    assert page.status_code == 200
    assert "You earn 25% of the customer&#39;s first payment." in page.text and "“Standard”" in page.text
    saved = _post(
        client, program, "/manage/onboarding",
        {"welcome_message": "Hi!", "guidelines": "No coupon sites.", "how_to_promote": "Blog about us."},
    )  # fmt: skip
    assert saved.status_code == 303  # type: ignore[attr-defined]
    with transaction(engine, writes=False) as session:
        kit = session.execute(select(WelcomeKit)).scalar_one()
    assert (kit.welcome_message, kit.guidelines, kit.how_to_promote) == ("Hi!", "No coupon sites.", "Blog about us.")
    too_long = _post(client, program, "/manage/onboarding", {"welcome_message": "x" * 20_001})
    assert too_long.status_code == 422  # type: ignore[attr-defined]
    assert "takes at most 20000 characters" in too_long.text  # type: ignore[attr-defined]


def test_a_manager_shapes_the_application_form(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    _owner(client)
    page = client.get("/manage/application")
    assert page.status_code == 200 and f"http://testserver/apply/{program.id}" in page.text
    saved = _post(
        client, program, "/manage/application",
        {"is_open": "yes", "auto_approve": "yes", "headline": "Grow with Acme", "intro": "Hello.",
         "terms": "Be honest.", "brand_color": "#0B7A52"},
    )  # fmt: skip
    assert saved.status_code == 303  # type: ignore[attr-defined]
    public = client.get(f"/apply/{program.id}")
    assert "Grow with Acme" in public.text and "Be honest." in public.text
    assert "#0b7a52" in client.get(f"/apply/{program.id}/brand.css").text
    bad_colour = _post(client, program, "/manage/application", {"brand_color": "red; x: y"})
    assert bad_colour.status_code == 422 and "#2454c5" in bad_colour.text  # type: ignore[attr-defined]

    one_option = _post(
        client, program, "/manage/application/questions", {"label": "Channel", "kind": "choice", "options": "Blog"}
    )
    assert one_option.status_code == 422  # type: ignore[attr-defined]
    assert "at least two options" in one_option.text  # type: ignore[attr-defined]
    for label in ("First", "Second"):
        assert (
            _post(
                client, program, "/manage/application/questions", {"label": label, "kind": "text", "required": "yes"}
            ).status_code
            == 303
        )  # type: ignore[attr-defined]
    with transaction(engine, writes=False) as session:
        second = session.execute(
            select(ApplicationQuestion.id).where(ApplicationQuestion.label == "Second")
        ).scalar_one()
    _post(client, program, f"/manage/application/questions/{second}/move", {"direction": "up"})
    public = client.get(f"/apply/{program.id}").text
    assert public.index(">Second") < public.index(">First")
    _post(client, program, f"/manage/application/questions/{second}/delete", {})
    public = client.get(f"/apply/{program.id}").text
    assert ">Second" not in public and ">First" in public


def test_deciding_applications_tells_each_applicant_by_email(
    mail_client: TestClient, engine: Engine, program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    for email, name in (("ann@creator.example", "Ann"), ("bob@creator.example", "Bob")):
        applicant = TestClient(mail_client.app, base_url="http://testserver")
        assert apply(applicant, program.id, email=email, name=name).status_code == 303
    _owner(mail_client)
    assert "2 applications wait for a decision" in mail_client.get("/manage/application").text
    with transaction(engine, writes=False) as session:
        ids = dict(session.execute(select(Partner.email, Partner.id)).all())
    ann, bob_id = ids["ann@creator.example"], ids["bob@creator.example"]

    with transaction(engine) as session:
        acme = session.get_one(Program, program.id)
        settings = mail_client.app.api.state.settings  # type: ignore[attr-defined]
        application_service.decide(session, settings, acme, ann, "approve", decided_by=OWNER)
        application_service.decide(
            session, settings, acme, bob_id, "reject", decided_by=OWNER, reason="We only work with video creators."
        )
    with transaction(engine) as session, pytest.raises(StatusChangeNotAllowed):
        application_service.decide(
            session, settings, session.get_one(Program, program.id), bob_id, "reject", decided_by=OWNER
        )

    approved = smtp.wait_for(to="ann@creator.example", subject="your application is approved")
    assert "http://testserver/login" in approved.text
    rejected = smtp.wait_for(to="bob@creator.example", subject="Your application to Acme")
    assert "We only work with video creators." in rejected.text
    with transaction(engine, writes=False) as session:
        rows = dict(session.execute(select(PartnerApplication.partner_id, PartnerApplication.status)).all())
        decided_by = set(session.execute(select(PartnerApplication.decided_by)).scalars())
    assert rows == {ann: "approved", bob_id: "rejected"}
    assert decided_by == {OWNER}
    assert "No application is waiting" in mail_client.get("/manage/application").text

    # Bob confirms his address and logs in: the page says no, with the team's note.
    bob = TestClient(mail_client.app, base_url="http://testserver")
    bob.get(smtp.wait_for(to="bob@creator.example", subject="Confirm").link("/verify/"))
    login(bob, "bob@creator.example", APPLICANT_PASSWORD)
    page = bob.get("/partner").text
    assert "Your application was not accepted" in page and "We only work with video creators." in page


def test_the_logo_and_banner_images_come_from_the_merchants_host_alone(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    _owner(client)
    refused = _post(
        client, program, "/manage/application", {"brand_color": "#2454c5", "logo_url": "https://acme.test/about"}
    )
    assert refused.status_code == 422 and "address of an image file" in refused.text  # type: ignore[attr-defined]
    assert 'class="apply-logo"' not in client.get(f"/apply/{program.id}").text  # nothing was saved
    saved = _post(
        client, program, "/manage/application", {"brand_color": "#2454c5", "logo_url": "https://cdn.acme.test/logo.png"}
    )
    assert saved.status_code == 303  # type: ignore[attr-defined]
    public = client.get(f"/apply/{program.id}")
    assert '<img class="apply-logo" src="https://cdn.acme.test/logo.png" alt="Acme"' in public.text
    assert "img-src 'self' data: https://cdn.acme.test;" in public.headers["content-security-policy"]
    added = _post(client, program, "/manage/resources",
                  {"kind": "banner", "title": "Wide banner", "url": "https://img.acme.test/wide.jpg"})  # fmt: skip
    assert added.status_code == 303  # type: ignore[attr-defined]
    _post(client, program, "/manage/resources", {"kind": "video", "title": "Demo", "url": "https://video.test/a.png"})
    library = client.get(f"/manage/resources?program={program.id}")
    assert 'alt="Preview of Wide banner"' in library.text and 'alt="Preview of Demo"' not in library.text
    policy = library.headers["content-security-policy"]
    assert "img-src 'self' data: https://img.acme.test;" in policy and "video.test" not in policy
    assert (
        "img-src 'self' data:;"
        in client.get(f"/manage/partners?program={program.id}").headers["content-security-policy"]
    )
