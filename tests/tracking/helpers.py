"""Helpers for the tracking tests: partners and links made through the API, waiting for the flusher."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.models import Click, ClickRollup
from tests.conftest import ProgramKeys

T = TypeVar("T")

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def make_partner(client: TestClient, program: ProgramKeys, email: str | None = None) -> str:
    email = email or f"pat-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post("/api/v1/partners", json={"email": email, "name": "Pat"}, headers=program.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def make_link(
    client: TestClient,
    program: ProgramKeys,
    destination: str = "https://acme.test/pricing",
    key: str | None = None,
    partner_id: str | None = None,
) -> dict[str, Any]:
    partner_id = partner_id or make_partner(client, program)
    body: dict[str, Any] = {"partner_id": partner_id, "destination_url": destination}
    if key is not None:
        body["key"] = key
    response = client.post("/api/v1/links", json=body, headers=program.headers)
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


def eventually(check: Callable[[], T | None], timeout: float = 3.0, interval: float = 0.02) -> T:
    """The first truthy result of `check`, polled until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still {result!r} after {timeout} s")
        time.sleep(interval)


def api_clicks(client: TestClient, program: ProgramKeys, link_id: str) -> int:
    """The link's click count as the API shows it (a sum of the daily rollups)."""
    response = client.get(f"/api/v1/links/{link_id}", headers=program.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["clicks"])


def wait_for_clicks(client: TestClient, program: ProgramKeys, link_id: str, expected: int) -> None:
    eventually(lambda: api_clicks(client, program, link_id) >= expected)
    assert api_clicks(client, program, link_id) == expected


def stored_clicks(engine: Engine, link_id: str) -> list[Click]:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return list(session.execute(select(Click).where(Click.link_id == link_id).order_by(Click.id)).scalars())


def rollup_totals(engine: Engine, link_id: str) -> tuple[int, int]:
    """(clicks, bot_clicks) summed over the link's rollup rows."""
    with engine.connect() as connection:
        row = connection.execute(
            select(
                func.coalesce(func.sum(ClickRollup.clicks), 0), func.coalesce(func.sum(ClickRollup.bot_clicks), 0)
            ).where(ClickRollup.link_id == link_id)
        ).one()
    return int(row[0]), int(row[1])
