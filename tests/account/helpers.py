"""Browser-like helpers for page tests: read the CSRF token from a page, log in, post forms."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def page_token(client: TestClient, page: str = "/login") -> str:
    """The CSRF token a form on `page` carries for this browser."""
    response = client.get(page)
    return csrf_of(response.text)


def post_form(
    client: TestClient,
    url: str,
    data: dict[str, object] | None = None,
    *,
    page: str | None = None,
    follow_redirects: bool = False,
) -> Response:
    """Post like a browser would from `page` (default: the URL itself, else /account): with its CSRF token."""
    token = page_token(client, page or "/account")
    return client.post(url, data={**(data or {}), "csrf_token": token}, follow_redirects=follow_redirects)


def login(client: TestClient, email: str, password: str, *, next: str = "") -> Response:
    token = page_token(client, "/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "next": next, "csrf_token": token},
        follow_redirects=False,
    )
