"""Channels by device, country and referrer host: clicks from their rollups (each click taken in once),
conversions by the click that credited them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.app import PartnerloopApp
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.report.dimensions import add_new_clicks, referrer_host
from tests.conftest import ProgramKeys
from tests.report.helpers import lead, sale, setup_plan, wait_for_link_clicks
from tests.tracking.helpers import CHROME_ON_WINDOWS, SAFARI_ON_IPHONE, make_link


@pytest.mark.parametrize(
    ("referrer", "host"),
    [
        pytest.param("https://www.Blog.example/post?x=1", "blog.example", id="lower-cased without www"),
        pytest.param(None, "", id="no referrer"),
        pytest.param("not a url", "", id="not a URL"),
        pytest.param("http://[::1", "", id="a broken URL"),
    ],
)
def test_referrer_host(referrer: str | None, host: str) -> None:
    assert referrer_host(referrer) == host


def visit(client: TestClient, key: str, agent: str, referrer: str, country: str) -> str:
    client.cookies.clear()
    response = client.get(f"/go/{key}", headers={"user-agent": agent, "referer": referrer, "cf-ipcountry": country},
                          follow_redirects=False)  # fmt: skip
    assert response.status_code == 302, response.text
    return response.headers["location"].split("pl_cid=")[1]


def test_channels_by_device_country_and_referrer(app: PartnerloopApp, engine: Engine, program: ProgramKeys) -> None:
    with TestClient(app, base_url="http://testserver") as client:
        setup_plan(client, program, rate_bps=1000)
        link = make_link(client, program, key="spring")
        phone = visit(client, "spring", SAFARI_ON_IPHONE, "https://www.blog.example/review", "DE")
        visit(client, "spring", SAFARI_ON_IPHONE, "https://blog.example/other", "DE")
        visit(client, "spring", CHROME_ON_WINDOWS, "https://news.example/", "US")
        wait_for_link_clicks(client, program, link["id"], 3)
        lead(client, program, phone, "cus_phone")
        sale(client, program, "cus_phone", "in_phone", 20000)
    with transaction(engine) as session:
        assert add_new_clicks(session, utc_now() + timedelta(minutes=3)) == 3
    with transaction(engine) as session:
        assert add_new_clicks(session, utc_now() + timedelta(minutes=3)) == 0  # each click once
    with TestClient(app, base_url="http://testserver") as client:
        window = {
            "from": (utc_now() - timedelta(days=1)).isoformat(),
            "to": (utc_now() + timedelta(hours=1)).isoformat(),
        }

        def channels(by: str) -> dict[str, dict[str, object]]:
            response = client.get("/api/v1/reports/channels", headers=program.headers, params={**window, "by": by})
            assert response.status_code == 200, response.text
            return {row["channel"]: row for row in response.json()["data"]}

        hosts = channels("referrer_host")
        assert (hosts["blog.example"]["clicks"], hosts["blog.example"]["sales"]) == (2, 1)
        assert hosts["blog.example"]["revenue_amount"] == 20000 and hosts["blog.example"]["commissions_amount"] == 2000
        assert hosts["blog.example"]["new_customers"] == 1
        assert (hosts["news.example"]["clicks"], hosts["news.example"]["sales"]) == (1, 0)
        countries = channels("country")
        assert countries["de"]["clicks"] == 2 and countries["us"]["clicks"] == 1 and countries["de"]["sales"] == 1
        devices = channels("device")
        assert sum(int(row["clicks"]) for row in devices.values()) == 3  # type: ignore[call-overload]
        assert any(row["sales"] == 1 for row in devices.values())
        assert client.get("/api/v1/reports/channels.csv", headers=program.headers,
                          params={**window, "by": "country"}).text.startswith("channel,")  # fmt: skip
