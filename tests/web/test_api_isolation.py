"""Every REST route, called with another program's API key and the victim program's ids: 404, nothing of the
victim's in any answer, and the victim's rows unchanged. Routes are read from the app's route table, so an
endpoint added later is walked too (and one naming a new kind of id fails here until the world has one)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.app import PartnerloopApp
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import Commission
from tests.conftest import ProgramKeys
from tests.integrations.stripe_kit import connect, new_event, post_event, stored_events, stripe_object
from tests.manage.world import Victim, page_routes, settle, snapshot
from tests.referral.conftest import friend_sale, make_advocate, rewards, set_rewards, wait_until

API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Words of the victim's that no answer to another program may carry.
SECRETS = ("victim-partner@a.test", "secret note", "victim alert", "Victim goal", "Victim campaign", "cus_ada@")


def api_routes(app: PartnerloopApp) -> list[tuple[str, str]]:
    routes = page_routes(app, "/api/v1", API_METHODS)
    assert len(routes) >= 100, len(routes)  # the walk reads the real table, not an empty one
    return routes


def _extras(client: TestClient, program: ProgramKeys, victim: Victim) -> dict[str, str]:
    """The ids the dashboard's world lacks and the API names: a goal, a campaign, an advocate with a reward for a
    referred friend, and a received Stripe event."""
    now = utc_now()
    goal = client.post("/api/v1/goals", headers=program.headers, json={
        "name": "Victim goal", "metric": "sales", "target": 10, "end": (now + timedelta(days=30)).isoformat()})  # fmt: skip
    assert goal.status_code == 201, goal.text
    campaign = client.post("/api/v1/campaigns", headers=program.headers, json={
        "name": "Victim campaign", "plan_id": victim.ids["plan_id"], "from": now.isoformat(),
        "until": (now + timedelta(days=7)).isoformat(), "reward": {"type": "percent", "rate_bps": 2500}})  # fmt: skip
    assert campaign.status_code == 201, campaign.text
    set_rewards(client, program)
    advocate = make_advocate(client, program)
    friend_sale(client, program, advocate, "cus_friend", "in_friend")
    reward = wait_until(lambda: rewards(client, program))[0]
    connect(client, program)
    event = new_event("customer.created", stripe_object("customer", id="cus_victim_stripe"))
    assert post_event(client, program, event).status_code == 200
    stored = wait_until(lambda: [row for row in stored_events(client, program) if row["event_id"] == event["id"]])
    return {"goal_id": goal.json()["id"], "campaign_id": campaign.json()["id"], "advocate_id": advocate["id"],
            "reward_id": reward["id"], "event_id": stored[0]["id"]}  # fmt: skip


@pytest.fixture
def world(client: TestClient, engine: Engine, program: ProgramKeys) -> Victim:
    victim = Victim(client, engine, program)
    victim.ids.update(_extras(client, program, victim))
    settle(engine)
    return victim


def _path(template: str, ids: dict[str, str]) -> str:
    path = template.replace("{suffix:path}", "")
    unknown = [name for name in re.findall(r"\{(\w+)\}", path) if name not in ids]
    assert not unknown, f"{template} names {unknown}: give the world one of those"
    return re.sub(r"\{(\w+)\}", lambda match: ids[match.group(1)], path)


def _body(victim: Victim) -> dict[str, Any]:
    """A body that would reach the victim's data if any handler trusted the ids in it."""
    ids = victim.ids
    return {
        "partner_id": ids["partner_id"], "partner_ids": [ids["partner_id"]], "commission_id": ids["commission_id"],
        "commission_ids": [ids["commission_id"]], "plan_id": ids["plan_id"], "group_id": ids["group_id"],
        "link_id": ids["link_id"], "advocate_id": ids["advocate_id"], "to_group_id": ids["group_id"],
        "name": "Hijacked", "email": "attacker@evil.test", "amount": 100, "currency": "usd", "reason": "attack",
        "destination_url": "https://acme.test/hijack", "customer_external_id": "cus_victim", "invoice_id": "in_victim",
        "referral_code": victim.referral_code, "title": "Hijacked", "body": "attack", "reference": "attack",
        "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "month": "2026-11", "type": "paypal",
    }  # fmt: skip


def _fields(app: PartnerloopApp, method: str, template: str) -> set[str] | None:
    """The top-level fields the operation's JSON body takes (None: it takes no body), from the OpenAPI document."""
    document = app.api.openapi()
    operation = document["paths"].get(template.replace("{suffix:path}", "{suffix}"), {}).get(method.lower(), {})
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        return node

    schema = resolve(schema)
    variants = [resolve(variant) for variant in schema.get("oneOf", schema.get("anyOf", []))][:1] or [schema]
    return set(variants[0].get("properties", {}))  # of a union (a payout method), its first kind


def _victim_rows(tables: dict[str, list[tuple[str, ...]]], program_id: str) -> dict[str, list[tuple[str, ...]]]:
    return {table: [row for row in rows if program_id in row] for table, rows in tables.items()}


def test_the_world_names_real_objects(client: TestClient, app: PartnerloopApp, world: Victim) -> None:
    """The victim's own key reads every route that names an id: the walk below probes real ids, not absent ones."""
    for method, template in api_routes(app):
        if method == "GET" and "{" in template.replace("{suffix:path}", ""):
            answer = client.get(_path(template, world.ids), headers=world.program.headers)
            assert answer.status_code == 200, (template, answer.status_code, answer.text[:300])


def test_another_programs_key_gets_404_on_every_route_and_changes_nothing(
    client: TestClient, app: PartnerloopApp, world: Victim, other_program: ProgramKeys, engine: Engine
) -> None:
    before = _victim_rows(snapshot(engine), world.program.id)
    victim_ids = {value for key, value in world.ids.items() if key.endswith("_id")}
    walked, wrong = 0, []
    for method, template in api_routes(app):
        path = _path(template, world.ids)
        fields = _fields(app, method, template)
        body = None if fields is None else {key: value for key, value in _body(world).items() if key in fields}
        answer = client.request(method, path, json=body, headers=other_program.headers)
        walked += 1
        named = "{" in template.replace("{suffix:path}", "")
        if answer.status_code >= 500 or (named and answer.status_code != 404):
            wrong.append((method, template, answer.status_code, answer.text[:300]))
        if any(secret in answer.text for secret in SECRETS):
            wrong.append((method, template, "carries the victim's words", answer.text[:300]))
        if not named and answer.is_success:  # the intruder's own data: none of it may point at the victim's
            leaked = [value for value in victim_ids if value in answer.text]
            if leaked:
                wrong.append((method, template, f"names the victim's {leaked}", answer.text[:300]))
    assert wrong == [], "\n".join(map(str, wrong))
    assert walked >= 100
    settle(engine)
    assert _victim_rows(snapshot(engine), world.program.id) == before
    with transaction(engine, writes=False) as session:  # nothing the intruder made belongs to the victim's partner
        theirs = session.execute(select(Commission.partner_id).where(Commission.program_id == other_program.id))
        assert world.partner_id not in set(theirs.scalars())
