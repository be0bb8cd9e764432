"""Plans and groups edited in forms, with the engine's validation messages on the page."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.models import Group, Plan
from tests.conftest import ProgramKeys
from tests.manage.factories import as_member, as_owner, form_post, make_partner, make_plan


def _rule_fields(index: int, **values: str) -> list[tuple[str, str]]:
    return [
        (f"rule-{index}-{key.replace('_', '-') if key.startswith('cond') else key}", value)
        for key, value in values.items()
    ]


def _plan(client: TestClient, program: ProgramKeys, plan_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/plans/{plan_id}", headers=program.headers)
    assert response.status_code == 200
    plan: dict[str, Any] = response.json()
    return plan


def _plan_count(engine: Engine) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(Plan)).scalar_one())


def test_a_plan_is_created_in_the_form_and_made_the_default(client: TestClient, program: ProgramKeys) -> None:
    as_owner(client)
    new = f"/manage/plans/new?program={program.id}"
    page = client.get(new)
    assert page.status_code == 200 and 'name="rule-0-rate"' in page.text and "Percent" in page.text
    data = [
        ("name", "Standard"),
        ("rule_count", "2"),
        ("make_default", "1"),
        ("rule-0-origin", ""),
        ("rule-0-event", "sale"),
        ("rule-0-reward", "percent"),
        ("rule-0-rate", "12.5"),
        ("rule-0-duration", "months"),
        ("rule-0-months", "12"),
        ("rule-0-cond-0-field", "product_id"),
        ("rule-0-cond-0-op", "in"),
        ("rule-0-cond-0-value", "team, enterprise"),
        ("rule-1-origin", ""),
        ("rule-1-event", "lead"),
        ("rule-1-reward", "flat"),
        ("rule-1-amount", "5.00"),
    ]
    saved = form_post(client, new, new, data)
    assert saved.status_code == 303, saved.text
    plan_id = saved.headers["location"].split("/manage/plans/")[1].split("?")[0]
    plan = _plan(client, program, plan_id)
    assert plan["name"] == "Standard" and plan["is_default"]
    assert plan["rules"][0]["reward"] == {"type": "percent", "rate_bps": 1250}
    assert plan["rules"][0]["duration"] == {"kind": "months", "months": 12}
    assert plan["rules"][0]["conditions"] == [{"field": "product_id", "op": "in", "value": ["team", "enterprise"]}]
    assert plan["rules"][1]["reward"] == {"type": "flat", "amount": 500}
    shown = client.get(saved.headers["location"]).text
    assert 'value="12.5"' in shown and 'value="team, enterprise"' in shown and 'value="5.00"' in shown
    assert "12.5%" in client.get(f"/manage/plans?program={program.id}").text


def test_the_engines_validation_messages_are_shown_and_nothing_is_saved(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    as_owner(client)
    new = f"/manage/plans/new?program={program.id}"
    base = [("name", "Broken"), ("rule_count", "1"), ("rule-0-origin", "")]
    lead_percent = form_post(
        client, new, new, [*base, ("rule-0-event", "lead"), ("rule-0-reward", "percent"), ("rule-0-rate", "20")]
    )
    assert lead_percent.status_code == 422
    # a lead rule's percent is a sale-only field, ignored: the rule needs its fixed amount
    assert "Rule 1: a lead rule pays a fixed amount: give the amount" in lead_percent.text
    assert 'value="Broken"' in lead_percent.text
    bad_rate = form_post(
        client, new, new, [*base, ("rule-0-event", "sale"), ("rule-0-reward", "percent"), ("rule-0-rate", "lots")]
    )
    assert bad_rate.status_code == 422 and "Rule 1: &#39;lots&#39; is not a percentage" in bad_rate.text
    too_much = form_post(
        client, new, new, [*base, ("rule-0-event", "sale"), ("rule-0-reward", "percent"), ("rule-0-rate", "120")]
    )
    assert "at most 100" in too_much.text
    bad_condition = form_post(
        client,
        new,
        new,
        [
            *base,
            ("rule-0-event", "sale"),
            ("rule-0-reward", "percent"),
            ("rule-0-rate", "20"),
            ("rule-0-cond-0-field", "sale.amount"),
            ("rule-0-cond-0-op", "contains"),
            ("rule-0-cond-0-value", "10"),
        ],
    )
    assert bad_condition.status_code == 422 and "Rule 1 › conditions[0]" in bad_condition.text
    nameless = form_post(
        client, new, new, [("name", ""), ("rule_count", "1"), ("rule-0-origin", ""), ("rule-0-rate", "20")]
    )
    assert "Give the plan a name." in nameless.text
    empty = form_post(client, new, new, [("name", "Empty"), ("rule_count", "1"), ("rule-0-origin", "")])
    assert "A plan needs at least one rule." in empty.text
    assert _plan_count(engine) == 0


def test_a_page_without_the_tier_fields_keeps_the_tiers_and_removes_rules(
    client: TestClient, program: ProgramKeys
) -> None:
    plan_id = make_plan(
        client,
        program,
        rules=[
            {
                "event": "sale",
                "reward": {"type": "percent", "rate_bps": 2000},
                "tiers": {
                    "metric": "sales_count",
                    "period": "month",
                    "levels": [
                        {"min": 0, "reward": {"type": "percent", "rate_bps": 2000}},
                        {"min": 10, "reward": {"type": "percent", "rate_bps": 3000}},
                    ],
                },
            },
            {"event": "lead", "reward": {"type": "flat", "amount": 500}},
        ],
    )
    as_owner(client)
    edit = f"/manage/plans/{plan_id}?program={program.id}"
    page = client.get(edit)
    assert 'name="rule-0-tier-1-min" value="10"' in page.text and 'name="rule-0-tier-1-rate" value="30"' in page.text
    # a post without `rule-N-parts` (a page loaded before tiers were edited here) keeps them as they are
    data = [
        ("name", "Tiered"),
        ("rule_count", "3"),
        ("rule-0-origin", "0"),
        ("rule-0-event", "sale"),
        ("rule-0-reward", "percent"),
        ("rule-0-rate", "25"),
        ("rule-0-duration", "lifetime"),
        ("rule-1-origin", "1"),
        ("rule-1-event", "lead"),
        ("rule-1-reward", "flat"),
        ("rule-1-amount", "5.00"),
        ("rule-1-remove", "1"),
        ("rule-2-origin", ""),
    ]
    saved = form_post(client, edit, edit, data)
    assert saved.status_code == 303, saved.text
    plan = _plan(client, program, plan_id)
    assert plan["name"] == "Tiered" and len(plan["rules"]) == 1
    rule = plan["rules"][0]
    assert rule["reward"]["rate_bps"] == 2500 and rule["duration"] == {"kind": "lifetime"}
    assert rule["tiers"]["levels"][1]["min"] == 10


def test_groups_are_created_renamed_and_given_a_plan(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    plan_id = make_plan(client, program, name="Gold plan", default=False)
    as_owner(client)
    plans = f"/manage/plans?program={program.id}"
    action = f"/manage/groups?program={program.id}"
    assert form_post(client, plans, action, {"name": "Gold", "plan_id": plan_id}).status_code == 303
    duplicate = form_post(client, plans, action, {"name": "Gold", "plan_id": ""})
    assert duplicate.status_code == 409 and "is taken" in duplicate.text
    foreign_plan = form_post(client, plans, action, {"name": "Silver", "plan_id": "01aaaaaaaaaaaaaaaaaaaaaaaa"})
    assert foreign_plan.status_code == 404
    with transaction(engine, writes=False) as session:
        group = session.execute(select(Group)).scalar_one()
    assert group.plan_id == plan_id
    renamed = form_post(client, plans, action, {"group_id": group.id, "name": "Platinum", "plan_id": ""})
    assert renamed.status_code == 303
    with transaction(engine, writes=False) as session:
        assert session.execute(select(Group.name, Group.plan_id)).one() == ("Platinum", None)


def test_a_viewer_sees_plans_without_forms_to_change_them(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    plan_id = make_plan(client, program)
    as_member(client, engine, program, "viewer")
    page = client.get(f"/manage/plans/{plan_id}?program={program.id}")
    assert page.status_code == 200 and "Save plan" not in page.text
    assert "New plan" not in client.get(f"/manage/plans?program={program.id}").text
    edit = f"/manage/plans/{plan_id}?program={program.id}"
    refused = form_post(client, edit, edit, [("name", "Hijacked"), ("rule_count", "0")])
    assert refused.status_code == 403
    assert _plan(client, program, plan_id)["name"] == "Standard"


LIFETIME = {"kind": "lifetime"}


def test_the_plan_page_compares_the_plan_with_the_plans_in_force(client: TestClient, program: ProgramKeys) -> None:
    make_plan(
        client,
        program,
        rules=[{"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "duration": LIFETIME}],
    )
    make_partner(client, program, name="Jane", referral_code="JANE")
    headers = program.headers
    lead = {"customer_external_id": "c1", "referral_code": "JANE", "occurred_at": "2025-01-02T10:00:00Z"}
    assert client.post("/api/v1/track/lead", json=lead, headers=headers).status_code in (200, 201)
    for invoice, amount, day in (("in_1", 10_000, "05"), ("in_2", 5_000, "20")):
        sale = {"customer_external_id": "c1", "amount": amount, "currency": "usd", "invoice_id": invoice,
                "occurred_at": f"2025-01-{day}T10:00:00Z"}  # fmt: skip
        assert client.post("/api/v1/track/sale", json=sale, headers=headers).status_code in (200, 201)
    proposed = make_plan(
        client,
        program,
        rules=[{"event": "sale", "reward": {"type": "percent", "rate_bps": 2500}, "duration": LIFETIME}],
        name="Richer",
        default=False,
    )
    as_owner(client)
    edit = f"/manage/plans/{proposed}?program={program.id}"
    blank = client.get(edit)
    assert blank.status_code == 200 and 'id="sim-from"' in blank.text and "Total commissions" not in blank.text

    shown = client.get(f"{edit}&from=2025-01-01&to=2025-01-31")
    assert shown.status_code == 200
    text = shown.text
    assert "revenue $150.00" in text
    assert "$30.00" in text and "$37.50" in text and "$7.50" in text  # now, proposed, difference
    # ROI as on every page, (net revenue − commissions) ÷ commissions: (150 − 30) ÷ 30 now, (150 − 37.50) ÷ 37.50
    assert "4.00×" in text and "3.00×" in text and "25%" in text and "20%" in text  # ROI, effective rate
    assert ">Jane<" in text and "$150.00" in text  # one customer worth 150.00

    bad = client.get(f"{edit}&from=yesterday&to=2025-01-31")
    assert bad.status_code == 200 and "Give both dates as YYYY-MM-DD." in bad.text
    backwards = client.get(f"{edit}&from=2025-02-01&to=2025-01-01")
    assert backwards.status_code == 200 and "must be before" in backwards.text


SALE_WITH_PARTS = {
    "event": "sale",
    "reward": {"type": "percent", "rate_bps": 2000},
    "duration": {"kind": "months", "months": 12},
    "tiers": {
        "metric": "sales_count",
        "period": "month",
        "levels": [
            {"min": 0, "reward": {"type": "percent", "rate_bps": 2000}},
            {"min": 10, "reward": {"type": "percent", "rate_bps": 3000}},
        ],
    },
    "caps": {"per_customer_amount": 50000, "per_period_amount": 100000, "period": "month"},
    "active": {"from": "2026-11-27T00:00:00Z", "until": "2026-12-01T00:00:00Z"},
}
LEAD_WITH_CAP = {"event": "lead", "reward": {"type": "flat", "amount": 500}, "caps": {"per_customer_amount": 1000}}
TEN_CLUB = {"name": "Ten club", "metric": "sales_count", "period": "month", "threshold": 10, "amount": 10000}


def _parts_form(name: str) -> list[tuple[str, str]]:
    return [
        ("name", name),
        ("rule_count", "2"),
        *_rule_fields(
            0, origin="0", parts="1", event="sale", reward="percent", rate="20", amount="", duration="months"
        ),
        *_rule_fields(0, months="12", **{"tier-metric": "sales_count", "tier-period": "month"}),
        *_rule_fields(0, **{"tier-0-min": "0", "tier-0-reward": "percent", "tier-0-rate": "20", "tier-0-amount": ""}),
        *_rule_fields(0, **{"tier-1-min": "10", "tier-1-reward": "percent", "tier-1-rate": "30", "tier-1-amount": ""}),
        *_rule_fields(0, **{"tier-2-min": "", "tier-2-rate": "", "tier-2-amount": ""}),
        *_rule_fields(0, **{"cap-per-customer-amount": "500", "cap-per-period-amount": "1000", "cap-period": "month"}),
        *_rule_fields(0, **{"active-from": "2026-11-27T00:00", "active-until": "2026-12-01T00:00"}),
        # the lead rule posts the sale-only fields a browser without the script sends: they are ignored
        *_rule_fields(1, origin="1", parts="1", event="lead", reward="percent", rate="20", amount="5.00"),
        *_rule_fields(1, duration="months", months="12", **{"cap-per-customer-amount": "10", "cap-per-day-count": "5"}),
        ("bonus_count", "2"),
        ("bonus-0-name", "Ten club"),
        ("bonus-0-metric", "sales_count"),
        ("bonus-0-period", "month"),
        ("bonus-0-threshold", "10"),
        ("bonus-0-amount", "100"),
        ("bonus-1-name", ""),
        ("bonus-1-threshold", ""),
        ("bonus-1-amount", ""),
    ]


def test_tiers_caps_a_window_and_a_bonus_saved_in_the_form_are_stored_as_the_api_stores_them(
    client: TestClient, program: ProgramKeys
) -> None:
    plan_id = make_plan(client, program)
    as_owner(client)
    edit = f"/manage/plans/{plan_id}?program={program.id}"
    page = client.get(edit).text
    assert 'name="rule-0-tier-0-min"' in page and 'name="rule-0-active-from" type="datetime-local"' in page
    assert 'name="bonus-0-name"' in page
    saved = form_post(client, edit, edit, _parts_form("With parts"))
    assert saved.status_code == 303, saved.text
    by_api = client.post(
        "/api/v1/plans",
        json={"name": "With parts", "rules": [SALE_WITH_PARTS, LEAD_WITH_CAP], "bonuses": [TEN_CLUB]},
        headers=program.headers,
    )
    assert by_api.status_code == 201, by_api.text
    from_form, from_api = _plan(client, program, plan_id), _plan(client, program, by_api.json()["id"])
    assert from_form["rules"] == from_api["rules"] == [SALE_WITH_PARTS, LEAD_WITH_CAP]
    assert from_form["bonuses"] == from_api["bonuses"] == [TEN_CLUB]
    shown = client.get(edit).text
    assert "From 27 Nov 2026 until 1 Dec 2026" in shown and "30% once you have made 10 sales this month" in shown
    assert "At most $500.00 per customer." in shown or "At most 500.00 USD per customer." in shown
    assert "Bonus “Ten club”" in shown
    assert 'name="rule-0-active-from" type="datetime-local" step="1" value="2026-11-27T00:00"' in shown
    # the lead rule's sale-only fields are rendered hidden; they work without the script
    assert 'data-events="sale" hidden><label for="r1-rate">' in shown


def test_a_bad_tier_or_bonus_is_refused_with_its_reason_and_changes_nothing(
    client: TestClient, program: ProgramKeys
) -> None:
    plan_id = make_plan(client, program)
    before = _plan(client, program, plan_id)
    as_owner(client)
    edit = f"/manage/plans/{plan_id}?program={program.id}"
    overlapping = [
        (key, "10" if key == "rule-0-tier-0-min" else value) for key, value in _parts_form("Broken tiers")
    ]  # tier 1 from 10, tier 2 from 10: minimums must increase
    refused = form_post(client, edit, edit, overlapping)
    assert refused.status_code == 422
    assert "Rule 1 › tier 2: min 10 overlaps tier 1&#39;s min 10 (tier minimums must increase)" in refused.text
    assert 'value="Broken tiers"' in refused.text and 'name="rule-0-tier-1-min" value="10"' in refused.text
    twice = [*_parts_form("Twice"), ("bonus-1-name", "ten CLUB"), ("bonus-1-threshold", "20"), ("bonus-1-amount", "5")]
    refused = form_post(client, edit, edit, [item for item in twice if item[0] != "bonus-1-name" or item[1]])
    assert refused.status_code == 422 and "Bonus 2: name &#39;ten CLUB&#39; is used by Bonus 1 already" in refused.text
    window = [
        (key, "2026-11-01T00:00" if key == "rule-0-active-until" else value) for key, value in _parts_form("Backwards")
    ]
    refused = form_post(client, edit, edit, window)
    assert (
        refused.status_code == 422 and "Rule 1 › active: from 2026-11-27T00:00:00+00:00 is not before" in refused.text
    )
    assert _plan(client, program, plan_id) == before
