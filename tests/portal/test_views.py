from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys


def test_owner_logs_in_sees_the_overview_and_logs_out(client: TestClient, program: ProgramKeys) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    page = client.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    wrong = client.post("/login", data={"email": "owner-acme@example.com", "password": "nope nope"})
    assert wrong.status_code == 401 and "wrong" in wrong.text
    response = client.post(
        "/login",
        data={"email": "owner-acme@example.com", "password": "correct horse battery"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    assert "httponly" in response.headers["set-cookie"].lower()
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert "Acme" in dashboard.text and "<svg" in dashboard.text and "Clicks" in dashboard.text
    client.get("/logout")
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/login"


def test_a_forged_session_cookie_is_refused(client: TestClient, program: ProgramKeys) -> None:
    client.cookies.set("pl_session", "01abc.9999999999.deadbeef")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
