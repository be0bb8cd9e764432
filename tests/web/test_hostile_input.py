"""Hostile input (issue 11 item 4): every one is a clear 4xx in the error shape, or a success that later
requests survive, never a 500 or a dropped connection, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys

BIG = 2**40  # beyond a 32-bit INTEGER column


def _no_server_error(answer: Any) -> None:
    assert answer.status_code < 500, f"{answer.status_code}: {answer.text}"
    if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith("application/json"):
        body = answer.json()
        assert set(body) == {"error", "detail"}, body


def _partner(client: TestClient, program: ProgramKeys) -> str:
    answer = client.post("/api/v1/partners", json={"email": "ada@example.com", "name": "Ada"}, headers=program.headers)
    assert answer.status_code == 201, answer.text
    partner_id: str = answer.json()["id"]
    return partner_id


def _link(client: TestClient, program: ProgramKeys) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/links",
        json={"partner_id": _partner(client, program), "destination_url": "https://acme.test/pricing"},
        headers=program.headers,
    )
    assert answer.status_code == 201, answer.text
    link: dict[str, Any] = answer.json()
    return link


MALFORMED_URLS = [
    pytest.param("http://[acme.test/", id="an unclosed bracket"),
    pytest.param("http://acme.test]/", id="a closing bracket"),
    pytest.param("http://[::1]/", id="an IPv6 literal"),
    pytest.param("http://[v1.fe80::a+en1]/", id="an IPvFuture literal"),
    pytest.param("https://acme.test\uff0fevil.example/", id="a fullwidth solidus"),
    pytest.param("https://evil.example\u2024acme.test/", id="a one-dot leader"),
    pytest.param("https://acme.test:99999/", id="a port out of range"),
    pytest.param("https://acme.test:x/", id="a port that is no number"),
    pytest.param("https://acme.test/\x01", id="a control character in the path"),
    pytest.param("https://acme.test/\x7f", id="DEL in the path"),
    pytest.param("https://acme.test/a\u2028b", id="a line separator in the path"),
    pytest.param("https://acme.test/a\u200bb", id="a zero-width space in the path"),
    pytest.param("https://acme.test/?q=\r\nSet-Cookie:x=1", id="CR LF in the query"),
    pytest.param("https://acme.test/#\x00", id="NUL in the fragment"),
]


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_link_destination_is_422(client: TestClient, program: ProgramKeys, url: str) -> None:
    answer = client.post(
        "/api/v1/links",
        json={"partner_id": _partner(client, program), "destination_url": url},
        headers=program.headers,
    )
    _no_server_error(answer)
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_link_change_is_422(client: TestClient, program: ProgramKeys, url: str) -> None:
    link = _link(client, program)
    answer = client.patch(f"/api/v1/links/{link['id']}", json={"destination_url": url}, headers=program.headers)
    _no_server_error(answer)
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_fallback_url_is_422(client: TestClient, program: ProgramKeys, url: str) -> None:
    answer = client.patch("/api/v1/program", json={"fallback_url": url}, headers=program.headers)
    _no_server_error(answer)
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_webhook_url_is_422(client: TestClient, program: ProgramKeys, url: str) -> None:
    answer = client.post("/api/v1/webhook-endpoints", json={"url": url}, headers=program.headers)
    _no_server_error(answer)
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize(
    "to",
    [
        "http://[acme.test/",
        "http://acme.test]/",
        "http://[::1]/",
        "https://acme.test\uff0fevil.example/",
        "https://acme.test:99999/",
        "https://acme.test/%01",
        "https://acme.test/\x01",
        "%ff%fe",
    ],
)
def test_a_malformed_deep_link_needs_no_login_and_is_no_500(client: TestClient, program: ProgramKeys, to: str) -> None:
    link = _link(client, program)
    answer = client.get(f"/go/{link['key']}", params={"to": to}, follow_redirects=False)
    assert answer.status_code < 500, answer.text
    if answer.status_code in (301, 302, 303, 307, 308):
        assert answer.headers["location"].startswith("https://acme.test/")


@pytest.mark.parametrize(
    "next_url",
    ["http://[acme.test/", "//[::1]/", "/\\evil.example", "/ok\x01", "/%00", "http://a]b", "\uff0f\uff0fevil.example"],
)
def test_a_malformed_login_next_is_no_500(client: TestClient, engine: Any, next_url: str) -> None:
    form = client.get("/login", params={"next": next_url})
    assert form.status_code == 200, form.text
    done = client.get("/manage", params={"next": next_url}, follow_redirects=False)
    assert done.status_code < 500


@pytest.mark.parametrize("field", ["allowed_domains", "link_params", "link_domains", "name", "currency"])
def test_null_for_a_list_setting_is_a_4xx(client: TestClient, program: ProgramKeys, field: str) -> None:
    answer = client.patch("/api/v1/program", json={field: None}, headers=program.headers)
    _no_server_error(answer)
    link = client.post(
        "/api/v1/links",
        json={"partner_id": _partner(client, program), "destination_url": "https://acme.test/"},
        headers=program.headers,
    )
    assert link.status_code == 201, link.text


@pytest.mark.parametrize(
    "items",
    [[None], ["acme.test", None], [""], ["[::1]"], ["http://[acme.test"], ["acme.test]"], [1], [{"a": 1}]],
)
def test_odd_items_in_allowed_domains_are_422(client: TestClient, program: ProgramKeys, items: list[Any]) -> None:
    for field in ("allowed_domains", "link_params", "link_domains"):
        answer = client.patch("/api/v1/program", json={field: items}, headers=program.headers)
        _no_server_error(answer)


def _plan(client: TestClient, program: ProgramKeys) -> str:
    answer = client.post(
        "/api/v1/plans",
        json={"name": "P", "rules": [{"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}}]},
        headers=program.headers,
    )
    assert answer.status_code == 201, answer.text
    plan_id: str = answer.json()["id"]
    return plan_id


@pytest.mark.parametrize(
    "window",
    [
        {"from": "0001-01-01", "to": "0001-01-02"},
        {"from": "0001-01-01", "to": "2026-01-01"},
        {"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z"},
        {"from": "0001-01-01T00:00:00+14:00", "to": "0001-01-02T00:00:00+14:00"},
        {"from": "9999-12-31", "to": "9999-12-31"},
        {"from": "9999-12-31T23:59:59-12:00", "to": "9999-12-31T23:59:59-12:00"},
        {"from": "2026-01-02", "to": "2026-01-01"},
    ],
)
def test_a_simulation_at_the_ends_of_time_is_no_500(
    client: TestClient, program: ProgramKeys, window: dict[str, str]
) -> None:
    answer = client.post(f"/api/v1/plans/{_plan(client, program)}/simulate", json=window, headers=program.headers)
    _no_server_error(answer)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/partners/a%00b"),
        ("GET", "/api/v1/partners?cursor=%00"),
        ("GET", "/api/v1/partners?email=a%00b"),
        ("GET", "/api/v1/partners?status=a%00b"),
        ("GET", "/api/v1/links?partner_id=%00"),
        ("GET", "/api/v1/commissions?partner_id=%00"),
        ("GET", "/api/v1/links/%00"),
        ("GET", "/api/v1/fx-rates/latest?base=us%00&quote=eur&on=2026-01-01"),
        ("POST", "/api/v1/partners/%00/approve"),
        ("GET", "/go/%00"),
        ("GET", "/apply/%00"),
        ("GET", "/login?next=%00"),
    ],
)
def test_a_nul_in_a_path_or_query_is_no_500(client: TestClient, program: ProgramKeys, method: str, path: str) -> None:
    answer = client.request(method, path, headers=program.headers, follow_redirects=False)
    _no_server_error(answer)


def test_a_nul_in_a_form_field_is_no_500(client: TestClient, program: ProgramKeys) -> None:
    answer = client.post("/login", data={"email": "a\x00@b.test", "password": "x"})
    assert answer.status_code < 500


@pytest.mark.parametrize(
    ("field", "value"),
    [("min_payout_amount", 2**31), ("min_payout_amount", BIG), ("min_payout_amount", 2**63), ("cookie_days", BIG)],
)
def test_a_setting_beyond_32_bits_is_stored_or_refused(
    client: TestClient, program: ProgramKeys, field: str, value: int
) -> None:
    answer = client.patch("/api/v1/program", json={field: value}, headers=program.headers)
    _no_server_error(answer)
    if answer.status_code == 200:
        assert client.get("/api/v1/program", headers=program.headers).json()[field] == value


def test_a_sale_beyond_32_bits_is_recorded(client: TestClient, program: ProgramKeys) -> None:
    partner_id = _partner(client, program)
    lead = client.post(
        "/api/v1/track/lead",
        json={"referral_code": client.get(f"/api/v1/partners/{partner_id}", headers=program.headers).json()[
            "referral_code"], "customer_external_id": "c1"},
        headers=program.headers,
    )  # fmt: skip
    assert lead.status_code < 300, lead.text
    for amount in (2**31, BIG, 10**13, 10**13 + 1, 2**63, 2**64):
        answer = client.post(
            "/api/v1/track/sale",
            json={"customer_external_id": "c1", "amount": amount, "currency": "usd", "invoice_id": f"in_{amount}"},
            headers=program.headers,
        )
        _no_server_error(answer)
    balance = client.get(f"/api/v1/partners/{partner_id}/balance", headers=program.headers)
    assert balance.status_code == 200, balance.text
    runs = client.post("/api/v1/payouts/runs", json={"preview": True}, headers=program.headers)
    _no_server_error(runs)


@pytest.mark.parametrize("rate", ["1e999999", 1e308, "1e308", "1e-999999", "0", "-1", "nan", "inf", "1" * 61])
def test_an_absurd_exchange_rate_is_bounded_and_later_sales_go_through(
    client: TestClient, program: ProgramKeys, rate: Any
) -> None:
    answer = client.post(
        "/api/v1/fx-rates",
        json={"date": "2026-01-01", "base": "eur", "quote": "usd", "rate": rate},
        headers=program.headers,
    )
    _no_server_error(answer)
    partner_id = _partner(client, program)
    code = client.get(f"/api/v1/partners/{partner_id}", headers=program.headers).json()["referral_code"]
    client.post("/api/v1/track/lead", json={"referral_code": code, "customer_external_id": "c1"},
                headers=program.headers)  # fmt: skip
    sale = client.post(
        "/api/v1/track/sale",
        json={"customer_external_id": "c1", "amount": 10_000, "currency": "eur", "invoice_id": "in_1"},
        headers=program.headers,
    )
    _no_server_error(sale)
    latest = client.get("/api/v1/fx-rates/latest?base=eur&quote=usd&on=2026-02-01", headers=program.headers)
    _no_server_error(latest)
    listed = client.get("/api/v1/fx-rates", headers=program.headers)
    assert listed.status_code == 200, listed.text


def test_a_raw_json_number_rate_of_1e999999_is_no_500(client: TestClient, program: ProgramKeys) -> None:
    body = b'{"date": "2026-01-01", "base": "eur", "quote": "usd", "rate": 1e999999}'
    answer = client.post(
        "/api/v1/fx-rates", content=body, headers={**program.headers, "content-type": "application/json"}
    )
    _no_server_error(answer)
    assert answer.status_code == 422, answer.text


def test_an_absurd_rate_in_a_csv_import_is_no_500(client: TestClient, program: ProgramKeys) -> None:
    body = "date,base,quote,rate\n2026-01-01,eur,usd,1e999999\n"
    answer = client.post(
        "/api/v1/fx-rates/import", content=body, headers={**program.headers, "content-type": "text/csv"}
    )
    _no_server_error(answer)
    assert answer.status_code == 422, answer.text


def test_thresholds_beyond_32_bits(client: TestClient, program: ProgramKeys) -> None:
    plan = client.post(
        "/api/v1/plans",
        json={
            "name": "Big",
            "rules": [{"event": "sale", "reward": {"type": "flat", "amount": 10**12},
                       "tiers": {"metric": "revenue", "period": "month", "levels": [
                           {"min": 0, "reward": {"type": "flat", "amount": 1}},
                           {"min": 10**15, "reward": {"type": "flat", "amount": 10**12}}]}}],
            "bonuses": [{"name": "B", "metric": "revenue", "period": "month", "threshold": 10**15, "amount": 10**12}],
        },
        headers=program.headers,
    )  # fmt: skip
    _no_server_error(plan)
    answer = client.patch("/api/v1/alerts/settings", json={"click_spike_factor": BIG}, headers=program.headers)
    _no_server_error(answer)
    answer = client.patch("/api/v1/engagement/settings", json={"tiers": [{"threshold": BIG}]}, headers=program.headers)
    _no_server_error(answer)


def test_a_conversion_beyond_the_largest_amount_is_422_and_the_next_sale_goes_through(
    client: TestClient, program: ProgramKeys
) -> None:
    recorded = client.post(
        "/api/v1/fx-rates",
        json={"date": "2026-01-01", "base": "eur", "quote": "usd", "rate": "1000000000000"},
        headers=program.headers,
    )
    assert recorded.status_code == 201, recorded.text
    partner_id = _partner(client, program)
    code = client.get(f"/api/v1/partners/{partner_id}", headers=program.headers).json()["referral_code"]
    client.post("/api/v1/track/lead", json={"referral_code": code, "customer_external_id": "c1"},
                headers=program.headers)  # fmt: skip
    huge = client.post(
        "/api/v1/track/sale",
        json={"customer_external_id": "c1", "amount": 10**13, "currency": "eur", "invoice_id": "in_huge"},
        headers=program.headers,
    )
    assert huge.status_code == 422, huge.text
    assert huge.json()["error"] == "ConvertedAmountOutOfRange"
    small = client.post(
        "/api/v1/track/sale",
        json={"customer_external_id": "c1", "amount": 1, "currency": "eur", "invoice_id": "in_small"},
        headers=program.headers,
    )
    assert small.status_code == 200, small.text
    assert small.json()["sale"]["amount"] == 1


@pytest.mark.parametrize("suffix", ["partners", "channels", "partners.csv"])
def test_a_report_from_year_1_is_no_500(client: TestClient, program: ProgramKeys, suffix: str) -> None:
    answer = client.get(f"/api/v1/reports/{suffix}?from=0001-01-01&to=0001-12-31", headers=program.headers)
    _no_server_error(answer)


@pytest.mark.parametrize(
    "window",
    [
        {"from": "0001-01-01T00:00:00Z", "until": "9999-12-31T00:00:00Z"},
        {"from": "0001-01-01T00:00:00+14:00", "until": "9999-12-31T00:00:00Z"},
        {"from": "2026-01-01T00:00:00Z", "until": "9999-12-31T23:59:59-12:00"},
    ],
)
def test_a_campaign_at_the_ends_of_time_is_no_500(
    client: TestClient, program: ProgramKeys, window: dict[str, str]
) -> None:
    answer = client.post("/api/v1/campaigns", json={"name": "Forever", **window}, headers=program.headers)
    _no_server_error(answer)
    listed = client.get("/api/v1/campaigns", headers=program.headers)
    assert listed.status_code == 200, listed.text


def test_a_blank_idempotency_key_is_declared_and_refused(client: TestClient, program: ProgramKeys) -> None:
    declared = client.get("/openapi.json").json()["components"]["parameters"]["IdempotencyKey"]["schema"]
    assert declared["minLength"] == 1
    answer = client.post("/api/v1/partners", json={"email": "a@b.test", "name": "A"},
                         headers={**program.headers, "Idempotency-Key": " "})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"] == "InvalidIdempotencyKey"


def test_a_body_that_is_not_utf8_is_malformed_json(client: TestClient, program: ProgramKeys) -> None:
    answer = client.post(
        "/api/v1/partners",
        content=b"\xcf\xdd;\x18\xeeT",
        headers={**program.headers, "content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "MalformedJSON"
