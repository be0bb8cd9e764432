"""The event types an endpoint can subscribe to, each with an example of its `data` (the API's own
resource shape: PartnerOut, SaleOut, CommissionOut, PayoutOut, …). The dashboard, the API's catalogue
and docs/webhooks.md show these; tests check each example against its schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEST_EVENT = "webhook.test"


@dataclass(frozen=True)
class EventType:
    type: str
    description: str
    resource: str  # the schema of `data`
    example: dict[str, Any]


_PARTNER = {
    "id": "01jeb6x1k3q8d5v0w2r7m4n9ta",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "status": "approved",
    "referral_code": "ada4821",
    "country": "gb",
    "plan_id": None,
    "group_id": None,
    "created_at": "2026-12-01T09:30:00Z",
    "perks": None,
    "website": "https://ada.example.com",
}
_COMMISSION = {
    "id": "01jeb71m2z6q0x8c4b5t3v9w1k",
    "partner_id": _PARTNER["id"],
    "customer_id": "01jeb70a8y5n2m4k6j3h1g9f7d",
    "event_id": "01jeb70d3c9b7a5z1x8w6v4u2t",
    "click_id": "01jeb6zq1r3s5t7u9v2w4x6y8z",
    "kind": "sale",
    "amount": 4900,
    "currency": "usd",
    "program_amount": 4900,
    "fx_rate": None,
    "earnings_amount": 980,
    "earnings_currency": "usd",
    "status": "pending",
    "explanation": "20% of 49.00 USD (rule 1: sale)",
    "explanation_data": {"rule_index": 0, "rate_bps": 2000},
    "reverses_id": None,
    "plan_id": "01jeb6w9p8o7i6u5y4t3r2e1wq",
    "rule_index": 0,
    "rule": {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}},
    "trigger_event_id": None,
    "reason": None,
    "created_by": None,
    "occurred_at": "2026-12-01T10:00:00Z",
    "hold_until": "2026-12-31T10:00:00Z",
    "created_at": "2026-12-01T10:00:01Z",
    "status_changed_at": None,
}
_SALE = {
    "id": _COMMISSION["event_id"],
    "invoice_id": "in_1QxY2z",
    "customer_id": _COMMISSION["customer_id"],
    "amount": 4900,
    "currency": "usd",
    "product_id": "team",
    "coupon_code": None,
    "click_id": _COMMISSION["click_id"],
    "occurred_at": "2026-12-01T10:00:00Z",
    "awaiting_rate": False,  # True: recorded in a currency with no rate yet, priced when one arrives
}
_PAYOUT = {
    "id": "01jeb7a4s6d8f0g2h4j6k8l0z2",
    "partner_id": _PARTNER["id"],
    "amount": 12450,
    "currency": "usd",
    "status": "paid",
    "method": "paypal",
    "delivery": "api",
    "source_amount": 12450,
    "source_currency": "usd",
    "fx_rate": None,
    "commission_count": 7,
    "run_id": "01jeb7a0q2w4e6r8t0y2u4i6o8",
    "provider_reference": "PAYPAL-8XJ2K",
    "failure_reason": None,
    "retry_of_id": None,
    "created_at": "2026-12-01T12:00:00Z",
    "paid_at": "2026-12-01T12:05:00Z",
}

EVENT_TYPES: tuple[EventType, ...] = (
    EventType("partner.created", "A partner joined the program (by the API, an invitation or an application).",
              "Partner", _PARTNER | {"status": "pending"}),
    EventType("partner.approved", "A partner's application was approved.", "Partner", _PARTNER),
    EventType("lead.created", "A lead was tracked (track/lead or Stripe).", "Lead", {
        "id": "01jeb70b5n7m9k1j3h5g7f9d1s", "event_name": "sign_up", "customer_id": _COMMISSION["customer_id"],
        "click_id": _COMMISSION["click_id"], "occurred_at": "2026-12-01T09:45:00Z"}),
    EventType("sale.created", "A sale was tracked (track/sale or Stripe); a repeated invoice sends nothing.",
              "Sale", _SALE),
    EventType("refund.created", "A refund of a sale was tracked; its commissions are reversed in proportion.",
              "Refund", {"id": "01jeb7c1v3b5n7m9q1w3e5r7t9", "invoice_id": _SALE["invoice_id"], "sale_id": _SALE["id"],
                         "refund_id": "re_3Qz", "amount": 4900, "currency": "usd",
                         "occurred_at": "2026-12-02T08:00:00Z"}),
    EventType("commission.created", "A commission was earned (pending until its hold period ends).", "Commission",
              _COMMISSION),
    EventType("commission.approved", "A commission was approved (by hand or when its hold period ended).",
              "Commission", _COMMISSION | {"status": "approved", "status_changed_at": "2026-12-31T10:01:00Z"}),
    EventType("commission.reversed", "A commission was (partly) taken back: data is the negative reversal or "
              "clawback; reverses_id names the original.", "Commission",
              _COMMISSION | {"id": "01jeb7d2c4v6b8n0m2q4w6e8r0", "kind": "reversal", "earnings_amount": -980,
                             "reverses_id": _COMMISSION["id"], "explanation": "Reversal of 980 (refund of 49.00 USD)"}),
    EventType("payout.paid", "A payout reached the partner (provider confirmed or marked paid).", "Payout", _PAYOUT),
    EventType("payout.failed", "A payout failed; its commissions are back in the partner's balance.", "Payout",
              _PAYOUT | {"status": "failed", "paid_at": None, "failure_reason": "RECEIVER_UNREGISTERED"}),
    EventType("reward.created", "A referral reward was created for an advocate or a friend.", "Reward", {
        "id": "01jeb7e3x5c7v9b1n3m5q7w9e1", "advocate_id": "01jeb7e0z2x4c6v8b0n2m4q6w8", "side": "referrer",
        "type": "credit", "amount": 2000, "currency": "usd", "status": "pending"}),
    EventType("reward.issued", "A referral reward was issued (Stripe credit, coupon, or marked issued).", "Reward", {
        "id": "01jeb7e3x5c7v9b1n3m5q7w9e1", "advocate_id": "01jeb7e0z2x4c6v8b0n2m4q6w8", "side": "referrer",
        "type": "credit", "amount": 2000, "currency": "usd", "status": "issued", "external_ref": "cbtxn_1Q"}),
    EventType("alert.raised", "A fraud or performance alert was raised.", "Alert", {
        "id": "01jeb7f4a6s8d0f2g4h6j8k0l2", "kind": "click_spike", "severity": "warning",
        "partner_id": _PARTNER["id"], "detail": "Clicks 12x the 28-day median", "status": "open",
        "created_at": "2026-12-01T11:00:00Z", "evidence": {"clicks": 1200, "median": 100}}),
    EventType("goal.achieved", "A goal reached its target.", "Goal", {
        "id": "01jeb7g5q7w9e1r3t5y7u9i1o3", "name": "Q4 new customers", "metric": "new_customers",
        "target": 100, "progress": {"current": 100, "target": 100, "ratio": 1.0}}),
    EventType("partner.tier_changed", "A partner moved to another tier (promoted or demoted by the tier rules); "
              "from_tier/to_tier name the groups and reason says why.", "TierMove", {
        "id": "01jeb7j7e9r1t3y5u7i9o1p3a5", "partner_id": _PARTNER["id"], "from_group_id": "01jeb6v8o7i6u5y4t3r2e1w0q9",
        "from_tier": "Silver", "to_group_id": "01jeb6v9p8o7i6u5y4t3r2e1w0", "to_tier": "Gold", "direction": "promotion",
        "metric": "sales", "period": "month", "period_key": "2026-12", "value": 12, "threshold": 10,
        "reason": "Promoted to Gold: 12 sales this month (2026-12) reached the threshold of 10 sales.",
        "created_at": "2026-12-01T12:00:00Z"}),
    EventType(TEST_EVENT, "Sent by the \"Send test event\" button or POST …/test; never by a real change.",
              "Test", {"message": "A test event from Partnerloop.", "endpoint_id": "01jeb7h6w8e0r2t4y6u8i0o2p4"}),
)  # fmt: skip

BY_TYPE: dict[str, EventType] = {event.type: event for event in EVENT_TYPES}
SUBSCRIBABLE: frozenset[str] = frozenset(BY_TYPE) - {TEST_EVENT}
