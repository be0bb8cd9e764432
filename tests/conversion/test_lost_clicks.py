"""A conversion naming a click that was never written (lost in a crash while it sat in the click buffer) is
still attributed through its signed id, and the click is recorded then; a forged or tampered id is refused
like an unknown one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from ulid import ULID

from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import Click, ClickRollup
from partnerloop.tracking.click_ids import click_ids
from tests.commission.factories import counts, make_partner, make_plan
from tests.conftest import ProgramKeys


def _link(client: TestClient, program: ProgramKeys, partner_id: str, domain: str = "acme.test") -> str:
    body = {"partner_id": partner_id, "destination_url": f"https://{domain}/"}
    response = client.post("/api/v1/links", json=body, headers=program.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _lost_click_id(link_id: str, ago: timedelta = timedelta(minutes=3)) -> str:
    """The id the redirect would have handed out `ago`, for a click that never reached the database."""
    base = str(ULID.from_datetime(utc_now() - ago)).lower().encode()
    return click_ids().sign(base, link_id.encode()).decode()


def _track(client: TestClient, program: ProgramKeys, kind: str, **body: Any) -> Any:
    payload: dict[str, Any] = {"customer_external_id": "cus_1", **body}
    if kind == "sale":
        payload = {"amount": 4900, "currency": "usd", "invoice_id": "in_1", **payload}
    return client.post(f"/api/v1/track/{kind}", json=payload, headers=program.headers)


def _stored(engine: Engine) -> tuple[list[Click], int]:
    with transaction(engine, writes=False) as session:
        clicks = list(session.execute(select(Click)).scalars())
        rollup = session.execute(select(func.coalesce(func.sum(ClickRollup.clicks), 0))).scalar_one()
    return clicks, int(rollup)


@pytest.mark.parametrize("kind", ["lead", "sale"])
def test_a_conversion_naming_a_lost_click_is_attributed_and_records_the_click(
    client: TestClient, engine: Engine, program: ProgramKeys, kind: str
) -> None:
    make_plan(client, program)
    partner = make_partner(client, program)
    link_id = _link(client, program, partner["id"])
    click_id = _lost_click_id(link_id)
    assert _stored(engine) == ([], 0)
    response = _track(client, program, kind, click_id=click_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["customer"]["partner_id"], body["customer"]["click_id"]) == (partner["id"], click_id)
    [commission] = body["commissions"]
    assert (commission["partner_id"], commission["click_id"]) == (partner["id"], click_id)
    [click], rollup = _stored(engine)
    assert (click.id, click.link_id, click.partner_id, click.program_id) == (
        click_id,
        link_id,
        partner["id"],
        program.id,
    )
    assert abs(click.created_at - (utc_now() - timedelta(minutes=3))) < timedelta(seconds=5)
    assert (click.is_bot, click.is_unique, click.user_agent, click.ip_truncated) == (False, False, None, None)
    assert rollup == 1


def test_the_same_lost_click_named_twice_is_recorded_once(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    partner = make_partner(client, program)
    click_id = _lost_click_id(_link(client, program, partner["id"]))
    assert _track(client, program, "lead", click_id=click_id).status_code == 200
    sale = _track(client, program, "sale", click_id=click_id)
    assert sale.status_code == 200, sale.text
    assert sale.json()["commissions"][0]["partner_id"] == partner["id"]
    clicks, rollup = _stored(engine)
    assert (len(clicks), rollup) == (1, 1)


def test_a_lost_click_outside_the_cookie_window_is_recorded_but_does_not_attribute(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    partner = make_partner(client, program)
    click_id = _lost_click_id(_link(client, program, partner["id"]), ago=timedelta(days=91))
    response = _track(client, program, "lead", click_id=click_id)
    assert response.status_code == 200, response.text
    assert response.json()["customer"]["partner_id"] is None
    assert "outside the 90-day cookie window" in response.json()["no_commission_reason"]
    assert len(_stored(engine)[0]) == 1


def _flip(text: str, index: int) -> str:
    return text[:index] + ("0" if text[index] != "0" else "1") + text[index + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda click_id, other_link: _flip(click_id, 63), id="a changed MAC"),
        pytest.param(lambda click_id, other_link: _flip(click_id, 5), id="a changed time"),
        pytest.param(lambda click_id, other_link: click_id[:26] + other_link + click_id[52:], id="another link"),
        pytest.param(
            lambda click_id, other_link: _lost_click_id(other_link, ago=-timedelta(hours=1)), id="a time an hour ahead"
        ),
    ],
)
@pytest.mark.parametrize("kind", ["lead", "sale"])
def test_a_tampered_or_forged_click_id_is_refused_like_an_unknown_one_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, kind: str, tamper: Any
) -> None:
    make_plan(client, program)
    partner, other = make_partner(client, program), make_partner(client, program)
    click_id = _lost_click_id(_link(client, program, partner["id"]))
    forged = tamper(click_id, _link(client, program, other["id"]))
    response = _track(client, program, kind, click_id=forged)
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "ClickNotFound"
    assert counts(engine) == {"customers": 0, "events": 0, "commissions": 0}
    assert _stored(engine) == ([], 0)


def test_a_signed_id_of_another_programs_link_is_not_found(
    client: TestClient, engine: Engine, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    theirs = _link(client, other_program, make_partner(client, other_program)["id"], domain="other.test")
    response = _track(client, program, "lead", click_id=_lost_click_id(theirs))
    assert response.status_code == 404
    assert response.json()["error"] == "ClickNotFound"
    assert _stored(engine) == ([], 0)
