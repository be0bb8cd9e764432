"""POST /api/v1/track/click (the snippet's call) and GET /js/partnerloop.js, over real HTTP to the ASGI app."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from partnerloop.app import PartnerloopApp
from partnerloop.models import Click, Link
from partnerloop.tracking.rules import clean_ref, origin_allowed, site_link_destination
from tests.conftest import ProgramKeys
from tests.tracking.helpers import CHROME_ON_WINDOWS, eventually, make_link, make_partner

ORIGIN = "https://www.acme.test"


def post_click(client: TestClient, body: dict[str, Any] | bytes, origin: str | None = ORIGIN) -> Any:
    headers = {"content-type": "text/plain", "user-agent": CHROME_ON_WINDOWS}
    if origin is not None:
        headers["origin"] = origin
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/api/v1/track/click", content=content, headers=headers)


def referral_code(client: TestClient, program: ProgramKeys, partner_id: str) -> str:
    return str(client.get(f"/api/v1/partners/{partner_id}", headers=program.headers).json()["referral_code"])


def stored_click(engine: Engine, click_id: str) -> Click | None:
    with Session(engine) as session:
        return session.get(Click, click_id)


def click_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Click)).scalar_one())


def test_a_link_key_records_a_click_answered_with_cors(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    link = make_link(client, program, key="spring")
    body = {"key": program.publishable_key, "ref": "spring", "url": "https://www.acme.test/?ref=spring",
            "referrer": "https://blog.example/post"}  # fmt: skip
    response = post_click(client, body)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    answer = response.json()
    assert answer["cookie_days"] == 90
    assert answer["params"] == ["ref", "via"]
    click_id = answer["click_id"]
    stored = eventually(lambda: stored_click(engine, click_id))
    assert stored.link_id == link["id"]
    assert stored.referrer == "https://blog.example/post"
    assert stored.browser == "Chrome"
    assert client.get(f"/api/v1/links/{link['id']}", headers=program.headers).json()["clicks"] == 1


def test_a_site_click_attributes_a_lead_like_a_redirect_click(client: TestClient, program: ProgramKeys) -> None:
    link = make_link(client, program, key="spring")
    body = {"key": program.publishable_key, "ref": "spring", "url": "https://acme.test/"}
    click_id = post_click(client, body).json()["click_id"]
    lead = client.post("/api/v1/track/lead", json={"click_id": click_id, "customer_external_id": "cus_1"},
                       headers=program.headers)  # fmt: skip
    assert lead.status_code in (200, 201), lead.text
    assert lead.json()["customer"]["partner_id"] == link["partner_id"]


def test_a_referral_code_uses_the_partners_first_link(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    partner_id = make_partner(client, program)
    first = make_link(client, program, key="first", partner_id=partner_id)
    make_link(client, program, key="second", partner_id=partner_id)
    code = referral_code(client, program, partner_id)
    answer = post_click(client, {"key": program.publishable_key, "ref": code, "url": "https://acme.test/x"}).json()
    assert eventually(lambda: stored_click(engine, answer["click_id"])).link_id == first["id"]


def test_a_referral_code_without_links_gets_a_site_link_once(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    partner_id = make_partner(client, program)
    code = referral_code(client, program, partner_id)
    for _ in range(2):
        body = {"key": program.publishable_key, "ref": code, "url": "https://shop.acme.test/pricing?via=" + code}
        assert post_click(client, body).status_code == 200
    with Session(engine) as session:
        links = list(session.execute(select(Link).where(Link.partner_id == partner_id)).scalars())
    assert [link.destination_url for link in links] == ["https://shop.acme.test/"]
    eventually(lambda: click_count(engine) == 2)


@pytest.mark.parametrize(
    ("body", "origin", "status", "error"),
    [
        ({"ref": "spring", "url": "https://acme.test/"}, ORIGIN, 401, "InvalidPublishableKey"),
        ({"key": "pk_wrong", "ref": "spring", "url": "https://acme.test/"}, ORIGIN, 401, "InvalidPublishableKey"),
        ({"ref": "spring", "url": "https://acme.test/"}, "https://evil.example", 403, "ForeignOrigin"),
        ({"ref": "spring", "url": "https://acme.test/"}, "https://acme.test.evil.example", 403, "ForeignOrigin"),
        ({"ref": "spring", "url": "https://acme.test/"}, None, 403, "ForeignOrigin"),
        ({"ref": "spring", "url": "https://evil.example/"}, ORIGIN, 422, "LandingUrlNotAllowed"),
        ({"ref": "nobody", "url": "https://acme.test/"}, ORIGIN, 404, "UnknownReferral"),
        ({"ref": "<script>", "url": "https://acme.test/"}, ORIGIN, 404, "UnknownReferral"),
        ({"url": "https://acme.test/"}, ORIGIN, 422, "InvalidClick"),
        (b"{not json", ORIGIN, 400, "MalformedClick"),
    ],
    ids=[
        "a missing key is refused", "a wrong key is refused", "a foreign origin is refused",
        "a look-alike origin is refused", "a call without an origin is refused", "a landing url off the domains is refused",
        "an unknown ref is refused", "a ref that cannot be a code is refused", "a missing ref is invalid",
        "a body that is not json is malformed",
    ],
)  # fmt: skip
def test_bad_calls_are_a_clear_4xx_and_write_nothing(
    app: PartnerloopApp,
    client: TestClient,
    program: ProgramKeys,
    engine: Engine,
    body: Any,
    origin: str | None,
    status: int,
    error: str,
) -> None:
    make_link(client, program, key="spring")
    if isinstance(body, dict) and "key" not in body and status != 401:
        body = {**body, "key": program.publishable_key}
    response = post_click(client, body, origin)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert "access-control-allow-origin" not in response.headers
    assert app.runtime.click_buffer.pending == 0  # nothing accepted, so nothing will be written later
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Click)).scalar_one() == 0


def test_a_key_of_another_program_does_not_reach_this_programs_links(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    make_link(client, program, key="spring")
    origin = "https://" + "other.test"
    response = post_click(client, {"key": other_program.publishable_key, "ref": "spring", "url": origin + "/"}, origin)
    assert response.status_code in (403, 404), response.text


def test_preflight_answers_only_allowed_origins(client: TestClient, program: ProgramKeys) -> None:
    def preflight(origin: str) -> Any:
        return client.options(
            f"/api/v1/track/click?key={program.publishable_key}",
            headers={"origin": origin, "access-control-request-method": "POST"},
        )

    allowed = preflight(ORIGIN)
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    refused = preflight("https://evil.example")
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


def test_the_snippet_is_served_small_and_cacheable(client: TestClient) -> None:
    response = client.get("/js/partnerloop.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert "max-age=86400" in response.headers["cache-control"]
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert len(gzip.compress(response.content, 9)) < 4096
    assert client.get("/js/partnerloop.js", headers={"if-none-match": response.headers["etag"]}).status_code == 304


RULE_CASES = [
    ("an origin on an allowed domain may call", "https://acme.test", True),
    ("an origin on a subdomain may call", "http://www.acme.test:8080", True),
    ("a look-alike suffix may not call", "https://notacme.test", False),
    ("an opaque origin may not call", "null", False),
    ("no origin may not call", None, False),
    ("an origin with a path is not an origin", "https://acme.test/x", False),
]


@pytest.mark.parametrize(("origin", "allowed"), [case[1:] for case in RULE_CASES], ids=[c[0] for c in RULE_CASES])
def test_origin_allowed(origin: str | None, allowed: bool) -> None:
    assert origin_allowed(origin, ["acme.test"]) is allowed


def test_site_link_destination_and_ref_shape() -> None:
    assert site_link_destination("https://shop.acme.test:8443/p?ref=x#y") == "https://shop.acme.test:8443/"
    assert clean_ref(" pat-2_X ") == "pat-2_X"
    assert clean_ref("a b") is None
    assert clean_ref("") is None
