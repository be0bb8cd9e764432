"""Exchange rates through the API and the CLI, and sales converted with them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from partnerloop.cli import cli
from partnerloop.db import transaction
from partnerloop.models import FxRate
from tests.commission.factories import counts, make_partner, make_plan
from tests.conftest import ProgramKeys, make_program, make_settings


def add_rate(client: TestClient, program: ProgramKeys, **body: Any) -> Any:
    return client.post("/api/v1/fx-rates", json=body, headers=program.headers)


def rate_count(engine: Engine) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(FxRate)).scalar_one())


def test_a_rate_is_recorded_exactly_and_replaced_for_the_same_day(client: TestClient, program: ProgramKeys) -> None:
    first = add_rate(client, program, base="EUR", quote="usd", date="2026-01-02", rate="1.08410")
    assert first.status_code == 201, first.text
    assert {key: first.json()[key] for key in ("base", "quote", "date", "rate", "source")} == {
        "base": "eur", "quote": "usd", "date": "2026-01-02", "rate": "1.0841", "source": "api",
    }  # fmt: skip
    again = add_rate(client, program, base="eur", quote="usd", date="2026-01-02", rate=1.0842)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"] and again.json()["rate"] == "1.0842"
    listed = client.get("/api/v1/fx-rates", params={"base": "eur"}, headers=program.headers).json()["data"]
    assert [row["rate"] for row in listed] == ["1.0842"]


BAD_RATES = [
    pytest.param({"base": "eur", "quote": "usd", "date": "2026-01-02", "rate": "0"}, "InvalidRate", id="a zero rate"),
    pytest.param({"base": "eur", "quote": "usd", "date": "2026-01-02", "rate": "-1"}, "InvalidRate", id="negative"),
    pytest.param({"base": "eur", "quote": "usd", "date": "2026-01-02", "rate": "a lot"}, "InvalidRate", id="text"),
    pytest.param(
        {"base": "eur", "quote": "usd", "date": "2026-01-02", "rate": True}, "ValidationError", id="a boolean"
    ),
    pytest.param({"base": "eur", "quote": "eur", "date": "2026-01-02", "rate": "1"}, "InvalidRate", id="one currency"),
    pytest.param({"base": "xyz", "quote": "usd", "date": "2026-01-02", "rate": "1"}, "InvalidRate", id="unknown code"),
    pytest.param(
        {"base": "eur", "quote": "usd", "date": "2026-02-30", "rate": "1"}, "ValidationError", id="no such day"
    ),
    pytest.param({"base": "eur", "quote": "usd", "rate": "1"}, "ValidationError", id="no date"),
]


@pytest.mark.parametrize(("body", "error"), BAD_RATES)
def test_bad_rate_is_refused_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, body: dict[str, Any], error: str
) -> None:
    response = add_rate(client, program, **body)
    assert (response.status_code, response.json()["error"]) == (422, error), response.text
    assert rate_count(engine) == 0


CSV = "date,base,quote,rate\n2026-01-01,eur,usd,1.0800\n2026-01-05,eur,usd,1.0900\n2026-01-05,usd,jpy,150\n"


def test_a_csv_is_imported_through_the_api(client: TestClient, program: ProgramKeys) -> None:
    response = client.post(
        "/api/v1/fx-rates/import", content=CSV, headers={**program.headers, "content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "imported": 3, "pairs": ["eur/usd", "usd/jpy"], "first_date": "2026-01-01", "last_date": "2026-01-05",
    }  # fmt: skip
    in_force = client.get(
        "/api/v1/fx-rates/latest", params={"base": "eur", "quote": "usd", "on": "2026-01-04"}, headers=program.headers
    ).json()
    assert (in_force["rate"], in_force["date"]) == ("1.08", "2026-01-01")
    inverse = client.get(
        "/api/v1/fx-rates/latest", params={"base": "jpy", "quote": "usd", "on": "2026-02-01"}, headers=program.headers
    ).json()
    assert inverse["rate"] == "1/150"
    missing = client.get(
        "/api/v1/fx-rates/latest", params={"base": "eur", "quote": "usd", "on": "2025-12-31"}, headers=program.headers
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "RateNotFound")


def test_a_csv_with_a_bad_line_is_refused_whole(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    response = client.post(
        "/api/v1/fx-rates/import",
        content=CSV + "2026-01-06,eur,usd,oops\n",
        headers={**program.headers, "content-type": "text/csv"},
    )
    assert (response.status_code, response.json()["error"]) == (422, "InvalidRatesFile")
    assert response.json()["detail"] == "The rates file was not imported: line 5: 'oops' is not a decimal number."
    assert rate_count(engine) == 0


def test_the_cli_imports_a_csv_of_daily_rates(
    engine: Engine, program: ProgramKeys, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("partnerloop.cli.get_settings", lambda: make_settings(database_url))
    path = tmp_path / "rates.csv"
    path.write_text(CSV)
    done = CliRunner().invoke(cli, ["fx", "import", str(path)])
    assert done.exit_code == 0, done.output
    assert f"imported 3 rates for program {program.id}" in done.output
    assert rate_count(engine) == 3
    make_program(engine, name="Second", email="second@example.com")
    ambiguous = CliRunner().invoke(cli, ["fx", "import", str(path)])
    assert ambiguous.exit_code == 2 and "--program" in ambiguous.output
    path.write_text("date,base,quote,rate\n2026-13-01,eur,usd,1\n")
    refused = CliRunner().invoke(cli, ["fx", "import", str(path), "--program", program.id])
    assert refused.exit_code == 2 and "line 2: date '2026-13-01' is not YYYY-MM-DD" in refused.output
    assert rate_count(engine) == 3


# ---------------------------------------------------------------- sales in other currencies


def sold(client: TestClient, program: ProgramKeys, **body: Any) -> Any:
    payload = {"customer_external_id": "cus_1", "amount": 4_500, "currency": "eur", "invoice_id": "in_1",
               "occurred_at": "2026-01-04T23:30:00Z", **body}  # fmt: skip
    return client.post("/api/v1/track/sale", json=payload, headers=program.headers)


def test_a_sale_converts_at_the_latest_rate_on_or_before_its_day(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)  # 20% for 12 months
    make_partner(client, program, referral_code="JANE")
    client.post("/api/v1/track/lead", json={"customer_external_id": "cus_1", "referral_code": "JANE",
                                            "occurred_at": "2026-01-01T00:00:00Z"}, headers=program.headers)  # fmt: skip
    for day, rate in (("2026-01-01", "1.0800"), ("2026-01-04", "1.0841"), ("2026-01-05", "1.2000")):
        assert add_rate(client, program, base="eur", quote="usd", date=day, rate=rate).status_code == 201
    response = sold(client, program)
    assert response.status_code == 200, response.text
    [commission] = response.json()["commissions"]
    # 45.00 EUR x 1.0841 = 48.7845 USD -> 4878; 20% -> 975.6 -> 976
    assert (commission["amount"], commission["currency"]) == (4_500, "eur")
    assert (commission["program_amount"], commission["fx_rate"]) == (4_878, "1.0841")
    assert (commission["earnings_amount"], commission["earnings_currency"]) == (976, "usd")
    assert commission["explanation"] == "20% of 48.78 USD (45.00 EUR at 1.0841) under Standard, month 1 of 12"
    assert commission["explanation_data"]["sale"] == {
        "amount": 4_500, "currency": "eur", "fx_rate": "1.0841", "program_amount": 4_878,
    }  # fmt: skip
    assert response.json()["sale"]["amount"] == 4_500
    # a later change to that day's rate changes nothing recorded
    add_rate(client, program, base="eur", quote="usd", date="2026-01-04", rate="2")
    again = client.get(f"/api/v1/commissions/{commission['id']}", headers=program.headers).json()
    assert (again["program_amount"], again["earnings_amount"]) == (4_878, 976)
    # a partial refund reverses in proportion, in the program's currency
    refund = client.post("/api/v1/track/refund", json={"invoice_id": "in_1", "amount": 1_500}, headers=program.headers)
    assert [row["earnings_amount"] for row in refund.json()["commissions"]] == [-325]


def test_a_sale_without_a_rate_is_recorded_awaiting_one_naming_the_pair(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    add_rate(client, program, base="eur", quote="usd", date="2026-01-05", rate="1.09")  # after the sale's day
    before = counts(engine)
    response = sold(client, program)
    assert response.status_code == 200, response.text
    assert response.json()["sale"]["awaiting_rate"] is True and response.json()["commissions"] == []
    assert counts(engine) == {**before, "customers": before["customers"] + 1, "events": before["events"] + 1}


def test_a_program_in_yen_converts_dollar_sales(client: TestClient, engine: Engine) -> None:
    program = make_program(engine, name="Tokyo", currency="jpy", email="tokyo@example.com")
    make_plan(client, program, rules=[{"event": "sale", "reward": {"type": "percent", "rate_bps": 1500}}])
    make_partner(client, program, referral_code="KENJI")
    client.post(
        "/api/v1/track/lead", json={"customer_external_id": "cus_1", "referral_code": "KENJI"}, headers=program.headers
    )
    add_rate(client, program, base="usd", quote="jpy", date="2026-01-01", rate="151.37")
    response = sold(client, program, amount=4_900, currency="usd")
    [commission] = response.json()["commissions"]
    # 49.00 USD x 151.37 = 7417.13 JPY -> 7417; 15% -> 1112.55 -> 1113
    assert (commission["program_amount"], commission["earnings_amount"], commission["earnings_currency"]) == (
        7_417, 1_113, "jpy",
    )  # fmt: skip


def test_rates_of_another_program_do_not_apply(
    client: TestClient, engine: Engine, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    make_plan(client, program)
    add_rate(client, other_program, base="eur", quote="usd", date="2026-01-01", rate="1.08")
    assert client.get("/api/v1/fx-rates", headers=program.headers).json()["data"] == []
    assert sold(client, program).json()["sale"]["awaiting_rate"] is True
