"""Every dashboard and partner page and action, walked as the wrong user: 404 or 403 (or to login), and
the victim's data unchanged. Routes are read from the app, so a page added later is walked too."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.app import PartnerloopApp
from tests.account.factories import PASSWORD, add_partner_user
from tests.account.helpers import csrf_of, login
from tests.conftest import ProgramKeys
from tests.manage.world import Victim, page_routes, settle, snapshot

# Pages for the workspace's owner alone (the emails kept in development hold sign-in links).
OWNER_ONLY = ("/manage/emails",)


def _browser(app: PartnerloopApp, email: str | None) -> TestClient:
    browser = TestClient(app, base_url="http://testserver")
    if email is not None:
        assert login(browser, email, PASSWORD).status_code == 303
    return browser


def _token(browser: TestClient) -> str:
    return csrf_of(browser.get("/account" if browser.cookies.get("pl_session") else "/login").text)


@pytest.fixture
def victim(client: TestClient, engine: Engine, program: ProgramKeys) -> Victim:
    world = Victim(client, engine, program)
    settle(engine)
    return world


def test_a_stranger_is_sent_to_login_everywhere(
    client: TestClient, app: PartnerloopApp, victim: Victim, engine: Engine
) -> None:
    before = snapshot(engine)
    stranger = _browser(app, None)
    token = _token(stranger)
    for method, template in page_routes(app, "/manage") + page_routes(app, "/partner"):
        url = victim.url(template, victim.program.id)
        if method == "GET":
            response = stranger.get(url, follow_redirects=False)
            assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), url
        else:
            response = stranger.post(url, data=victim.form(token), follow_redirects=False)
            assert response.status_code in (303, 403), (url, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login"), url
    assert snapshot(engine) == before


def test_a_manager_of_another_workspace_gets_404_on_every_page_and_action(
    client: TestClient, app: PartnerloopApp, victim: Victim, other_program: ProgramKeys, engine: Engine
) -> None:
    before = snapshot(engine)
    intruder = _browser(app, "owner-other@example.com")
    token = _token(intruder)
    for method, template in page_routes(app, "/manage"):
        # Naming the victim's program: 404, whatever the page.
        url = victim.url(template, victim.program.id)
        response = (
            intruder.get(url)
            if method == "GET"
            else intruder.post(url, data=victim.form(token), follow_redirects=False)
        )
        assert response.status_code == 404, (method, url, response.status_code)
        assert "secret note" not in response.text and "victim-partner@a.test" not in response.text
        # Their own program, with the victim's ids in the path or the form: 404 or a refusal, never a change.
        own = victim.url(template, other_program.id)
        response = (
            intruder.get(own)
            if method == "GET"
            else intruder.post(own, data=victim.form(token), follow_redirects=False)
        )
        if "{" in template and not template.endswith("/new"):
            assert response.status_code == 404, (method, own, response.status_code)
        else:
            assert response.status_code in (200, 201, 303, 404, 409, 422), (
                method,
                own,
                response.status_code,
                response.text[-1500:],
            )
        assert "secret note" not in response.text and "victim-partner@a.test" not in response.text, own
    after = snapshot(engine)
    for table in before:
        if table in (
            "plans",
            "partner_groups",
            "api_keys",
            "programs",
            "invitations",
            "partner_notes",
            "resources",
            "application_questions",
            "application_forms",
            "welcome_kits",
            "members",
        ):
            victim_rows_before = [
                row for row in before[table] if victim.program.id in row or victim.program.workspace_id in row
            ]
            victim_rows_after = [
                row for row in after[table] if victim.program.id in row or victim.program.workspace_id in row
            ]
            assert victim_rows_before == victim_rows_after, table
        elif table in ("enrollments", "commissions", "partners", "links", "ledger_entries"):
            assert [r for r in before[table] if victim.program.id in r or victim.program.workspace_id in r] == [
                r for r in after[table] if victim.program.id in r or victim.program.workspace_id in r
            ], table


def test_a_partner_cannot_open_the_dashboard(
    client: TestClient, app: PartnerloopApp, victim: Victim, engine: Engine
) -> None:
    before = snapshot(engine)
    partner = _browser(app, "victim-partner@a.test")
    token = _token(partner)
    for method, template in page_routes(app, "/manage"):
        url = victim.url(template, victim.program.id)
        response = (
            partner.get(url) if method == "GET" else partner.post(url, data=victim.form(token), follow_redirects=False)
        )
        assert response.status_code == 403, (method, url, response.status_code)
        assert "secret note" not in response.text
    assert snapshot(engine) == before


def test_a_viewer_reads_every_page_but_every_action_is_403(
    client: TestClient, app: PartnerloopApp, victim: Victim, engine: Engine
) -> None:
    before = snapshot(engine)
    viewer = _browser(app, "victim-viewer@a.test")
    token = _token(viewer)
    for method, template in page_routes(app, "/manage"):
        url = victim.url(template, victim.program.id)
        if method == "GET" and template.startswith(OWNER_ONLY):
            assert viewer.get(url).status_code == 403, url
        elif method == "GET":
            assert viewer.get(url).status_code in (200, 404), url  # 404 only for an id the victim does not have
        else:
            response = viewer.post(url, data=victim.form(token), follow_redirects=False)
            assert response.status_code == 403, (url, response.status_code)
    assert snapshot(engine) == before


def test_partner_pages_answer_404_to_a_manager_and_to_a_partner_of_another_program(
    client: TestClient, app: PartnerloopApp, victim: Victim, other_program: ProgramKeys, engine: Engine
) -> None:
    add_partner_user(engine, other_program.id, "other-partner@b.test")
    before = snapshot(engine)
    for email in ("owner-acme@example.com", "other-partner@b.test"):
        browser = _browser(app, email)
        token = _token(browser)
        for method, template in page_routes(app, "/partner"):
            url = victim.url(template, victim.program.id)
            response = (
                browser.get(url)
                if method == "GET"
                else browser.post(url, data=victim.form(token), follow_redirects=False)
            )
            assert response.status_code == 404, (email, method, url, response.status_code)
            assert "victim" not in response.text.lower().replace("victim-partner", ""), url
    other = _browser(app, "other-partner@b.test")
    token = _token(other)
    for method, template in page_routes(app, "/partner"):
        if "{" not in template:
            continue
        url = victim.url(template, other_program.id)  # their own program, the victim's link id
        response = (
            other.get(url) if method == "GET" else other.post(url, data=victim.form(token), follow_redirects=False)
        )
        assert response.status_code == 404, (method, url, response.status_code)
    assert snapshot(engine) == before


def test_the_victims_own_team_still_sees_everything(client: TestClient, app: PartnerloopApp, victim: Victim) -> None:
    """The walks above prove something only if the same URLs open for the right user."""
    owner = _browser(app, "owner-acme@example.com")
    for method, template in page_routes(app, "/manage"):
        if method == "GET" and "{" in template:
            assert owner.get(victim.url(template, victim.program.id)).status_code == 200, template
    partner = _browser(app, "victim-partner@a.test")
    for method, template in page_routes(app, "/partner"):
        if method == "GET":
            assert partner.get(victim.url(template, victim.program.id)).status_code == 200, template
    detail = owner.get(victim.url("/manage/partners/{partner_id}", victim.program.id))
    assert "secret note" in detail.text and "victim-partner@a.test" in detail.text
