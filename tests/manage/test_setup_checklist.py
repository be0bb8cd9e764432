"""First run: a new program's overview shows a setup checklist that ticks itself as things get done, and a
program created from the dashboard (or the CLI) starts with a default plan it can edit."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.models import Plan, Program
from tests.conftest import ProgramKeys
from tests.manage.factories import as_owner, convert, form_post, make_partner, make_plan


def _steps(client: TestClient) -> dict[str, str]:
    page = client.get("/manage")
    assert page.status_code == 200, page.text
    return {key: state for state, key in re.findall(r'<li class="(done|todo)" data-step="(\w+)"', page.text)}


def test_the_checklist_ticks_itself_and_goes_once_all_is_done(client: TestClient, program: ProgramKeys) -> None:
    as_owner(client)
    assert _steps(client) == {"currency": "done", "plan": "todo", "domains": "done", "tracking": "todo",
                              "application": "todo", "partner": "todo"}  # fmt: skip
    assert "2 of 6 done" in client.get("/manage").text

    make_plan(client, program)  # the program's default
    partner = make_partner(client, program, status="approved")
    assert _steps(client)["plan"] == "done" and _steps(client)["partner"] == "done"
    convert(client, program, partner["referral_code"], "cus_1", 4900, "in_1")
    assert _steps(client)["tracking"] == "done"
    saved = form_post(client, "/manage/application", "/manage/application",
                      {"is_open": "1", "headline": "Earn with Acme", "brand_color": "#1d4ed8"})  # fmt: skip
    assert saved.status_code == 303, saved.text
    page = client.get("/manage")
    assert _steps(client) == {} and "data-setup" not in page.text  # all done: the checklist is gone


def test_a_program_made_in_the_dashboard_starts_with_a_default_plan(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    as_owner(client)
    made = form_post(client, "/manage/programs/new", "/manage/programs",
                     {"name": "Acme Two", "kind": "affiliate", "domain": "two.acme.test", "currency": "usd"})  # fmt: skip
    assert made.status_code == 201, made.text
    with transaction(engine, writes=False) as session:
        created = session.execute(select(Program).where(Program.name == "Acme Two")).scalar_one()
        plan = session.get_one(Plan, created.default_plan_id)
    assert plan.program_id == created.id and plan.name == "Standard"
    assert plan.rules[0]["reward"] == {"type": "percent", "rate_bps": 2000}
    assert plan.rules[0]["duration"] == {"kind": "months", "months": 12}
    switched = client.get("/manage", params={"program": created.id})
    assert 'data-step="plan"' in switched.text and '<li class="done" data-step="plan">' in switched.text
