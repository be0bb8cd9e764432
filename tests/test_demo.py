from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.config import Settings
from partnerloop.db import transaction
from partnerloop.demo import OWNER_EMAIL, OWNER_PASSWORD, seed_demo
from partnerloop.kit.time import utc_now
from partnerloop.models import Click, Commission, Event, Partner
from tests.account.helpers import login


def test_demo_seeds_an_affiliate_and_a_referral_program_a_newcomer_can_explore(
    engine: Engine, settings: Settings, client: TestClient
) -> None:
    first = seed_demo(engine, settings)
    assert first.created
    with transaction(engine, writes=False) as session:
        clicks = session.execute(select(func.count()).select_from(Click)).scalar_one()
        kinds = dict(session.execute(select(Event.kind, func.count()).group_by(Event.kind)).all())
        reversals = session.execute(select(func.count()).where(Commission.kind == "reversal")).scalar_one()
    assert clicks > 1000
    with transaction(engine, writes=False) as session:  # a real history: partners joined over the quarter
        joined = sorted(
            session.execute(select(Partner.created_at).where(Partner.email.like("%@partners.example"))).scalars()
        )
        first_click = session.execute(select(func.min(Click.created_at))).scalar_one()
        holds_over = session.execute(select(func.count()).where(Commission.hold_until < utc_now())).scalar_one()
    assert len({at.date() for at in joined}) == len(joined) and joined[-1] - joined[0] > timedelta(days=60)
    assert first_click >= joined[0] and holds_over > 0  # older sales are past their hold: ready to approve
    assert kinds["lead"] > 50 and kinds["sale"] > 20 and kinds["refund"] > 0
    assert reversals > 0

    headers = {"Authorization": f"Bearer {first.api_key}"}
    partners = client.get("/api/v1/partners", params={"limit": 100}, headers=headers).json()["data"]
    assert {partner["status"] for partner in partners} == {"approved", "pending", "banned"}
    commissions = client.get("/api/v1/commissions", headers=headers).json()["data"]
    assert commissions and all(commission["explanation"] for commission in commissions)
    groups = client.get("/api/v1/groups", headers=headers).json()["data"]
    assert {group["name"] for group in groups} == {"Bronze", "Silver", "Gold"}
    with transaction(engine, writes=False) as session:
        explanations = list(session.execute(select(Commission.explanation)).scalars())
    for shown in ("'Spring campaign', campaign", "tier 2 of 2", "Bonus 'Five a month'"):  # plans in full at work
        assert any(shown in explanation for explanation in explanations), shown

    again = seed_demo(engine, settings)
    assert not again.created and again.program_id == first.program_id and again.api_key == first.api_key
    with transaction(engine, writes=False) as session:
        assert session.execute(select(func.count()).select_from(Click)).scalar_one() == clicks

    assert login(client, OWNER_EMAIL, OWNER_PASSWORD).headers["location"] == "/manage"
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200 and "Acme Analytics" in dashboard.text and "Jane Cooper" in dashboard.text
    _the_referral_program_is_seeded_too(engine, client)  # one seeding for both (it takes a while)


def _the_referral_program_is_seeded_too(engine: Engine, client: TestClient) -> None:
    from partnerloop.models import Advocate, Program, Referral, Reward

    with transaction(engine, writes=False) as session:
        program = session.execute(select(Program).where(Program.kind == "referral")).scalar_one()
        advocates = session.execute(select(func.count()).where(Advocate.program_id == program.id)).scalar_one()
        referrals = session.execute(select(func.count()).select_from(Referral)).scalar_one()
        statuses = dict(session.execute(select(Reward.status, func.count()).group_by(Reward.status)).all())
    assert advocates == 300 and referrals > 100
    assert statuses["issued"] > 20 and statuses["pending"] > 20
    login(client, OWNER_EMAIL, OWNER_PASSWORD)
    page = client.get("/manage/referrals", params={"program": program.id})
    assert (
        page.status_code == 200 and "Acme Referrals" in page.text and "Your customer gets a 20 USD credit" in page.text
    )
