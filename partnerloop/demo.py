"""The demo program: partners, links, 90 days of clicks, leads, sales, refunds and commissions.

Everything but the clicks goes through the same services as the API; the clicks are written by the
click buffer's own batch writer, with past times. Deterministic (seeded), and idempotent: a second run
only issues a new API key and prints the logins again.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from partnerloop.account.service import create_partner_user
from partnerloop.commission.service import settle_for_ban
from partnerloop.config import Settings
from partnerloop.conversion import service as track_service
from partnerloop.conversion.schemas import LeadIn, RefundIn, SaleIn
from partnerloop.db import transaction
from partnerloop.demo_referrals import seed_referral_demo
from partnerloop.group.schemas import GroupIn
from partnerloop.group.service import create_group
from partnerloop.kit.ids import new_id
from partnerloop.kit.time import utc_now
from partnerloop.link.schemas import LinkIn
from partnerloop.link.service import create_link
from partnerloop.models import Commission, Enrollment, Link, Member, Partner, Program, User
from partnerloop.partner.rules import BanCommissions
from partnerloop.partner.schemas import PartnerIn
from partnerloop.partner.service import ban_partner, enroll_partner
from partnerloop.partner_portal.demo import seed_portal_content
from partnerloop.payout.schemas import PaypalIn
from partnerloop.payout.service.methods import set_method
from partnerloop.plan.schemas import PlanIn
from partnerloop.plan.service import create_plan
from partnerloop.program.schemas import ProgramPatch
from partnerloop.program.service import SECRET_KEY_PREFIX, create_program, keep_api_key, update_program
from partnerloop.tracking import repository as tracking_repository
from partnerloop.tracking.batch import rollup_increments, utc_text
from partnerloop.tracking.repository import ClickRow, UniqueFacts

OWNER_EMAIL = "demo@partnerloop.local"
OWNER_PASSWORD = "partnerloop-demo"
PARTNER_PASSWORD = "partnerloop-partner"  # every approved demo partner logs in with it
DEMO_PARTNER_EMAIL = "jane.cooper@partners.example"
PARTNER_NAMES = [
    "Jane Cooper", "Devon Lane", "Priya Raman", "Lukas Berg", "Mia Chen", "Omar Haddad",
    "Sofia Rossi", "Kenji Sato", "Ava Johnson", "Noah Schmidt", "Lea Dubois", "Mateo Garcia",
]  # fmt: skip
BROWSERS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1"),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]  # fmt: skip
REFERRERS = ["https://www.youtube.com/", "https://news.ycombinator.com/", "https://twitter.com/", None, None]
DAYS = 90


@dataclass(frozen=True)
class DemoLogins:
    owner_email: str
    owner_password: str
    api_key: str
    program_id: str
    publishable_key: str
    base_url: str
    partners: int
    created: bool


def demo_api_key(settings: Settings, program_id: str) -> str:
    """The demo program's API key, derived from SECRET_KEY: the same on every start (a login written down or
    kept in a script keeps working), different on every installation with its own secret."""
    digest = hmac.new(settings.secret_key.encode(), f"demo-api-key:{program_id}".encode(), hashlib.sha256)
    return f"{SECRET_KEY_PREFIX}demo_{digest.hexdigest()[:32]}"


def seed_demo(engine: Engine, settings: Settings, *, seed: int = 7) -> DemoLogins:
    """Seed the demo program once; later calls print the same logins and API key (never a new one)."""
    with transaction(engine) as session:
        existing = _existing_demo_program(session)
        if existing is not None:
            api_key = keep_api_key(session, existing, "Demo key", demo_api_key(settings, existing.id))
            partners = len(
                session.execute(select(Partner.id).where(Partner.workspace_id == existing.workspace_id)).all()
            )
            return DemoLogins(OWNER_EMAIL, OWNER_PASSWORD, api_key, existing.id, existing.publishable_key,
                              settings.base_url, partners, created=False)  # fmt: skip
    rng = random.Random(seed)
    now = utc_now()
    with transaction(engine) as session:
        created = create_program(
            session, name="Acme Analytics", domains=["acme.example"], currency="usd",
            owner_email=OWNER_EMAIL, owner_password=OWNER_PASSWORD,
        )  # fmt: skip
        program = created.program
        campaign = {
            "from": (now - timedelta(days=21)).replace(microsecond=0).isoformat(),
            "until": (now - timedelta(days=14)).replace(microsecond=0).isoformat(),
        }
        standard = create_plan(session, program, PlanIn.model_validate({
            "name": "Standard",
            "rules": [
                {"event": "sale", "name": "Spring campaign", "reward": {"type": "percent", "rate_bps": 3000},
                 "duration": {"kind": "months", "months": 12}, "active": campaign},
                {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "duration": {"kind": "months", "months": 12},
                 "tiers": {"metric": "sales_count", "period": "month",
                           "levels": [{"min": 0, "reward": {"type": "percent", "rate_bps": 2000}},
                                      {"min": 3, "reward": {"type": "percent", "rate_bps": 2500}}]}},
                {"event": "lead", "reward": {"type": "flat", "amount": 200}},
            ],
            "bonuses": [{"name": "Five a month", "metric": "sales_count", "period": "month", "threshold": 5, "amount": 5000}],
        }))  # fmt: skip
        silver = create_plan(session, program, PlanIn.model_validate({
            "name": "Silver",
            "rules": [{"event": "sale", "reward": {"type": "percent", "rate_bps": 2500}, "duration": {"kind": "months", "months": 12}},
                      {"event": "lead", "reward": {"type": "flat", "amount": 300}}],
        }))  # fmt: skip
        gold = create_plan(session, program, PlanIn.model_validate({
            "name": "Gold",
            "rules": [{"event": "sale", "reward": {"type": "percent", "rate_bps": 3000}, "duration": {"kind": "lifetime"}}],
        }))  # fmt: skip
        update_program(session, program, ProgramPatch(default_plan_id=standard.id, hold_days=30))
        groups = {  # Bronze earns by the program's default plan
            name: create_group(session, program, GroupIn(name=name, plan_id=plan_id))
            for name, plan_id in (("Bronze", None), ("Silver", silver.id), ("Gold", gold.id))
        }
        partner_links: list[tuple[str, str, float]] = []  # (partner id, link id, popularity)
        joined: dict[str, datetime] = {}  # partner id -> when they joined (their clicks start then)
        for index, name in enumerate(PARTNER_NAMES):
            email = name.lower().replace(" ", ".") + "@partners.example"
            partner, _ = enroll_partner(
                session, program, PartnerIn(email=email, name=name, plan_id=gold.id if index < 2 else None,
                                            group_id=groups["Gold" if index < 2 else "Silver" if index < 5 else "Bronze"].id),
            )  # fmt: skip
            create_partner_user(session, email=email, password=PARTNER_PASSWORD, name=name, verified=True)
            if index < 4:  # the top partners have told where to be paid: the Payouts page has someone due
                set_method(session, settings, program, partner.id, PaypalIn(type="paypal", email=email))
            for slug in ("pricing", "blog/analytics-guide")[: 1 + index % 2]:
                link = create_link(
                    session, program,
                    LinkIn(partner_id=partner.id, destination_url=f"https://acme.example/{slug}?utm_source=partner"),
                )  # fmt: skip
                partner_links.append((partner.id, link.id, 1.0 / (1 + index)))
            joined[partner.id] = now - timedelta(days=DAYS + 2 - 6 * index)  # the first a quarter ago, then one a week
        for name in ("Riley Park", "Sam Taylor"):
            enroll_partner(session, program, PartnerIn(email=name.lower().replace(" ", ".") + "@apply.example",
                                                       name=name, status="pending"))  # fmt: skip
        spammer, _ = enroll_partner(session, program, PartnerIn(email="coupon.spam@bad.example", name="Coupon Spam"))
        ban_partner(session, program, spammer.id, BanCommissions.REJECT, settle=settle_for_ban, actor="demo")
        for email, days_ago in (("riley.park@apply.example", 3), ("sam.taylor@apply.example", 1),
                                (spammer.email, 20)):  # fmt: skip
            partner_id = session.execute(
                select(Partner.id).where(Partner.workspace_id == program.workspace_id, Partner.email == email)
            ).scalar_one()
            joined[partner_id] = now - timedelta(days=days_ago)
        _date_history(session, joined)
        seed_portal_content(session, program)
        api_key = keep_api_key(session, program, "Demo key", demo_api_key(settings, program.id))
        program_id, publishable_key = program.id, program.publishable_key

    clicks = _clicks(rng, program_id, partner_links, joined, now)
    with transaction(engine) as session:
        connection = session.connection()
        # The demo's visitors come from many networks: every human click counts as unique (bots never do).
        uniques: list[UniqueFacts] = [(not row[10], None) for row in clicks]
        tracking_repository.insert_clicks(connection, clicks, uniques)
        tracking_repository.add_to_rollups(connection, rollup_increments(clicks, uniques))

    with transaction(engine) as session:
        program = session.get_one(Program, program_id)
        _conversions(session, program, rng, clicks, now)
    seed_referral_demo(engine, OWNER_EMAIL, rng, now)  # a second program: customer referrals
    return DemoLogins(OWNER_EMAIL, OWNER_PASSWORD, api_key, program_id, publishable_key, settings.base_url,
                      len(PARTNER_NAMES) + 3, created=True)  # fmt: skip


def _existing_demo_program(session: Session) -> Program | None:
    return session.execute(
        select(Program)
        .join(Member, Member.workspace_id == Program.workspace_id)
        .join(User, User.id == Member.user_id)
        .where(User.email == OWNER_EMAIL)
        .order_by(Program.created_at)
        .limit(1)
    ).scalar_one_or_none()


def _date_history(session: Session, joined: dict[str, datetime]) -> None:
    """Partners, their enrollments and links as of the day each joined, not the day the demo was seeded."""
    for partner_id, at in joined.items():
        session.execute(update(Partner).where(Partner.id == partner_id).values(created_at=at))
        session.execute(update(Enrollment).where(Enrollment.partner_id == partner_id).values(created_at=at))
        session.execute(update(Link).where(Link.partner_id == partner_id).values(created_at=at))


def _clicks(
    rng: random.Random,
    program_id: str,
    links: list[tuple[str, str, float]],
    joined: dict[str, datetime],
    now: datetime,
) -> list[ClickRow]:
    """Clicks per link and day from the day its partner joined, growing, with a weekly rhythm and some bots."""
    rows: list[ClickRow] = []
    for day in range(DAYS, 0, -1):
        start = now - timedelta(days=day)
        growth = 0.6 + 0.8 * (DAYS - day) / DAYS
        weekday = 0.7 if start.weekday() >= 5 else 1.0
        for partner_id, link_id, popularity in links:
            if start < joined[partner_id]:
                continue
            for _ in range(rng.randint(0, int(40 * popularity * growth * weekday) + 1)):
                at = start + timedelta(seconds=rng.randint(0, 86_399))
                agent = rng.choice(BROWSERS)
                is_bot = "bot" in agent
                device = "mobile" if "iPhone" in agent else ("bot" if is_bot else "desktop")
                browser = (
                    None
                    if is_bot
                    else ("Chrome" if "Chrome" in agent else "Firefox" if "Firefox" in agent else "Safari")
                )
                os = None if is_bot else ("iOS" if "iPhone" in agent else "Windows" if "Windows" in agent else
                                          "Mac OS X" if "Mac" in agent else "Linux")  # fmt: skip
                rows.append((
                    new_id(), program_id, link_id, partner_id, utc_text(at.timestamp()),
                    f"198.51.{rng.randint(0, 255)}.0", agent, browser, os, device, is_bot,
                    rng.choice(REFERRERS), rng.choice(["us", "de", "gb", "fr", "in", None]),
                ))  # fmt: skip
    rows.sort(key=lambda row: row[4])
    return rows


def _conversions(session: Session, program: Program, rng: random.Random, clicks: list[ClickRow], now: datetime) -> None:
    """About 6% of human clicks sign up; 40% of those subscribe and pay monthly; a few refund."""
    human = [row for row in clicks if not row[10]]
    for number, row in enumerate(rng.sample(human, k=len(human) * 6 // 100)):
        click_at = datetime.fromisoformat(row[4] + "+00:00")
        signed_up = click_at + timedelta(minutes=rng.randint(2, 600))
        if signed_up >= now:
            continue
        customer = f"cus_demo_{number:05d}"
        track_service.track_lead(
            session,
            program,
            LeadIn(
                click_id=row[0],
                customer_external_id=customer,
                email=f"{customer}@customers.example",
                occurred_at=signed_up,
            ),
            signed_up,
        )  # fmt: skip  (recorded when it happened: holds and dates as in a real history)
        if rng.random() > 0.4:
            continue
        price = rng.choice([2900, 4900, 9900])
        product = {2900: "starter", 4900: "team", 9900: "business"}[price]
        paid_at = signed_up + timedelta(days=rng.randint(0, 14))
        month = 0
        while paid_at < now and month < 4:
            invoice = f"in_demo_{number:05d}_{month}"
            track_service.track_sale(session, program, SaleIn(
                customer_external_id=customer, amount=price, currency="usd", invoice_id=invoice,
                product_id=product, occurred_at=paid_at,
            ), paid_at)  # fmt: skip
            if rng.random() < 0.05:
                refunded_at = min(paid_at + timedelta(days=rng.randint(1, 10)), now)
                amount = price if rng.random() < 0.5 else price // 2
                track_service.track_refund(session, program, RefundIn(
                    invoice_id=invoice, amount=amount, occurred_at=refunded_at,
                ), refunded_at)  # fmt: skip
                break
            month += 1
            paid_at += timedelta(days=30)
    session.execute(  # recorded as they happened (the ledger keeps the seeding's own times)
        update(Commission)
        .where(Commission.program_id == program.id, Commission.occurred_at.is_not(None))
        .values(created_at=Commission.occurred_at)
    )


def print_logins(logins: DemoLogins) -> None:
    console = Console()
    table = Table(title="Partnerloop demo" + ("" if logins.created else " (already seeded)"), show_header=False)
    table.add_row("Dashboard", f"{logins.base_url}/login")
    table.add_row("Owner login", f"{logins.owner_email} / {logins.owner_password}")
    table.add_row("Partner login", f"{DEMO_PARTNER_EMAIL} / {PARTNER_PASSWORD} (every demo partner)")
    table.add_row("Program id", logins.program_id)
    table.add_row("API key", f"{logins.api_key} (the same on every start)")
    table.add_row("Publishable key", logins.publishable_key)
    table.add_row("API docs", f"{logins.base_url}/docs")
    table.add_row("Partners", str(logins.partners))
    console.print(table)
