"""POST /api/v1/plans/{id}/simulate and `partnerloop plan simulate`: a window of past events replayed
under a proposed plan beside the commissions recorded; nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from partnerloop.cli import cli
from partnerloop.db import transaction
from partnerloop.models import Base
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys, make_settings

STANDARD = [
    {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "duration": {"kind": "lifetime"}},
    {"event": "lead", "reward": {"type": "flat", "amount": 500}},
]
PROPOSED = [
    {"event": "sale", "reward": {"type": "percent", "rate_bps": 2500}, "duration": {"kind": "lifetime"}},
    {"event": "lead", "reward": {"type": "flat", "amount": 300}},
]


def post(client: TestClient, program: ProgramKeys, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=program.headers)
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


def history(client: TestClient, program: ProgramKeys) -> dict[str, str]:
    """Jane's customer buys 100.00 in January and February 2025; Bob's buys 50.00 in January and gets
    25.00 back. Both signed up in January. Returns the partner ids."""
    make_plan(client, program, rules=STANDARD)
    jane = make_partner(client, program, name="Jane", referral_code="JANE")
    bob = make_partner(client, program, name="Bob", referral_code="BOB")
    for customer, code, day in (("c1", "JANE", "02"), ("c2", "BOB", "03")):
        lead = {"customer_external_id": customer, "referral_code": code, "occurred_at": f"2025-01-{day}T10:00:00Z"}
        post(client, program, "/api/v1/track/lead", lead)
    for customer, invoice, amount, at in (
        ("c1", "in_1", 10_000, "2025-01-05T10:00:00Z"),
        ("c1", "in_2", 10_000, "2025-02-05T10:00:00Z"),
        ("c2", "in_3", 5_000, "2025-01-10T10:00:00Z"),
    ):
        sale = {"customer_external_id": customer, "amount": amount, "currency": "usd", "invoice_id": invoice,
                "occurred_at": at}  # fmt: skip
        post(client, program, "/api/v1/track/sale", sale)
    post(client, program, "/api/v1/track/refund",
         {"invoice_id": "in_3", "amount": 2_500, "occurred_at": "2025-01-12T10:00:00Z"})  # fmt: skip
    return {"jane": jane["id"], "bob": bob["id"]}


# Kept by the running app's jobs, whatever a request does: the report rollups' bookkeeping, and the
# notices (jobs, and the emails kept without SMTP) that the setup's own events queue and finish meanwhile.
BACKGROUND_TABLES = {"rollup_state", "jobs", "dev_emails"}


def row_counts(engine: Engine) -> dict[str, int]:
    with transaction(engine, writes=False) as session:
        return {
            table.name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
            for table in Base.metadata.sorted_tables
            if table.name not in BACKGROUND_TABLES
        }


def test_simulation_compares_a_proposed_plan_with_the_commissions_recorded(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    partners = history(client, program)
    proposed = post(client, program, "/api/v1/plans", {"name": "Proposed", "rules": PROPOSED})
    before = row_counts(engine)

    answer = post(
        client, program, f"/api/v1/plans/{proposed['id']}/simulate", {"from": "2025-01-01", "to": "2025-01-31"}
    )

    assert row_counts(engine) == before  # a simulation writes nothing
    assert (answer["from"], answer["to"]) == ("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z")
    assert (answer["plan_name"], answer["currency"], answer["leads"], answer["sales"]) == ("Proposed", "usd", 2, 2)
    assert answer["revenue_amount"] == 10_000 + 5_000 - 2_500
    # now: leads 2 x 5.00, 20% of 100.00, 20% of 50.00 less the refund's half; proposed: 3.00 and 25%
    assert answer["current"] == {"commissions_amount": 3_500, "roi": "3.57", "effective_rate_bps": 2_800}
    assert answer["proposed"] == {"commissions_amount": 3_725, "roi": "3.36", "effective_rate_bps": 2_980}
    assert answer["difference_amount"] == 225
    by_partner = {row["partner_id"]: row for row in answer["partners"]}
    jane, bob = by_partner[partners["jane"]], by_partner[partners["bob"]]
    assert (jane["current_amount"], jane["proposed_amount"], jane["difference_amount"]) == (2_500, 2_800, 300)
    assert (jane["customers"], jane["average_clv_amount"], jane["revenue_amount"]) == (1, 10_000, 10_000)
    assert (jane["current_share_of_clv_bps"], jane["proposed_share_of_clv_bps"]) == (2_500, 2_800)
    assert (bob["current_amount"], bob["proposed_amount"]) == (1_000, 925)
    assert (bob["customers"], bob["average_clv_amount"]) == (1, 2_500)
    assert (bob["current_share_of_clv_bps"], bob["proposed_share_of_clv_bps"]) == (4_000, 3_700)
    assert [row["name"] for row in answer["partners"]] == ["Jane", "Bob"]


def test_simulating_the_plan_in_force_reproduces_the_recorded_commissions(
    client: TestClient, program: ProgramKeys
) -> None:
    history(client, program)
    standard_id = client.get("/api/v1/program", headers=program.headers).json()["default_plan_id"]
    answer = post(client, program, f"/api/v1/plans/{standard_id}/simulate", {"from": "2025-01-01", "to": "2025-03-01"})
    assert answer["current"] == answer["proposed"]
    assert answer["difference_amount"] == 0
    assert all(row["difference_amount"] == 0 for row in answer["partners"])


def test_tier_volume_before_the_window_counts(client: TestClient, program: ProgramKeys) -> None:
    history(client, program)
    tiered = post(client, program, "/api/v1/plans", {"name": "Tiered", "rules": [{
        "event": "sale", "reward": {"type": "percent", "rate_bps": 1000}, "duration": {"kind": "lifetime"},
        "tiers": {"metric": "sales_count", "period": "lifetime",
                  "levels": [{"min": 0, "reward": {"type": "percent", "rate_bps": 1000}},
                             {"min": 1, "reward": {"type": "percent", "rate_bps": 5000}}]},
    }], "bonuses": [{"name": "Two", "metric": "sales_count", "period": "year", "threshold": 2, "amount": 700}]})  # fmt: skip
    answer = post(client, program, f"/api/v1/plans/{tiered['id']}/simulate", {"from": "2025-02-01", "to": "2025-02-28"})
    [jane] = answer["partners"]
    # Jane's January sale puts her February sale in tier 2 (50%) and reaches the yearly bonus of two sales
    assert (jane["sales"], jane["proposed_amount"], jane["current_amount"]) == (1, 5_000 + 700, 2_000)


BAD_WINDOWS = [
    pytest.param({"from": "2025-02-01", "to": "2025-01-01"}, 422, "InvalidWindow", id="from after to"),
    pytest.param({"from": "2020-01-01", "to": "2025-01-01"}, 422, "InvalidWindow", id="more than three years"),
    pytest.param({"from": "yesterday", "to": "2025-01-01"}, 422, "ValidationError", id="a from that is not a date"),
    pytest.param({"to": "2025-01-01"}, 422, "ValidationError", id="no from"),
    pytest.param({"from": "2025-01-01", "to": "2025-01-02", "x": 1}, 422, "ValidationError", id="an unknown field"),
]


@pytest.mark.parametrize(("body", "status", "error"), BAD_WINDOWS)
def test_bad_window_is_refused(
    client: TestClient, engine: Engine, program: ProgramKeys, body: dict[str, Any], status: int, error: str
) -> None:
    plan_id = make_plan(client, program, rules=STANDARD)
    before = row_counts(engine)
    response = client.post(f"/api/v1/plans/{plan_id}/simulate", json=body, headers=program.headers)
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert row_counts(engine) == before


def test_simulating_another_programs_plan_is_not_found(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    plan_id = make_plan(client, program, rules=STANDARD)
    response = client.post(
        f"/api/v1/plans/{plan_id}/simulate",
        json={"from": "2025-01-01", "to": "2025-01-31"},
        headers=other_program.headers,
    )
    assert (response.status_code, response.json()["error"]) == (404, "PlanNotFound")


def test_the_cli_prints_the_same_simulation(
    client: TestClient, engine: Engine, program: ProgramKeys, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(client, program)
    proposed = post(client, program, "/api/v1/plans", {"name": "Proposed", "rules": PROPOSED})
    window = {"from": "2025-01-01", "to": "2025-01-31"}
    over_http = post(client, program, f"/api/v1/plans/{proposed['id']}/simulate", window)
    monkeypatch.setattr("partnerloop.cli.get_settings", lambda: make_settings(database_url))
    before = row_counts(engine)
    args = ["plan", "simulate", "--program", program.id, "--plan", proposed["id"], "--from", "2025-01-01",
            "--to", "2025-01-31"]  # fmt: skip
    as_json = CliRunner().invoke(cli, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == over_http
    as_table = CliRunner().invoke(cli, args)
    assert as_table.exit_code == 0, as_table.output
    assert "Proposed" in as_table.output and "Jane" in as_table.output and "3.36" in as_table.output
    assert row_counts(engine) == before
    refused = CliRunner().invoke(cli, [*args[:-4], "--from", "2025-02-01", "--to", "2025-01-01"])
    assert refused.exit_code == 2 and "must be before" in refused.output
