"""A program with one of everything a URL can name, and the app's page routes: for walking every page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from partnerloop.account.service import new_token
from partnerloop.app import PartnerloopApp
from partnerloop.db import transaction
from partnerloop.jobs.runner import run_next_job
from partnerloop.kit.time import utc_now
from partnerloop.models import (
    Alert,
    ApiKey,
    Base,
    Commission,
    Coupon,
    Group,
    Invitation,
    Job,
    Member,
    PartnerNote,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from tests.account.factories import add_member, add_partner_user
from tests.conftest import ProgramKeys
from tests.manage.factories import convert, make_plan

MISSING_ID = "01zzzzzzzzzzzzzzzzzzzzzzzz"
NOT_COMPARED = {"user_sessions", "jobs", "schedules", "idempotency_keys", "account_tokens", "clicks", "click_rollups"}
# Kept by the running app's periodic rollup job whatever a request does: a long walk on a busy machine sees it run.
NOT_COMPARED |= {"rollup_state", "conversion_rollups", "click_dimension_rollups", "click_day_rollups"}
# Written by the job runner's email jobs (the world's own notices, kept in development), whenever they run.
NOT_COMPARED |= {"dev_emails"}


def page_routes(app: PartnerloopApp, prefix: str, methods: tuple[str, ...] = ("GET", "POST")) -> list[tuple[str, str]]:
    """(method, path template) of every page and action under `prefix` (of every route, for the API)."""

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes)
            else:
                yield route

    found = []
    for route in walk(app.api.routes):
        path = getattr(route, "path", "")
        if path == prefix or path.startswith(prefix + "/"):
            for method in sorted(getattr(route, "methods", None) or []):
                if method in methods:
                    found.append((method, path))
    assert len(found) >= 5, f"too few routes under {prefix}: {found}"
    return found


def snapshot(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every business table, as text: any change made by an attack shows here."""
    with transaction(engine, writes=False) as session:
        tables = {}
        for table in Base.metadata.sorted_tables:
            if table.name in NOT_COMPARED:
                continue
            rows = session.execute(select(table)).all()
            tables[table.name] = sorted(tuple(str(value) for value in row) for row in rows)
        return tables


def settle(engine: Engine) -> None:
    """Run the world's own due jobs (webhook fan-out, notices, their emails) to the end, so a snapshot
    sees only what a request changes, not a job the world queued finishing meanwhile."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        while run_next_job(engine, "isolation-test"):
            pass
        with transaction(engine, writes=False) as session:
            busy = session.execute(
                select(func.count())
                .select_from(Job)
                .where(Job.status.in_(("queued", "running")), Job.run_at <= utc_now())
            ).scalar_one()
        if not busy:
            return
        time.sleep(0.05)
    raise AssertionError("the world's jobs did not finish within 30 s")


class Victim:
    """Program A with one of everything a URL can name."""

    def __init__(self, client: TestClient, engine: Engine, program: ProgramKeys) -> None:
        self.program = program
        make_plan(client, program)
        self.partner_user, self.partner_id = add_partner_user(engine, program.id, "victim-partner@a.test")
        link = client.post(
            "/api/v1/links",
            json={"partner_id": self.partner_id, "destination_url": "https://acme.test/", "key": "victim"},
            headers=program.headers,
        )
        referral = client.get(f"/api/v1/partners/{self.partner_id}", headers=program.headers).json()["referral_code"]
        self.referral_code = str(referral)
        convert(client, program, referral, "cus_victim", 10000, "in_victim")
        run = self._payout_run(client, program)
        add_member(engine, program.workspace_id, "victim-viewer@a.test", "viewer")
        with transaction(engine) as session:
            group = Group(program_id=program.id, name="Gold")
            session.add(group)
            session.flush()
            owner_id = session.execute(select(User.id).where(User.email == "owner-acme@example.com")).scalar_one()
            session.add(
                PartnerNote(
                    program_id=program.id, partner_id=self.partner_id, author_user_id=owner_id, body="secret note"
                )
            )
            invitation = Invitation(
                kind="member",
                workspace_id=program.workspace_id,
                email="pending@a.test",
                role="viewer",
                token_hash=new_token()[1],
                expires_at=utc_now().replace(year=utc_now().year + 1),
            )
            session.add(invitation)
            alert = Alert(program_id=program.id, kind="self_referral", severity="high", category="fraud",
                          subject=f"partner:{self.partner_id}", partner_id=self.partner_id, detail="victim alert",
                          evidence={})  # fmt: skip
            session.add(alert)
            session.flush()
            self.ids = {
                "partner_id": self.partner_id,
                "plan_id": session.execute(text("SELECT id FROM plans")).scalar_one(),
                "group_id": group.id,
                "key_id": session.execute(select(ApiKey.id).where(ApiKey.program_id == program.id)).scalar_one(),
                "member_id": session.execute(select(Member.id).where(Member.user_id == owner_id)).scalar_one(),
                "invitation_id": invitation.id,
                "alert_id": alert.id,
                "link_id": link.json()["id"],
                "commission_id": session.execute(select(Commission.id).where(Commission.program_id == program.id))
                .scalars()
                .first(),
                "resource_id": self._resource(session, program.id),
                "question_id": self._question(session, program.id),
                **self._engagement(session, program.id, self.partner_id),
                "kind": "svg",
                "run_id": run["id"],
                "payout_id": run["payouts"][0]["id"],
                **self._webhook(session, program.id),
                "email_id": self._kept_email(session),
                "coupon_id": self._coupon(session, program.id, self.partner_id),
            }

    def _payout_run(self, client: TestClient, program: ProgramKeys) -> dict[str, Any]:
        """A confirmed payout run paying the partner (a payout method and approved earnings first)."""
        method = {"type": "paypal", "email": "victim@pay.test"}
        url = f"/api/v1/partners/{self.partner_id}/payout-method"
        assert client.put(url, json=method, headers=program.headers).status_code == 200
        earned = {"partner_id": self.partner_id, "amount": 10000, "reason": "victim earnings"}
        assert client.post("/api/v1/commissions", json=earned, headers=program.headers).status_code == 201
        run = client.post("/api/v1/payouts/runs", json={"preview": False}, headers=program.headers)
        assert run.status_code == 200 and run.json()["payouts"], run.text
        return dict(run.json())

    @staticmethod
    def _webhook(session: Any, program_id: str) -> dict[str, str]:
        """A webhook endpoint with one delivery (rows as the service writes them; never sent)."""
        endpoint = WebhookEndpoint(
            program_id=program_id,
            url="https://hooks.example.com/victim",
            events=["*"],
            status="active",
            secret_encrypted="not-used-by-pages",
        )
        session.add(endpoint)
        session.flush()
        event = WebhookEvent(id=f"msg_{endpoint.id}", program_id=program_id, type="webhook.test", body="{}")
        session.add(event)
        session.flush()
        delivery = WebhookDelivery(
            program_id=program_id, endpoint_id=endpoint.id, event_id=event.id, status="failed", attempts=8
        )
        session.add(delivery)
        session.flush()
        return {"endpoint_id": endpoint.id, "delivery_id": delivery.id}

    @staticmethod
    def _kept_email(session: Any) -> str:
        """An email kept in development (no SMTP_URL) for the victim's partner: the Sent emails page's."""
        try:
            from partnerloop.models import DevEmail
        except ImportError:
            return MISSING_ID
        email = DevEmail(to_address="victim-partner@a.test", subject="Victim sign-in", text="secret link")
        session.add(email)
        session.flush()
        return str(email.id)

    @staticmethod
    def _coupon(session: Any, program_id: str, partner_id: str) -> str:
        coupon = Coupon(program_id=program_id, partner_id=partner_id, code="VICTIM10", code_key="victim10")
        session.add(coupon)
        session.flush()
        return str(coupon.id)

    @staticmethod
    def _resource(session: Any, program_id: str) -> str:
        try:
            from partnerloop.models.partner_portal import Resource
        except ImportError:
            return MISSING_ID
        resource = Resource(program_id=program_id, kind="guide", title="Victim guide", description="", body="text")
        session.add(resource)
        session.flush()
        return str(resource.id)

    @staticmethod
    def _question(session: Any, program_id: str) -> str:
        try:
            from partnerloop.models.partner_portal import ApplicationQuestion
        except ImportError:
            return MISSING_ID
        question = ApplicationQuestion(program_id=program_id, label="Where do you promote?", kind="text", options=[])
        session.add(question)
        session.flush()
        return str(question.id)

    @staticmethod
    def _engagement(session: Any, program_id: str, partner_id: str) -> dict[str, str]:
        """An announcement the victim partner got, and their review."""
        try:
            from partnerloop.models.engagement import Announcement, AnnouncementDelivery, PerformanceReview
        except ImportError:
            return {"announcement_id": MISSING_ID, "review_id": MISSING_ID}
        announcement = Announcement(
            program_id=program_id, title="Victim news", body="secret plans", audience={"kind": "all", "group_ids": []},
            email=False, status="sent", sent_at=utc_now(), recipients=1,
        )  # fmt: skip
        session.add(announcement)
        session.flush()
        session.add(AnnouncementDelivery(announcement_id=announcement.id, program_id=program_id, partner_id=partner_id,
                                         email_status="none"))  # fmt: skip
        review = PerformanceReview(program_id=program_id, partner_id=partner_id, month="2026-11", figures={},
                                   previous={}, summary="Victim review", status="sent")  # fmt: skip
        session.add(review)
        session.flush()
        return {"announcement_id": str(announcement.id), "review_id": str(review.id)}

    def url(self, template: str, program_id: str) -> str:
        path = re.sub(r"\{(\w+)\}", lambda match: self.ids.get(match.group(1), MISSING_ID), template)
        return f"{path}?program={program_id}"

    def form(self, token: str) -> dict[str, str]:
        """A form that would change the victim's data if any handler trusted it."""
        return dict(
            [
                ("csrf_token", token),
                ("action", "ban"),
                ("partner_ids", self.partner_id),
                ("commission_ids", self.ids["commission_id"]),
                ("group_id", self.ids["group_id"]),
                ("plan_id", self.ids["plan_id"]),
                ("name", "Hijacked"),
                ("email", "attacker@evil.test"),
                ("role", "owner"),
                ("body", "attacker note"),
                ("reason", "attack"),
                ("rule_count", "1"),
                ("rule-0-event", "sale"),
                ("rule-0-reward", "percent"),
                ("rule-0-rate", "99"),
                ("kind", "guide"),
                ("title", "Hijacked"),
                ("label", "Hijacked"),
                ("destination_url", "https://acme.test/hijack"),
                ("currency", "usd"),
                ("allowed_domains", "evil.test"),
                ("link_params", "ref"),
                ("cookie_days", "1"),
                ("hold_days", "0"),
                ("min_payout", "0"),
                ("attribution_model", "last_click"),
            ]
        )
