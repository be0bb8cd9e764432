"""Random sequences of sales (three currencies), refunds, partial refunds, manual commissions,
clawbacks, approvals, holds, rejections, the hold-period job, payout runs (each paying exactly the
available balance), failed and retried payouts and plan changes, against the real database through
the app. After every step: postings per currency sum to zero, every balance equals earned - reversed + adjusted - paid, each account holds exactly the
commissions of its statuses, no commission is counted twice, and no commission already created has
changed its earnings or explanation (plan changes included)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select

from partnerloop.commission.tasks import approve_due
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import Commission
from tests.conftest import ProgramKeys, empty_all_tables, make_program
from tests.ledger.invariants import check_ledger

PARTNERS = 2
CUSTOMERS = 4


def plan_rules(rate_bps: int) -> dict[str, Any]:
    return {
        "rules": [
            {
                "event": "sale",
                "reward": {"type": "percent", "rate_bps": rate_bps},
                "duration": {"kind": "lifetime"},
                "tiers": {
                    "metric": "sales_count",
                    "period": "month",
                    "levels": [
                        {"min": 0, "reward": {"type": "percent", "rate_bps": rate_bps}},
                        {"min": 3, "reward": {"type": "percent", "rate_bps": rate_bps + 1000}},
                    ],
                },
                "caps": {"per_customer_amount": 20_000},
            },
            {"event": "lead", "reward": {"type": "flat", "amount": 500}},
        ],
        "bonuses": [
            {"name": "Three a month", "metric": "sales_count", "period": "month", "threshold": 3, "amount": 1000}
        ],
    }


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, client: TestClient, engine: Engine) -> None:
        super().__init__()
        self.client = client
        self.engine = engine
        self.program: ProgramKeys = make_program(
            engine, name="Machine", email=f"owner-{uuid.uuid4().hex[:10]}@example.com"
        )
        self.partner_ids: list[str] = []
        self.customers: set[int] = set()
        self.invoices: list[str] = []
        self.sale_commissions: dict[str, str] = {}  # invoice -> its sale commission
        self.amounts: dict[str, int] = {}  # invoice -> sale amount
        self.commission_ids: list[str] = []
        self.payouts: list[str] = []
        self.seen: dict[str, tuple[int, str, str | None]] = {}  # id -> (earnings, explanation, plan id)
        self.plan_id = ""

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(path, json=body or {}, headers=self.program.headers)

    @initialize(
        amounts=st.lists(st.integers(100, 60_000), min_size=2, max_size=4),
        currency=st.sampled_from(["usd", "eur", "jpy"]),
    )
    def set_up(self, amounts: list[int], currency: str) -> None:
        """A plan, partners and rates; then a few sales, so that every rule has something to act on."""
        response = self.post("/api/v1/plans", {"name": "Machine plan", **plan_rules(2000)})
        assert response.status_code == 201, response.text
        self.plan_id = response.json()["id"]
        patched = self.client.patch(
            "/api/v1/program",
            json={"default_plan_id": self.plan_id, "min_payout_amount": 0},
            headers=self.program.headers,
        )
        assert patched.status_code == 200
        for index in range(PARTNERS):
            partner = self.post(
                "/api/v1/partners",
                {"email": f"p{index}@example.com", "name": f"P{index}", "referral_code": f"CODE{index}"},
            )
            assert partner.status_code == 201, partner.text
            self.partner_ids.append(partner.json()["id"])
            method = self.client.put(
                f"/api/v1/partners/{self.partner_ids[-1]}/payout-method",
                json={"type": "manual"},
                headers=self.program.headers,
            )
            assert method.status_code == 200, method.text
        for base, rate in (("eur", "1.0841"), ("jpy", "0.0067")):
            answer = self.post("/api/v1/fx-rates", {"base": base, "quote": "usd", "date": "2020-01-01", "rate": rate})
            assert answer.status_code == 201, answer.text
        for index, amount in enumerate(amounts):
            self.sale(customer=index % CUSTOMERS, amount=amount, currency=currency, days_ago=index * 3)

    def remember(self, commissions: list[dict[str, Any]]) -> None:
        self.commission_ids += [row["id"] for row in commissions if row["id"] not in self.commission_ids]

    @rule(
        customer=st.integers(0, CUSTOMERS - 1),
        amount=st.integers(1, 60_000),
        currency=st.sampled_from(["usd", "eur", "jpy"]),
        days_ago=st.integers(0, 70),
    )
    def sale(self, customer: int, amount: int, currency: str, days_ago: int) -> None:
        external_id = f"cus_{customer}"
        if customer not in self.customers:
            lead = self.post(
                "/api/v1/track/lead",
                {
                    "customer_external_id": external_id,
                    "referral_code": f"CODE{customer % PARTNERS}",
                    "occurred_at": (utc_now() - timedelta(days=80)).isoformat(),
                },
            )
            assert lead.status_code == 200, lead.text
            self.remember(lead.json()["commissions"])
            self.customers.add(customer)
        invoice = f"in_{len(self.invoices)}"
        response = self.post(
            "/api/v1/track/sale",
            {
                "customer_external_id": external_id,
                "amount": amount,
                "currency": currency,
                "invoice_id": invoice,
                "occurred_at": (utc_now() - timedelta(days=days_ago, minutes=1)).isoformat(),
            },
        )
        assert response.status_code == 200, response.text
        self.invoices.append(invoice)
        self.amounts[invoice] = amount
        self.remember(response.json()["commissions"])
        for row in response.json()["commissions"]:
            if row["kind"] == "sale":
                self.sale_commissions[invoice] = row["id"]

    @precondition(lambda self: bool(self.invoices))
    @rule(data=st.data(), full=st.booleans(), share=st.integers(1, 100))
    def refund(self, data: st.DataObject, full: bool, share: int) -> None:
        invoice = data.draw(st.sampled_from(self.invoices))
        body: dict[str, Any] = {"invoice_id": invoice}
        if not full:
            body["amount"] = max(1, share)
        response = self.post("/api/v1/track/refund", body)
        assert response.status_code in (200, 409), response.text  # 409: nothing (or not that much) left
        if response.status_code == 200:
            self.remember(response.json()["commissions"])

    @precondition(lambda self: bool(self.sale_commissions))
    @rule(data=st.data(), percent=st.integers(1, 99), action=st.sampled_from(["approve", "hold", "reject"]))
    def partial_refund_then_status_change(self, data: st.DataObject, percent: int, action: str) -> None:
        """A commission with reversals changes status: its reversals follow it, in the ledger too."""
        invoice = data.draw(st.sampled_from(sorted(self.sale_commissions)))
        amount = max(1, self.amounts[invoice] * percent // 100)
        response = self.post("/api/v1/track/refund", {"invoice_id": invoice, "amount": amount})
        assert response.status_code in (200, 409), response.text
        if response.status_code == 200:
            self.remember(response.json()["commissions"])
        acted = self.post(f"/api/v1/commissions/{self.sale_commissions[invoice]}/{action}")
        assert acted.status_code in (200, 409), acted.text

    @precondition(lambda self: bool(self.commission_ids))
    @rule(data=st.data(), action=st.sampled_from(["approve", "hold", "reject"]))
    def change_status(self, data: st.DataObject, action: str) -> None:
        commission_id = data.draw(st.sampled_from(self.commission_ids))
        response = self.post(f"/api/v1/commissions/{commission_id}/{action}")
        assert response.status_code in (200, 409), response.text

    @rule(days=st.integers(0, 40))
    def hold_period_passes(self, days: int) -> None:
        with transaction(self.engine) as session:
            approve_due(session, utc_now() + timedelta(days=days))

    @rule(partner=st.integers(0, PARTNERS - 1), amount=st.integers(-5_000, 5_000).filter(bool))
    def manual_commission(self, partner: int, amount: int) -> None:
        response = self.post(
            "/api/v1/commissions", {"partner_id": self.partner_ids[partner], "amount": amount, "reason": "machine"}
        )
        assert response.status_code == 201, response.text
        self.remember([response.json()])

    @precondition(lambda self: bool(self.commission_ids))
    @rule(data=st.data(), amount=st.one_of(st.none(), st.integers(1, 3_000)))
    def clawback(self, data: st.DataObject, amount: int | None) -> None:
        commission_id = data.draw(st.sampled_from(self.commission_ids))
        body: dict[str, Any] = {"reason": "machine"}
        if amount is not None:
            body["amount"] = amount
        response = self.post(f"/api/v1/commissions/{commission_id}/clawback", body)
        assert response.status_code in (201, 409), response.text
        if response.status_code == 201:
            self.remember([response.json()])

    def balances(self) -> dict[tuple[str, str], int]:
        """(partner, currency) -> available amount, from the API."""
        found: dict[tuple[str, str], int] = {}
        for partner_id in self.partner_ids:
            answer = self.client.get(f"/api/v1/partners/{partner_id}/balance", headers=self.program.headers)
            assert answer.status_code == 200, answer.text
            for row in answer.json()["data"]:
                found[(partner_id, row["currency"])] = row["available_amount"]
        return found

    @rule()
    def payout_run(self) -> None:
        """A confirmed run (as production pays), past every hold the hold-period rule may have ended: each
        payout pays exactly the partner's available balance in its currency, which it then empties."""
        before = self.balances()
        cutoff = (utc_now() + timedelta(days=41)).isoformat()
        response = self.post("/api/v1/payouts/runs", {"preview": False, "cutoff": cutoff})
        assert response.status_code in (200, 409), response.text  # 409: nobody is due a payout
        if response.status_code != 200:
            return
        after = self.balances()
        for payout in response.json()["payouts"]:
            key = (payout["partner_id"], payout["source_currency"])
            assert payout["source_amount"] == before[key], (payout, before[key])
            assert after[key] == 0, (payout, after[key])
            self.payouts.append(payout["id"])

    @precondition(lambda self: bool(self.payouts))
    @rule(data=st.data())
    def payout_fails(self, data: st.DataObject) -> None:
        payout_id = data.draw(st.sampled_from(self.payouts))
        response = self.post(f"/api/v1/payouts/{payout_id}/mark-failed", {"reason": "machine"})
        assert response.status_code in (200, 409), response.text  # 409: failed (or paid) already

    @precondition(lambda self: bool(self.payouts))
    @rule(data=st.data())
    def failed_payout_is_retried(self, data: st.DataObject) -> None:
        payout_id = data.draw(st.sampled_from(self.payouts))
        response = self.post(f"/api/v1/payouts/{payout_id}/retry")
        assert response.status_code in (201, 409), response.text  # 409: not failed, retried, nothing to pay
        if response.status_code == 201:
            self.payouts.append(response.json()["id"])

    @rule(rate_bps=st.integers(100, 5_000))
    def change_plan(self, rate_bps: int) -> None:
        response = self.client.patch(
            f"/api/v1/plans/{self.plan_id}", json=plan_rules(rate_bps), headers=self.program.headers
        )
        assert response.status_code == 200, response.text

    @invariant()
    def ledger_holds(self) -> None:
        check_ledger(self.engine, self.program.id)

    @invariant()
    def commissions_already_created_never_change(self) -> None:
        with transaction(self.engine, writes=False) as session:
            rows = session.execute(
                select(Commission.id, Commission.earnings_amount, Commission.explanation, Commission.plan_id).where(
                    Commission.program_id == self.program.id
                )
            ).all()
        for commission_id, earnings, explanation, plan_id in rows:
            now = (int(earnings), explanation, plan_id)
            assert self.seen.setdefault(commission_id, now) == now, commission_id

    def teardown(self) -> None:
        empty_all_tables(self.engine)


def test_random_histories_keep_the_ledger_balanced(client: TestClient, engine: Engine) -> None:
    run_state_machine_as_test(
        lambda: LedgerMachine(client, engine),
        settings=settings(
            max_examples=12,  # each history is up to 40 API calls with their jobs
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            database=None,
        ),
    )
