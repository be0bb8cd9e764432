"""Every dashboard and account page: labelled controls, one h1, a language, named charts, nothing from the internet."""

from __future__ import annotations

from html.parser import HTMLParser

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.app import PartnerloopApp
from tests.account.factories import PASSWORD
from tests.account.helpers import login
from tests.conftest import ProgramKeys
from tests.manage.world import Victim, page_routes

UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.open_labels = 0
        self.h1 = 0
        self.lang: str | None = None
        self.remote: list[str] = []
        self.unnamed_images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag == "h1":
            self.h1 += 1
        if tag == "label":
            self.open_labels += 1
            if values.get("for"):
                self.label_for.add(str(values["for"]))
        if tag in ("input", "select", "textarea") and values.get("type") not in UNLABELLED_TYPES:
            self.controls.append({**values, "_wrapped": "yes" if self.open_labels else None, "_tag": tag})
        for attribute in ("src", "href") if tag in ("script", "img", "link", "iframe", "source") else ():
            value = values.get(attribute) or ""
            if value.startswith(("http:", "https:", "//")):
                self.remote.append(value)
        if tag == "svg" and not (values.get("aria-label") or values.get("aria-hidden")):
            self.unnamed_images.append("svg")
        if tag == "img" and values.get("alt") is None:
            self.unnamed_images.append(str(values.get("src")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1


def _check(path: str, html: str) -> None:
    page = _Page()
    page.feed(html)
    assert page.lang == "en", path
    assert page.h1 == 1, f"{path}: {page.h1} h1"
    assert not page.remote, f"{path} loads {page.remote}"
    assert not page.unnamed_images, f"{path}: {page.unnamed_images}"
    for control in page.controls:
        named = control.get("aria-label") or control.get("aria-labelledby") or control.get("_wrapped")
        assert named or control.get("id") in page.label_for, (
            f"{path}: a {control['_tag']} named {control.get('name')!r} has no label"
        )


def test_every_dashboard_page_is_labelled_and_self_contained(
    client: TestClient, app: PartnerloopApp, engine: Engine, program: ProgramKeys
) -> None:
    victim = Victim(client, engine, program)
    assert login(client, "owner-acme@example.com", PASSWORD).status_code == 303
    checked = 0
    for method, template in page_routes(app, "/manage"):
        if method != "GET" or template.endswith(".csv"):
            continue
        response = client.get(victim.url(template, program.id))
        if response.status_code == 200 and response.headers["content-type"].startswith("text/html"):
            _check(template, response.text)
            checked += 1
    assert checked >= 10


def test_every_account_page_is_labelled_and_self_contained(client: TestClient, program: ProgramKeys) -> None:
    for path in ("/login", "/signup", "/forgot", "/reset/expired-token"):
        _check(path, client.get(path).text)
    login(client, "owner-acme@example.com", PASSWORD)
    _check("/account", client.get("/account").text)
