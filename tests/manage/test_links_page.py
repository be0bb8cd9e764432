"""/manage/links: every link with search, a link made for a partner, a link's clicks by day, country, device and
referring site, a new destination and disabling; and the partner changing or archiving their own link."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.link.stats import referrer_host
from partnerloop.models import Click, Link
from tests.account.factories import PASSWORD, add_partner_user
from tests.account.helpers import login, post_form
from tests.conftest import ProgramKeys
from tests.manage.factories import as_member, as_owner, form_post
from tests.tracking.helpers import CHROME_ON_WINDOWS, SAFARI_ON_IPHONE


def _clicks(client: TestClient, engine: Engine, key: str, visits: list[dict[str, str]]) -> None:
    for headers in visits:
        assert client.get(f"/go/{key}", headers=headers, follow_redirects=False).status_code == 302
    deadline = time.monotonic() + 10
    while True:
        with transaction(engine, writes=False) as session:
            if session.execute(select(func.count()).select_from(Click)).scalar_one() >= len(visits):
                return
        assert time.monotonic() < deadline, "clicks were not flushed within 10 s"
        time.sleep(0.05)


def _partner(engine: Engine, program: ProgramKeys, email: str, name: str) -> str:
    return add_partner_user(engine, program.id, email, name=name)[1]


def test_referring_sites_are_named_by_host() -> None:
    assert referrer_host("https://www.news.example/post?id=1") == "news.example"
    assert referrer_host(None) == "" and referrer_host("not a url") == ""


def test_a_manager_finds_creates_redirects_and_disables_links(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    jane = _partner(engine, program, "jane@p.test", "Jane Cooper")
    _partner(engine, program, "max@p.test", "Max Roe")
    as_owner(client)
    page = f"/manage/links?program={program.id}"
    bad = form_post(client, page, page, {"partner_id": jane, "destination_url": "https://evil.test/"})
    assert bad.status_code == 422 and "evil.test" in bad.text
    assert form_post(client, page, page, {"partner_id": "", "destination_url": "https://acme.test/"}).status_code == 422
    with transaction(engine, writes=False) as session:
        assert session.execute(select(func.count()).select_from(Link)).scalar_one() == 0
    made = form_post(client, page, page, {"partner_id": jane, "destination_url": "https://acme.test/", "key": "jane"})
    assert made.status_code == 303, made.text
    detail = made.headers["location"]
    assert "Link /go/jane created." in client.get(detail).text
    taken = form_post(client, page, page, {"partner_id": jane, "destination_url": "https://acme.test/", "key": "jane"})
    assert taken.status_code == 409 and "taken" in taken.text

    _clicks(client, engine, "jane", [
        {"User-Agent": CHROME_ON_WINDOWS, "Referer": "https://www.news.example/a", "cf-ipcountry": "DE"},
        {"User-Agent": CHROME_ON_WINDOWS, "Referer": "https://news.example/b", "cf-ipcountry": "DE"},
        {"User-Agent": SAFARI_ON_IPHONE, "cf-ipcountry": "FR"},
    ])  # fmt: skip
    html = client.get(detail).text
    assert re.search(r"data-total-clicks>3<", html)
    assert re.search(r"<td>Germany</td><td class=\"num\">2</td>", html)
    assert re.search(r"<td>France</td><td class=\"num\">1</td>", html)
    assert re.search(r"<td>news.example</td><td class=\"num\">2</td>", html)
    assert "direct (no referrer)" in html and "<svg" in html

    assert "/go/jane" in client.get(page + "&q=cooper").text
    assert "No link matches." in client.get(page + "&q=roe").text

    moved = form_post(client, detail, detail, {"destination_url": "https://acme.test/pricing"})
    assert moved.status_code == 303
    assert client.get("/go/jane", follow_redirects=False).headers["location"].startswith("https://acme.test/pricing")
    refused = form_post(client, detail, detail, {"destination_url": "https://evil.test/"})
    assert refused.status_code == 422 and "https://acme.test/pricing" in client.get(detail).text
    link_id = detail.split("/manage/links/")[1].split("?")[0]
    disabled = form_post(client, detail, f"/manage/links/{link_id}/disable?program={program.id}", {})
    assert "is disabled" in client.get(disabled.headers["location"]).text
    assert client.get("/go/jane", follow_redirects=False).status_code == 404
    assert client.get(detail).status_code == 404


def test_a_viewer_reads_links_but_cannot_change_them(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    jane = _partner(engine, program, "jane@p.test", "Jane Cooper")
    as_member(client, engine, program, "viewer")
    page = f"/manage/links?program={program.id}"
    assert "Create a link for a partner" not in client.get(page).text
    refused = form_post(client, page, page, {"partner_id": jane, "destination_url": "https://acme.test/"})
    assert refused.status_code == 403


def test_a_partner_changes_and_archives_their_own_link_only(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    pat = _partner(engine, program, "pat@p.test", "Pat")
    other = _partner(engine, program, "other@p.test", "Other")
    theirs = client.post(
        "/api/v1/links", json={"partner_id": other, "destination_url": "https://acme.test/", "key": "other"},
        headers=program.headers,
    ).json()  # fmt: skip
    mine = client.post(
        "/api/v1/links", json={"partner_id": pat, "destination_url": "https://acme.test/", "key": "pat"},
        headers=program.headers,
    ).json()  # fmt: skip
    login(client, "pat@p.test", PASSWORD)
    page = f"/partner/links/{mine['id']}"
    bad = post_form(client, page, {"destination_url": "https://evil.test/"}, page=page)
    assert bad.status_code == 422 and "evil.test" in bad.text
    saved = post_form(client, page, {"destination_url": "https://acme.test/blog"}, page=page)
    assert saved.status_code == 303
    assert client.get("/go/pat", follow_redirects=False).headers["location"].startswith("https://acme.test/blog")
    assert (
        post_form(
            client, f"/partner/links/{theirs['id']}", {"destination_url": "https://acme.test/x"}, page=page
        ).status_code
        == 404
    )
    assert post_form(client, f"/partner/links/{theirs['id']}/archive", page=page).status_code == 404
    archived = post_form(client, f"{page}/archive", page=page)
    assert archived.status_code == 303 and "archived" in client.get(archived.headers["location"]).text
    assert client.get("/go/pat", follow_redirects=False).status_code == 404
    assert client.get("/go/other", follow_redirects=False).status_code == 302
