"""Links that work everywhere: UTMs, expiry, deep links, link domains, unique clicks."""

from __future__ import annotations

from datetime import UTC, datetime
from math import inf
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.ids import new_id_bytes
from partnerloop.link.rules import utm_params, with_utm
from partnerloop.models import ClickRollup
from partnerloop.tracking.batch import VisitorMemory, click_row
from partnerloop.tracking.cache import target_for
from partnerloop.tracking.link_rules import (
    cookie_click_id,
    deep_link_target,
    host_of,
    is_unique_click,
    link_domain_key,
)
from partnerloop.tracking.repository import LinkRow
from tests.conftest import ProgramKeys
from tests.tracking.helpers import CHROME_ON_WINDOWS, GOOGLEBOT, SAFARI_ON_IPHONE, eventually, make_link, stored_clicks

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
UTM = (("utm_source", "news letter"), ("utm_medium", "email"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://a.test/p", "https://a.test/p?utm_source=news%20letter&utm_medium=email", id="a bare url gets both"),
        pytest.param("https://a.test/p?x=1#f", "https://a.test/p?x=1&utm_source=news%20letter&utm_medium=email#f",
                     id="its query and fragment are kept"),
        pytest.param("https://a.test/p?utm_source=own", "https://a.test/p?utm_source=own&utm_medium=email",
                     id="a utm the destination has wins"),
        pytest.param("https://a.test/?utm_source=a&utm_medium=b", "https://a.test/?utm_source=a&utm_medium=b",
                     id="a destination with every utm is unchanged"),
    ],
)  # fmt: skip
def test_with_utm(url: str, expected: str) -> None:
    assert with_utm(url, UTM) == expected


def test_utm_params_keep_canonical_order_and_drop_empty_and_unknown() -> None:
    assert utm_params({"utm_campaign": "c", "utm_source": "s", "utm_term": "", "other": "x"}) == (
        ("utm_source", "s"), ("utm_campaign", "c"),
    )  # fmt: skip
    assert utm_params(None) == ()


@pytest.mark.parametrize(
    ("is_bot", "previous", "at", "unique"),
    [
        pytest.param(False, None, 100.0, True, id="a first visit counts"),
        pytest.param(False, 100.0, 100.0 + 3599, False, id="the same visitor within the hour does not"),
        pytest.param(False, 100.0, 100.0 + 3600, True, id="the same visitor an hour later counts again"),
        pytest.param(True, None, 100.0, False, id="a bot never counts"),
    ],
)
def test_is_unique_click(is_bot: bool, previous: float | None, at: float, unique: bool) -> None:
    assert is_unique_click(is_bot, previous, at) is unique


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            b"to=https%3A%2F%2Fshop.acme.test%2Fx%3Fa%3D1", "https://shop.acme.test/x?a=1", id="an allowed to"
        ),
        pytest.param(b"utm_source=x", None, id="a query without to keeps the destination"),
    ],
)
def test_deep_link_target(query: bytes, expected: str | None) -> None:
    assert deep_link_target(query, ("acme.test",)) == expected


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(b"to=https://evil.test/", id="a to off the allowed domains"),
        pytest.param(b"to=https://acme.test.evil.test/", id="an allowed domain as a prefix of another"),
        pytest.param(b"to=javascript:alert(1)", id="a to that is no http url"),
        pytest.param(b"to=", id="an empty to"),
        pytest.param(b"to=https://acme.test/&to=https://evil.test/", id="two to parameters"),
        pytest.param(b"to=\xff", id="a query that is no utf-8"),
    ],
)
def test_deep_links_off_the_allowed_domains_are_refused(query: bytes) -> None:
    with pytest.raises(InvalidInput):
        deep_link_target(query, ("acme.test",))


@pytest.mark.parametrize(
    ("path", "key"),
    [
        pytest.param("/spring", "spring", id="one segment is a key"),
        pytest.param("/", None, id="the root is no key"),
        pytest.param("/api/v1/links", None, id="a deeper path is no key"),
        pytest.param("/favicon.ico", None, id="a file name is no key"),
    ],
)
def test_link_domain_key(path: str, key: str | None) -> None:
    assert link_domain_key(path) == key


@pytest.mark.parametrize(
    ("header", "host"),
    [
        pytest.param(b"Go.Acme.test", b"go.acme.test", id="lower-cased"),
        pytest.param(b"go.acme.test:8443", b"go.acme.test", id="the port dropped"),
    ],
)
def test_host_of(header: bytes, host: bytes) -> None:
    assert host_of(header) == host


@pytest.mark.parametrize(
    ("cookie", "click_id"),
    [
        pytest.param(b"a=1; pl_cid=01hzzzzzzzzzzzzzzzzzzzzzzz", "01hzzzzzzzzzzzzzzzzzzzzzzz", id="among other cookies"),
        pytest.param(b"pl_cid=short", None, id="a value that is no click id"),
        pytest.param(b"", None, id="no cookie header"),
    ],
)
def test_cookie_click_id(cookie: bytes, click_id: str | None) -> None:
    assert cookie_click_id(cookie) == click_id


def _row(**overrides: object) -> LinkRow:
    values: dict[str, object] = {
        "key": "k", "link_id": "l1", "program_id": "p1", "partner_id": "pa1",
        "destination_url": "https://shop.acme.test/x", "deleted": False, "cookie_days": 30,
        "allowed_domains": ["acme.test"], "link_updated_at": NOW, "program_updated_at": NOW,
    }  # fmt: skip
    values.update(overrides)
    return LinkRow(**values)  # type: ignore[arg-type]


def test_the_target_carries_utms_expiry_and_fallback_prepared() -> None:
    target = target_for(_row(utm={"utm_source": "p"}, expires_at=NOW, fallback_url="https://acme.test/over",
                             program_fallback_url="https://acme.test/program"))  # fmt: skip
    assert target is not None
    assert target.location_head == b"https://shop.acme.test/x?utm_source=p&pl_cid="
    assert target.expires_at == NOW.timestamp()
    assert target.expired_location == b"https://acme.test/over"


@pytest.mark.parametrize(
    ("link_fallback", "program_fallback", "location"),
    [
        pytest.param(None, "https://acme.test/p", b"https://acme.test/p", id="the program's when the link has none"),
        pytest.param("https://evil.test/", "https://acme.test/p", b"https://acme.test/p",
                     id="the program's when the link's left the allowed domains"),
        pytest.param(None, None, None, id="none at all: a 410"),
    ],
)  # fmt: skip
def test_expired_location(link_fallback: str | None, program_fallback: str | None, location: bytes | None) -> None:
    target = target_for(_row(fallback_url=link_fallback, program_fallback_url=program_fallback))
    assert target is not None
    assert target.expires_at == inf
    assert target.expired_location == location


# --- through the app ------------------------------------------------------------------------------------------


def _clicks_written(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    """Wait until every click accepted so far is written: a later click is written after them (FIFO)."""
    marker = make_link(client, program, key=f"marker{new_id_bytes().decode()[-8:]}")
    client.get(f"/go/{marker['key']}", follow_redirects=False)
    eventually(lambda: stored_clicks(engine, marker["id"]))


def test_utms_are_appended_without_overriding_the_destinations(client: TestClient, program: ProgramKeys) -> None:
    partner = make_link(client, program)["partner_id"]
    body = {"partner_id": partner, "destination_url": "https://acme.test/p?utm_source=own", "key": "utm1",
            "utm": {"source": "partner", "medium": "affiliate"}}  # fmt: skip
    assert client.post("/api/v1/links", json=body, headers=program.headers).status_code == 201
    location = client.get("/go/utm1", follow_redirects=False).headers["location"]
    assert location.startswith("https://acme.test/p?utm_source=own&utm_medium=affiliate&pl_cid=")


def _expire(client: TestClient, program: ProgramKeys, link: dict[str, Any], **fields: Any) -> None:
    body = {"expires_at": "2020-01-01T00:00:00Z", **fields}
    response = client.patch(f"/api/v1/links/{link['id']}", json=body, headers=program.headers)
    assert response.status_code == 200, response.text


def test_an_expired_link_goes_to_its_fallback_and_records_nothing(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    link = make_link(client, program, key="old")
    _expire(client, program, link, fallback_url="https://acme.test/ended")
    response = client.get("/go/old", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "https://acme.test/ended"
    assert "set-cookie" not in response.headers
    _clicks_written(client, program, engine)
    assert stored_clicks(engine, link["id"]) == []


def test_an_expired_link_goes_to_the_programs_fallback_else_410(client: TestClient, program: ProgramKeys) -> None:
    link = make_link(client, program, key="older")
    _expire(client, program, link)
    gone = client.get("/go/older", follow_redirects=False)
    assert gone.status_code == 410
    assert b"expired" in gone.content
    client.patch("/api/v1/program", json={"fallback_url": "https://acme.test/home"}, headers=program.headers)
    eventually(lambda: client.get("/go/older", follow_redirects=False).status_code == 302)
    assert client.get("/go/older", follow_redirects=False).headers["location"] == "https://acme.test/home"


def test_a_link_expiring_later_still_redirects(client: TestClient, program: ProgramKeys) -> None:
    link = make_link(client, program, key="later")
    _expire(client, program, link, expires_at="2099-01-01T00:00:00Z")
    assert "pl_cid=" in client.get("/go/later", follow_redirects=False).headers["location"]


def test_a_deep_link_goes_to_its_target_with_the_click_id_and_utms(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    link = make_link(client, program, key="deep")
    client.patch(f"/api/v1/links/{link['id']}", json={"utm": {"source": "p"}}, headers=program.headers)
    response = client.get("/go/deep", params={"to": "https://shop.acme.test/item/7?c=red#top"}, follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("https://shop.acme.test/item/7?c=red&utm_source=p&pl_cid=")
    assert location.endswith("#top")
    eventually(lambda: stored_clicks(engine, link["id"]))


def test_a_deep_link_off_the_allowed_domains_is_a_400_and_records_nothing(
    client: TestClient, program: ProgramKeys, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    link = make_link(client, program, key="phish")
    response = client.get("/go/phish", params={"to": "https://evil.test/login"}, follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "deep link" in caplog.text
    _clicks_written(client, program, engine)
    assert stored_clicks(engine, link["id"]) == []


def test_a_link_domain_resolves_its_programs_keys_only(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys, engine: Engine
) -> None:
    own = make_link(client, program, key="ours")
    make_link(client, other_program, "https://other.test/", key="theirs")
    response = client.patch("/api/v1/program", json={"link_domains": ["go.acme.test"], "fallback_url": "https://acme.test/"},
                            headers=program.headers)  # fmt: skip
    assert response.status_code == 200, response.text
    host = {"host": "go.acme.test"}
    eventually(lambda: client.get("/ours", headers=host, follow_redirects=False).status_code == 302)
    assert (
        client.get("/ours", headers=host, follow_redirects=False)
        .headers["location"]
        .startswith("https://acme.test/pricing?pl_cid=")
    )
    # another program's key, or an unknown one: the program's fallback, recording nothing
    assert client.get("/theirs", headers=host, follow_redirects=False).headers["location"] == "https://acme.test/"
    assert client.get("/nope", headers=host, follow_redirects=False).headers["location"] == "https://acme.test/"
    # everything else goes on to the application, and /{key} on other hosts is no short link
    assert client.get("/healthz.json", headers=host).status_code == 404
    assert client.get("/api/v1/program", headers={**host, **program.headers}).status_code == 200
    assert client.get("/ours", follow_redirects=False).status_code != 302
    eventually(lambda: len(stored_clicks(engine, own["id"])) == 2)


def _unique_total(engine: Engine, link_id: str) -> int:
    with engine.connect() as connection:
        total = connection.execute(
            select(func.coalesce(func.sum(ClickRollup.unique_clicks), 0)).where(ClickRollup.link_id == link_id)
        ).scalar_one()
    return int(total)


def test_the_same_visitor_within_an_hour_counts_once_and_bots_never(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    link = make_link(client, program, key="uniq")
    order = []
    for agent in (CHROME_ON_WINDOWS, CHROME_ON_WINDOWS, SAFARI_ON_IPHONE, GOOGLEBOT, GOOGLEBOT, CHROME_ON_WINDOWS):
        client.cookies.clear()  # separate browsers: the pl_cid cookie would say "the same visitor"
        location = client.get("/go/uniq", headers={"user-agent": agent}, follow_redirects=False).headers["location"]
        order.append(location.split("pl_cid=")[1])
    eventually(lambda: len(stored_clicks(engine, link["id"])) == 6)
    by_id = {click.id: click for click in stored_clicks(engine, link["id"])}
    clicks = [by_id[click_id] for click_id in order]
    assert [click.is_unique for click in clicks] == [True, False, True, False, False, False]
    assert len({click.visitor for click in clicks}) == 3
    assert all(click.visitor and len(click.visitor) == 32 for click in clicks)
    assert _unique_total(engine, link["id"]) == 2
    assert client.get(f"/api/v1/links/{link['id']}", headers=program.headers).json()["unique_clicks"] == 2


def test_the_cookie_sent_back_names_the_same_visitor(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    link = make_link(client, program, key="cookied")
    client.get("/go/cookied", headers={"user-agent": CHROME_ON_WINDOWS}, follow_redirects=False)
    client.get("/go/cookied", headers={"user-agent": SAFARI_ON_IPHONE}, follow_redirects=False)  # cookie kept
    eventually(lambda: len(stored_clicks(engine, link["id"])) == 2)
    assert _unique_total(engine, link["id"]) == 1


def test_the_database_answers_for_visitors_an_earlier_process_saw(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    link = make_link(client, program, key="again")
    response = client.get("/go/again", headers={"user-agent": CHROME_ON_WINDOWS}, follow_redirects=False)
    first_id = response.headers["location"].split("pl_cid=")[1].encode()
    eventually(lambda: stored_clicks(engine, link["id"]))
    target = client.app.runtime.link_cache.get("again")  # type: ignore[attr-defined]
    memory = VisitorMemory()  # a new process: remembers nothing
    at = datetime.now(UTC).timestamp()
    same = (new_id_bytes(), target, at, "testclient", CHROME_ON_WINDOWS.encode(), b"", b"", b"")
    other_agent_same_cookie = (
        new_id_bytes(),
        target,
        at,
        "198.51.100.1",
        b"curl-ish/1",
        b"",
        b"",
        b"pl_cid=" + first_id,
    )
    stranger = (new_id_bytes(), target, at, "198.51.100.1", SAFARI_ON_IPHONE.encode(), b"", b"", b"")
    clicks = [same, other_agent_same_cookie, stranger]
    with engine.connect() as connection:
        facts, _visits = memory.unique_facts(connection, clicks, [click_row(click) for click in clicks])
    assert [unique for unique, _ in facts] == [False, False, True]
