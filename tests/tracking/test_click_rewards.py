"""Click rewards: the click writer (inline and the writer process) pays a plan's click rule for each unique
human click, in the batch's transaction, within the rule's daily caps per partner, once per click."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.app import create_app
from partnerloop.config import Settings
from partnerloop.tracking.batch import BatchWriter, PendingClick
from partnerloop.tracking.cache import LinkTarget
from partnerloop.tracking.click_writer import ClickWriterProcess
from tests.conftest import ProgramKeys, make_settings
from tests.tracking.helpers import CHROME_ON_WINDOWS, GOOGLEBOT, make_link, wait_for_clicks
from tests.tracking.test_click_writer import in_own_loop, target_of

DAY_S = 86_400.0


def click_plan(client: TestClient, program: ProgramKeys, amount: int = 25, caps: dict[str, Any] | None = None) -> str:
    """A default plan paying `amount` per click (and 10% of sales)."""
    rule: dict[str, Any] = {"event": "click", "reward": {"type": "flat", "amount": amount}}
    if caps is not None:
        rule["caps"] = caps
    rules = [rule, {"event": "sale", "reward": {"type": "percent", "rate_bps": 1000}}]
    response = client.post("/api/v1/plans", json={"name": "Clicks", "rules": rules}, headers=program.headers)
    assert response.status_code == 201, response.text
    plan_id = str(response.json()["id"])
    patched = client.patch("/api/v1/program", json={"default_plan_id": plan_id}, headers=program.headers)
    assert patched.status_code == 200, patched.text
    return plan_id


def commissions(client: TestClient, program: ProgramKeys, partner_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/commissions?partner_id={partner_id}&limit=100", headers=program.headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


def pending_amount(client: TestClient, program: ProgramKeys, partner_id: str) -> int:
    response = client.get(f"/api/v1/partners/{partner_id}/balance", headers=program.headers)
    assert response.status_code == 200, response.text
    usd = [row for row in response.json()["data"] if row["currency"] == "usd"]
    return int(usd[0]["pending_amount"]) if usd else 0


def go(client: TestClient, key: str, headers: dict[str, str]) -> str:
    """Follow the link as a visitor without the pl_cid cookie of earlier visits; the click id."""
    client.cookies.clear()
    redirect = client.get(f"/go/{key}", follow_redirects=False, headers=headers)
    assert redirect.status_code == 302, redirect.text
    return str(redirect.headers["location"]).rsplit("pl_cid=", 1)[1]


def visitor(number: int) -> dict[str, str]:
    """Headers of a distinct human visitor (the same address, another browser build)."""
    return {"user-agent": CHROME_ON_WINDOWS.replace("120.0.0.0", f"120.0.{number}.0")}


@pytest.fixture(params=["inline", "process"])
def each_writer_client(request: pytest.FixtureRequest, database_url: str) -> Iterator[TestClient]:
    """A client of an app whose clicks are written inline, then of one with the writer process."""
    settings = make_settings(database_url, click_writer=request.param)
    with TestClient(create_app(settings), client=("203.0.113.77", 51000)) as client:
        yield client


def test_a_unique_click_under_a_click_rule_earns_a_pending_commission(
    each_writer_client: TestClient, program: ProgramKeys
) -> None:
    client = each_writer_client
    click_plan(client, program, amount=25)
    link = make_link(client, program, key="paid")
    click_id = go(client, "paid", visitor(1))
    wait_for_clicks(client, program, link["id"], 1)
    [commission] = commissions(client, program, link["partner_id"])
    assert (commission["kind"], commission["status"], commission["earnings_amount"], commission["earnings_currency"]) == (
        "click", "pending", 25, "usd",
    )  # fmt: skip
    assert (commission["id"], commission["click_id"]) == (click_id[:26], click_id)  # the click's ULID: one per click
    assert commission["explanation"] == "0.25 USD per click under Clicks"
    assert pending_amount(client, program, link["partner_id"]) == 25


def test_a_bot_click_and_a_repeat_click_earn_nothing(each_writer_client: TestClient, program: ProgramKeys) -> None:
    client = each_writer_client
    click_plan(client, program, amount=25)
    link = make_link(client, program, key="picky")
    go(client, "picky", {"user-agent": GOOGLEBOT})
    go(client, "picky", visitor(1))
    wait_for_clicks(client, program, link["id"], 2)
    go(client, "picky", visitor(1))  # the same visitor again, in another batch
    wait_for_clicks(client, program, link["id"], 3)
    assert [row["earnings_amount"] for row in commissions(client, program, link["partner_id"])] == [25]
    assert pending_amount(client, program, link["partner_id"]) == 25


def test_a_partner_without_a_click_rule_earns_nothing_for_clicks(client: TestClient, program: ProgramKeys) -> None:
    response = client.post("/api/v1/plans", headers=program.headers, json={
        "name": "Sales", "rules": [{"event": "sale", "reward": {"type": "percent", "rate_bps": 1000}}],
    })  # fmt: skip
    client.patch("/api/v1/program", json={"default_plan_id": response.json()["id"]}, headers=program.headers)
    link = make_link(client, program, key="unpaid")
    go(client, "unpaid", visitor(1))
    wait_for_clicks(client, program, link["id"], 1)
    assert commissions(client, program, link["partner_id"]) == []


def test_the_daily_count_cap_stops_paying_after_n_clicks(each_writer_client: TestClient, program: ProgramKeys) -> None:
    client = each_writer_client
    click_plan(client, program, amount=25, caps={"per_day_count": 3})
    link = make_link(client, program, key="capped")
    for number in range(2):
        go(client, "capped", visitor(number))
    wait_for_clicks(client, program, link["id"], 2)
    for number in range(2, 6):  # a later batch: the day's first two count against it
        go(client, "capped", visitor(number))
    wait_for_clicks(client, program, link["id"], 6)
    assert [row["earnings_amount"] for row in commissions(client, program, link["partner_id"])] == [25, 25, 25]
    assert pending_amount(client, program, link["partner_id"]) == 75


def test_the_daily_amount_cap_pays_what_is_left_then_nothing(client: TestClient, program: ProgramKeys) -> None:
    click_plan(client, program, amount=25, caps={"per_day_amount": 60})
    link = make_link(client, program, key="amount")
    for number in range(4):
        go(client, "amount", visitor(number))
    wait_for_clicks(client, program, link["id"], 4)
    rows = sorted(commissions(client, program, link["partner_id"]), key=lambda row: -row["earnings_amount"])
    assert [row["earnings_amount"] for row in rows] == [25, 25, 10]
    assert rows[2]["explanation"].endswith("capped at 0.60 USD of clicks per day (0.50 USD earned from clicks today "
                                           "before): 0.10 USD")  # fmt: skip
    assert pending_amount(client, program, link["partner_id"]) == 60


def pending(target: LinkTarget, number: int, at: float, agent: str = CHROME_ON_WINDOWS) -> PendingClick:
    """A click as the redirect hands it to the buffer, from a visitor of its own."""
    return (f"01jd{number:022d}".encode(), target, at, "198.51.100.9", f"{agent} n{number}".encode(), b"", b"")


def test_caps_count_per_utc_day(client: TestClient, program: ProgramKeys, engine: Engine, settings: Settings) -> None:
    click_plan(client, program, amount=25, caps={"per_day_count": 2})
    link = make_link(client, program, key="days")
    target = target_of(engine, settings, "days")
    today = time.time() // DAY_S * DAY_S + 60
    batch = [pending(target, number, today - DAY_S + number) for number in range(3)]
    batch += [pending(target, number, today + number) for number in range(3, 6)]
    assert BatchWriter(engine).write(batch, skip_stored=False) == 6
    paid = sorted(row["id"] for row in commissions(client, program, link["partner_id"]))
    assert paid == [f"01jd{number:022d}" for number in (0, 1, 3, 4)]


def test_the_same_batch_written_twice_pays_once(client: TestClient, program: ProgramKeys, engine: Engine,
                                                settings: Settings) -> None:  # fmt: skip
    click_plan(client, program, amount=25)
    link = make_link(client, program, key="twice")
    target = target_of(engine, settings, "twice")
    batch = [pending(target, number, time.time()) for number in range(4)]
    assert BatchWriter(engine).write(batch, skip_stored=False) == 4
    assert BatchWriter(engine).write(batch, skip_stored=True) == 0  # a retry after an unknown outcome
    assert len(commissions(client, program, link["partner_id"])) == 4
    assert pending_amount(client, program, link["partner_id"]) == 100


def test_the_writer_process_pays_a_batch_sent_twice_once(
    program: ProgramKeys, engine: Engine, database_url: str
) -> None:
    settings: Settings = make_settings(database_url, click_writer="process")
    with TestClient(create_app(settings)) as client:
        click_plan(client, program, amount=25)
        link = make_link(client, program, key="again")
        target = target_of(engine, settings, "again")
        batch = [pending(target, number, time.time()) for number in range(3)]

        async def write_twice() -> tuple[int, int]:
            process = ClickWriterProcess(settings)
            await process.start()
            try:
                return await process.write(batch, skip_stored=False), await process.write(batch, skip_stored=True)
            finally:
                await process.stop()

        assert in_own_loop(write_twice()) == (3, 0)
        assert [row["earnings_amount"] for row in commissions(client, program, link["partner_id"])] == [25, 25, 25]
        assert pending_amount(client, program, link["partner_id"]) == 75


def test_concurrent_writers_never_pay_past_the_daily_cap(
    client: TestClient, program: ProgramKeys, engine: Engine, settings: Settings, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("SQLite: one click writer per server process; several workers can overshoot by a batch each")
    click_plan(client, program, amount=25, caps={"per_day_count": 5})
    link = make_link(client, program, key="race")
    target = target_of(engine, settings, "race")
    now = time.time()
    writers = 4
    barrier = threading.Barrier(writers)

    def write(index: int) -> int:
        batch = [pending(target, index * 100 + number, now) for number in range(4)]
        barrier.wait(timeout=10)
        return BatchWriter(engine).write(batch, skip_stored=False)

    with ThreadPoolExecutor(writers) as pool:
        assert sum(pool.map(write, range(writers))) == 16
    assert len(commissions(client, program, link["partner_id"])) == 5
    assert pending_amount(client, program, link["partner_id"]) == 125
