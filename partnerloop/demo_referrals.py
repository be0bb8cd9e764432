"""The demo's second program: customer referrals (wiring, like demo.py: it seeds through every domain).
and purchases over 90 days through the same services as the API, and the rewards those made."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import Engine

from partnerloop.conversion import service as track_service
from partnerloop.conversion.schemas import LeadIn, SaleIn
from partnerloop.db import transaction
from partnerloop.program.referral_settings import ReferralRewards
from partnerloop.program.schemas import ProgramPatch
from partnerloop.program.service import create_program, update_program
from partnerloop.referral import service
from partnerloop.referral.schemas import AdvocateIn

ADVOCATES = 300
FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Radia", "Donald"]


def seed_referral_demo(engine: Engine, owner_email: str, rng: random.Random, now: datetime, days: int = 90) -> str:
    """A referral program owned by `owner_email` (who already exists); returns its id."""
    with transaction(engine) as session:
        program = create_program(
            session, name="Acme Referrals", domains=["acme.example"], currency="usd", owner_email=owner_email,
            owner_password=None, kind="referral",
        ).program  # fmt: skip
        rewards = ReferralRewards.model_validate(
            {"trigger": "sale", "referrer": {"type": "credit", "amount": 2000},
             "friend": {"type": "percent_off", "percent": 20, "duration_months": 3}, "limit_per_advocate": 10}
        )  # fmt: skip
        update_program(session, program, ProgramPatch(referral_rewards=rewards))
        advocates = []
        for number in range(ADVOCATES):
            name = f"{rng.choice(FIRST_NAMES)} {chr(65 + number % 26)}."
            advocate, _ = service.create_advocate(
                session, program,
                AdvocateIn(customer_external_id=f"cus_adv_{number:04d}", email=f"advocate{number:04d}@customers.example",
                           name=name, stripe_customer_id=f"cus_Sadv{number:04d}"),
            )  # fmt: skip
            advocates.append(advocate)
        program_id = program.id
    with transaction(engine) as session:
        program = session.get_one(type(program), program_id)
        sharers = rng.sample(advocates, k=ADVOCATES * 2 // 5)  # 40% of advocates share
        for number in range(ADVOCATES * 3 // 5):
            advocate = rng.choice(sharers)
            at = now - timedelta(days=rng.uniform(1, days))
            friend = f"cus_friend_{number:04d}"
            track_service.track_lead(session, program, LeadIn(
                referral_code=advocate.referral_code, customer_external_id=friend,
                email=f"friend{number:04d}@friends.example", occurred_at=at,
            ), now)  # fmt: skip
            if rng.random() < 0.55:
                track_service.track_sale(session, program, SaleIn(
                    customer_external_id=friend, amount=rng.choice([2900, 4900, 9900]), currency="usd",
                    invoice_id=f"in_ref_{number:04d}", occurred_at=min(at + timedelta(hours=rng.randint(1, 72)), now),
                ), now)  # fmt: skip
        rewards_page, _ = service.list_rewards(session, program, status="pending", side="referrer", limit=100)
        for reward in rewards_page[: len(rewards_page) * 3 // 4]:
            service.mark_issued(session, program, reward.id, f"demo-credit-{reward.id[-6:]}")
    return program_id
