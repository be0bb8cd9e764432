"""The conversion rollups: reports read them for whole untouched days and the events for the rest, and
both give the same figures; a change after the last build shows at once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, update

from partnerloop.app import PartnerloopApp
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import ClickDayRollup, ClickRollup, ConversionRollup, Event, Program, RollupState
from partnerloop.report import clicks, service
from partnerloop.report.conversions import _ranges, refresh
from partnerloop.report.rules import Window
from tests.conftest import ProgramKeys
from tests.report.helpers import click, lead, sale, setup_plan, wait_for_link_clicks
from tests.tracking.helpers import make_link


def seed(app: PartnerloopApp, program: ProgramKeys) -> dict[str, Any]:
    """Clicks, leads, sales (two of them 3 and 10 days ago) and a refund, through the API; then the app
    (and its jobs) stops, so nothing rebuilds the rollups behind the test's back."""
    with TestClient(app, base_url="http://testserver") as client:
        setup_plan(client, program, rate_bps=1000, lead_amount=300)
        alpha = make_link(client, program, key="alpha")
        beta = make_link(client, program, key="beta")
        first, second = click(client, "alpha"), click(client, "beta")
        wait_for_link_clicks(client, program, alpha["id"], 1)
        wait_for_link_clicks(client, program, beta["id"], 1)
        lead(client, program, first, "cus_a")
        lead(client, program, second, "cus_b")
        sale(client, program, "cus_a", "in_1", 10000)
        sale(client, program, "cus_b", "in_2", 4000)
        sale(client, program, "cus_a", "in_old", 7000, occurred_at=(utc_now() - timedelta(days=3)).isoformat())
        sale(client, program, "cus_b", "in_older", 2500, occurred_at=(utc_now() - timedelta(days=10)).isoformat())
        refund = client.post(
            "/api/v1/track/refund", headers=program.headers, json={"invoice_id": "in_1", "amount": 3000}
        )
        assert refund.status_code in (200, 201), refund.text
        group = client.post("/api/v1/groups", headers=program.headers, json={"name": "Gold"}).json()
        client.patch(f"/api/v1/partners/{alpha['partner_id']}", headers=program.headers, json={"group_id": group["id"]})
        return {"alpha": alpha, "beta": beta, "group_id": group["id"]}


def reports(engine: Engine, program_id: str, group_id: str, now: datetime) -> list[Any]:
    """Every report over windows with whole and partial days, for everyone and for a group."""
    midnight = datetime.combine(now.date(), time.min, tzinfo=UTC)
    windows = [
        Window(midnight - timedelta(days=14), midnight + timedelta(days=1)),  # whole days only
        Window(now - timedelta(days=12, hours=5), now + timedelta(minutes=1)),  # partial first and last days
        Window(midnight - timedelta(days=3), midnight - timedelta(days=2)),
    ]  # one day in the past
    answers = []
    with transaction(engine, writes=False) as session:
        program = session.get(Program, program_id)
        assert program is not None
        for window in windows:
            for group in (None, group_id):
                answers.append(service.partners_report(session, program, window, group))
                answers.append(
                    service.timeseries_report(session, program, window, "net_revenue", "day", group_id=group)
                )
                answers.append(service.channels_report(session, program, window, "link", group))
                answers.append(service.channels_report(session, program, window, "source", group))
    return answers


def test_rollups_give_the_same_reports_as_the_events(app: PartnerloopApp, engine: Engine, program: ProgramKeys) -> None:
    seeded = seed(app, program)
    now = utc_now()
    raw = reports(engine, program.id, seeded["group_id"], now)  # no rollup built yet: every figure from the events
    assert raw[0]["totals"]["sales"] == 4 and raw[0]["totals"]["net_revenue_amount"] == 20500
    with transaction(engine) as session:
        # built as if 11 minutes from now: nothing is touched since, so whole days come from the rollups
        assert refresh(session, utc_now() + timedelta(minutes=11)) >= 3
        assert session.execute(select(func.count()).select_from(ConversionRollup)).scalar_one() > 0
    assert reports(engine, program.id, seeded["group_id"], now) == raw
    # the rollups are what is read: a change the build did not see is not in the whole days
    with transaction(engine) as session:
        session.execute(
            update(Event).where(Event.invoice_id == "in_older").values(program_amount=99_999, amount=99_999)
        )
    stale = reports(engine, program.id, seeded["group_id"], now)
    assert stale[0]["totals"]["revenue_amount"] == raw[0]["totals"]["revenue_amount"]
    # a build at the real time sees everything written in the last minutes as touched: all from the events
    with transaction(engine) as session:
        session.execute(delete(RollupState))
        refresh(session, utc_now())
    fresh = reports(engine, program.id, seeded["group_id"], now)
    assert fresh[0]["totals"]["revenue_amount"] == raw[0]["totals"]["revenue_amount"] - 2500 + 99_999


def test_a_sale_written_after_the_build_shows_at_once(
    app: PartnerloopApp, engine: Engine, program: ProgramKeys
) -> None:
    seed(app, program)
    with transaction(engine) as session:
        refresh(session, utc_now())
    with TestClient(app, base_url="http://testserver") as client:
        sale(client, program, "cus_a", "in_late", 1234, occurred_at=(utc_now() - timedelta(days=5)).isoformat())
        body = client.get("/api/v1/reports/partners", headers=program.headers, params={
            "from": (utc_now() - timedelta(days=14)).isoformat(), "to": utc_now().isoformat()}).json()  # fmt: skip
    assert body["totals"]["sales"] == 5 and body["totals"]["revenue_amount"] == 10000 + 4000 + 7000 + 2500 + 1234


def test_consecutive_days_make_runs() -> None:
    day = datetime(2026, 1, 1).date()
    days = [day, day + timedelta(days=1), day + timedelta(days=2), day + timedelta(days=5)]
    assert _ranges(days) == [(day, day + timedelta(days=2)), (day + timedelta(days=5), day + timedelta(days=5))]


def test_clicks_per_day_and_partner_give_the_same_reports_as_the_click_rollups(
    app: PartnerloopApp, engine: Engine, program: ProgramKeys
) -> None:
    seeded = seed(app, program)
    today = utc_now().date()
    with transaction(engine) as session:  # clicks of past days, as the click writer keeps them
        for link, days_ago, count in (("alpha", 3, 40), ("alpha", 10, 7), ("beta", 3, 5), ("beta", 20, 11)):
            session.add(ClickRollup(program_id=program.id, link_id=seeded[link]["id"],
                                    partner_id=seeded[link]["partner_id"], day=today - timedelta(days=days_ago),
                                    clicks=count, unique_clicks=count - 1, bot_clicks=1))  # fmt: skip
        session.execute(delete(RollupState).where(RollupState.name == clicks.ROLLUP))
    now = utc_now()
    raw = reports(engine, program.id, seeded["group_id"], now)  # nothing built: every click from click_rollups
    assert raw[0]["totals"]["clicks"] == 2 + 40 + 7 + 5
    with transaction(engine) as session:
        assert clicks.refresh(session, utc_now()) >= 5  # every day the first time: partners' and program's
        assert session.execute(select(func.count()).select_from(ClickDayRollup)).scalar_one() >= 5
    assert reports(engine, program.id, seeded["group_id"], now) == raw
    # the built days are what is read: a click rollup the build did not see is not in them, today's is
    with transaction(engine) as session:
        session.execute(update(ClickRollup).where(ClickRollup.day == today - timedelta(days=10)).values(clicks=1000))
        session.execute(update(ClickRollup).where(ClickRollup.day == today).values(clicks=ClickRollup.clicks + 1))
    stale = reports(engine, program.id, seeded["group_id"], now)
    assert stale[0]["totals"]["clicks"] == raw[0]["totals"]["clicks"] + 2
    # a later run rebuilds only the days since the previous one: the old day stays as it was built
    with transaction(engine) as session:
        clicks.refresh(session, utc_now())
    assert reports(engine, program.id, seeded["group_id"], now)[0]["totals"]["clicks"] == raw[0]["totals"]["clicks"] + 2
    with transaction(engine) as session:
        session.execute(delete(RollupState).where(RollupState.name == clicks.ROLLUP))
        clicks.refresh(session, utc_now())
    rebuilt = reports(engine, program.id, seeded["group_id"], now)
    assert rebuilt[0]["totals"]["clicks"] == raw[0]["totals"]["clicks"] + 2 - 7 + 1000
