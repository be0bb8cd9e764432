"""Login, logout and the session cookie: rotation, revocation, idle and absolute timeouts, CSRF, limits."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from partnerloop.app import PartnerloopApp, create_app
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import UserSession
from tests.account.factories import PASSWORD, add_member, add_partner_user
from tests.account.helpers import login, page_token, post_form
from tests.conftest import ProgramKeys, make_settings

OWNER = "owner-acme@example.com"


def test_owner_logs_in_lands_on_the_dashboard_and_gets_a_safe_cookie(client: TestClient, program: ProgramKeys) -> None:
    response = login(client, OWNER, PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/manage"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("pl_session=") and "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http (local development): a Secure cookie would never come back
    assert client.get("/manage").status_code == 200


def test_over_https_the_cookie_is_host_prefixed_and_secure_with_hsts(app: PartnerloopApp, program: ProgramKeys) -> None:
    with TestClient(app, base_url="https://testserver") as browser:
        page = browser.get("/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        response = login(browser, OWNER, PASSWORD)
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-pl_session=") and "Secure" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie
        assert browser.get("/manage").status_code == 200


def test_a_partner_user_lands_on_the_partner_portal(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    add_partner_user(engine, program.id, "pat@example.org")
    assert login(client, "pat@example.org", PASSWORD).headers["location"] == "/partner"


def test_wrong_password_and_unknown_email_get_the_same_answer(client: TestClient, program: ProgramKeys) -> None:
    wrong = login(client, OWNER, "not the password")
    unknown = login(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Email or password is wrong." in wrong.text and "Email or password is wrong." in unknown.text
    assert "pl_session" not in wrong.headers.get("set-cookie", "")


def test_logging_in_again_rotates_the_token_and_ends_the_previous_session(
    client: TestClient, program: ProgramKeys
) -> None:
    first = login(client, OWNER, PASSWORD).cookies["pl_session"]
    token = page_token(client, "/account")  # logged in: the form carries the session's token
    again = client.post(
        "/login", data={"email": OWNER, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    second = again.cookies["pl_session"]
    assert again.status_code == 303 and second != first
    assert client.get("/manage").status_code == 200
    client.cookies.set("pl_session", first)
    assert client.get("/manage", follow_redirects=False).status_code == 303


def test_after_logout_the_old_cookie_opens_nothing(client: TestClient, program: ProgramKeys) -> None:
    token = login(client, OWNER, PASSWORD).cookies["pl_session"]
    out = post_form(client, "/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    client.cookies.set("pl_session", token)  # replay the cookie as an attacker who copied it would
    response = client.get("/manage", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_the_logout_link_only_asks_and_its_button_logs_out(client: TestClient, program: ProgramKeys) -> None:
    login(client, OWNER, PASSWORD)
    # An <img src="/logout"> on another site sends the cookie with a GET: that must not end the session.
    asked = client.get("/logout", follow_redirects=False)
    assert asked.status_code == 200
    assert '<form method="post" action="/logout">' in asked.text and 'name="csrf_token"' in asked.text
    assert "pl_session" not in asked.headers.get("set-cookie", "")
    assert client.get("/manage", follow_redirects=False).status_code == 200
    out = post_form(client, "/logout", page="/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/manage", follow_redirects=False).status_code == 303
    assert client.get("/logout", follow_redirects=False).headers["location"] == "/login"


def test_an_idle_session_expires(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    login(client, OWNER, PASSWORD)
    with transaction(engine) as session:
        session.execute(update(UserSession).values(last_seen_at=utc_now() - timedelta(minutes=121)))
    response = client.get("/manage", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fmanage"


def test_activity_keeps_a_session_alive_until_its_absolute_end(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    login(client, OWNER, PASSWORD)
    with transaction(engine) as session:
        session.execute(update(UserSession).values(last_seen_at=utc_now() - timedelta(minutes=100)))
    assert client.get("/manage").status_code == 200  # within the idle timeout: the visit is recorded
    with transaction(engine, writes=False) as session:
        seen = session.execute(select(UserSession.last_seen_at)).scalar_one()
    assert utc_now() - seen < timedelta(minutes=1)
    with transaction(engine) as session:
        session.execute(update(UserSession).values(expires_at=utc_now() - timedelta(seconds=1)))
    assert client.get("/manage", follow_redirects=False).status_code == 303


def test_a_forged_cookie_is_refused(client: TestClient, program: ProgramKeys) -> None:
    client.cookies.set("pl_session", "01abc.9999999999.deadbeef")
    assert client.get("/manage", follow_redirects=False).status_code == 303


def test_login_needs_the_csrf_token_of_this_browser(
    client: TestClient, app: PartnerloopApp, program: ProgramKeys
) -> None:
    missing = client.post("/login", data={"email": OWNER, "password": PASSWORD}, follow_redirects=False)
    assert missing.status_code == 403 and "expired" in missing.text
    attacker = TestClient(app, base_url="http://testserver")  # another browser on the same running app
    foreign_token = page_token(attacker, "/login")
    client.get("/login")
    borrowed = client.post(
        "/login", data={"email": OWNER, "password": PASSWORD, "csrf_token": foreign_token}, follow_redirects=False
    )
    assert borrowed.status_code == 403


def test_a_form_posted_from_another_site_is_refused(client: TestClient, program: ProgramKeys) -> None:
    login(client, OWNER, PASSWORD)
    token = page_token(client, "/account")
    response = client.post(
        "/account/profile",
        data={"name": "Mallory", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "Mallory" not in client.get("/account").text


def test_the_csrf_token_changes_at_login(client: TestClient, program: ProgramKeys) -> None:
    before = page_token(client, "/login")
    login(client, OWNER, PASSWORD)
    after = page_token(client, "/account")
    assert before != after
    assert client.post("/account/profile", data={"name": "X", "csrf_token": before}).status_code == 403


def test_after_login_the_user_returns_to_the_page_asked_for_but_never_off_site(
    client: TestClient, program: ProgramKeys
) -> None:
    redirected = client.get("/manage/partners?program=" + program.id, follow_redirects=False)
    assert redirected.headers["location"] == f"/login?next=%2Fmanage%2Fpartners%3Fprogram%3D{program.id}"
    assert login(client, OWNER, PASSWORD, next=f"/manage/partners?program={program.id}").headers["location"] == (
        f"/manage/partners?program={program.id}"
    )
    post_form(client, "/logout")
    assert login(client, OWNER, PASSWORD, next="//evil.example/phish").headers["location"] == "/manage"


ATTACKER_IP = "198.51.100.7"
OWNERS_IP = "203.0.113.9"


def browser_at(app: PartnerloopApp, ip: str) -> TestClient:
    """Another browser (its own cookies) on the same running app, whose requests come from `ip`."""
    return TestClient(app, base_url="http://testserver", client=(ip, 50000))


def test_a_wrong_password_flood_locks_the_account_out_from_that_ip_only(
    client: TestClient, app: PartnerloopApp, program: ProgramKeys, engine: Engine
) -> None:
    attacker = browser_at(app, ATTACKER_IP)
    answers = [login(attacker, OWNER, f"guess {attempt}").status_code for attempt in range(30)]
    assert answers == [401] * 10 + [429] * 20
    blocked = login(attacker, OWNER, PASSWORD)  # the right password from there is refused too: no more guessing
    assert blocked.status_code == 429 and "Too many login attempts" in blocked.text
    assert "pl_session" not in blocked.headers.get("set-cookie", "")
    owner = browser_at(app, OWNERS_IP)
    assert login(owner, OWNER, PASSWORD).headers["location"] == "/manage"  # the owner, from their own IP
    assert owner.get("/manage").status_code == 200
    add_partner_user(engine, program.id, "pat@example.org")
    assert login(attacker, "pat@example.org", PASSWORD).status_code == 303  # the IP is not locked out for others


def test_a_successful_login_clears_the_failures_of_its_account_and_ip(
    client: TestClient, app: PartnerloopApp, program: ProgramKeys
) -> None:
    browser = browser_at(app, OWNERS_IP)
    for _round in range(3):  # 27 wrong passwords in all, never 10 in a row
        assert [login(browser, OWNER, "typo").status_code for _ in range(9)] == [401] * 9
        assert login(browser, OWNER, PASSWORD).status_code == 303
        post_form(browser, "/logout")
    assert [login(browser, OWNER, "typo").status_code for _ in range(10)] == [401] * 10
    assert login(browser, OWNER, PASSWORD).status_code == 429  # ten in a row still lock the pair


def test_thirty_colleagues_behind_one_nat_all_log_in(
    client: TestClient, app: PartnerloopApp, program: ProgramKeys, engine: Engine
) -> None:
    colleagues = [f"colleague{number}@acme.test" for number in range(30)]
    for email in colleagues:
        add_member(engine, program.workspace_id, email, "admin")
    answers = []
    for email in colleagues:  # each mistypes once, logs in, and logs in again on a second device
        office = browser_at(app, "192.0.2.1")
        assert login(office, email, "Monday morning").status_code == 401
        answers.append(login(office, email, PASSWORD).status_code)
        answers.append(login(browser_at(app, "192.0.2.1"), email, PASSWORD).status_code)
    assert answers == [303] * 60


def test_password_spraying_from_one_ip_is_stopped_there(
    client: TestClient, app: PartnerloopApp, program: ProgramKeys
) -> None:
    sprayer = browser_at(app, ATTACKER_IP)
    for attempt in range(100):
        assert login(sprayer, f"guess{attempt}@example.com", "wrong password").status_code == 401
    assert login(sprayer, OWNER, PASSWORD).status_code == 429
    assert login(browser_at(app, OWNERS_IP), OWNER, PASSWORD).status_code == 303


def test_with_redis_two_app_processes_share_the_lockout(
    engine: Engine, database_url: str, program: ProgramKeys, redis_url: str, redis_prefix: str
) -> None:
    settings = make_settings(database_url, redis_url=redis_url, rate_limit_key_prefix=redis_prefix)
    first, second = create_app(settings), create_app(settings)
    with browser_at(first, ATTACKER_IP) as on_first, browser_at(second, ATTACKER_IP) as on_second:
        for attempt in range(10):  # five wrong passwords on each process
            assert login(on_first if attempt % 2 else on_second, OWNER, f"guess {attempt}").status_code == 401
        assert login(on_first, OWNER, PASSWORD).status_code == 429
        assert login(on_second, OWNER, PASSWORD).status_code == 429
        assert login(browser_at(second, OWNERS_IP), OWNER, PASSWORD).status_code == 303


def test_every_page_carries_the_security_headers_and_no_inline_script(client: TestClient, program: ProgramKeys) -> None:
    pages = ["/login", "/signup", "/forgot", "/reset/not-a-token", "/invite/not-a-token"]
    login(client, OWNER, PASSWORD)
    pages += ["/manage", "/account"]
    for path in pages:
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert "strict-transport-security" not in response.headers, path  # plain http
        for script in response.text.split("<script")[1:]:
            assert script.lstrip().startswith('src="/static/'), f"inline script on {path}"
        own = response.text.replace("http://testserver", "").replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "http://" not in own or path == "/manage", path  # (an SVG chart's namespace is no address)
    assert client.get("/static/app.js").headers["x-content-type-options"] == "nosniff"
