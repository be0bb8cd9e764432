"""/manage/integrations/stripe: the signing secret, secret key and test mode set without curl (secrets never
shown again), the webhook URL to paste into Stripe, the latest events received (a real signed Stripe event
and the page's own signed connection test); bad input explained and nothing changed; viewers read only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.db import transaction
from partnerloop.models import Program
from partnerloop.program.stripe_secrets import stripe_secret_key, stripe_webhook_secret
from tests.account.helpers import login
from tests.conftest import ProgramKeys
from tests.integrations.stripe_kit import SECRET, new_event, post_event, stripe_object
from tests.manage.factories import PASSWORD, as_member, as_owner, form_post

SECRET_KEY = "sk_test_51PartnerloopPageKey0123456789"


def _stripe_columns(engine: Engine, program: ProgramKeys) -> tuple[object, ...]:
    """What is stored (read by the test only, to show a refused form changed nothing)."""
    with transaction(engine, writes=False) as session:
        row = session.get(Program, program.id)
        assert row is not None
        return (stripe_webhook_secret(row), stripe_secret_key(row), row.stripe_test_mode)


def test_connect_stripe_receive_an_event_and_run_the_connection_test(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    as_owner(client)
    page = f"/manage/integrations/stripe?program={program.id}"
    shown = client.get(page)
    assert shown.status_code == 200
    assert f"http://testserver/integrations/stripe/webhook/{program.id}" in shown.text
    assert "No event received yet." in shown.text and "webhooks are refused" in shown.text
    assert "/manage/integrations/stripe?program=" in client.get(f"/manage/integrations?program={program.id}").text

    saved = form_post(client, page, page, {"webhook_secret": SECRET, "secret_key": SECRET_KEY, "test_mode": "on"})
    assert saved.status_code == 303
    shown = client.get(page).text
    assert SECRET not in shown and SECRET_KEY not in shown and shown.count("badge approved") == 2
    api = client.get("/api/v1/program", headers=program.headers).json()
    assert api["stripe_webhook_secret_set"] and api["stripe_secret_key_set"] and api["stripe_test_mode"]

    # Saving again with the secrets left empty keeps them; unticking test mode turns it off.
    assert form_post(client, page, page, {"webhook_secret": "", "secret_key": ""}).status_code == 303
    assert _stripe_columns(engine, program) == (SECRET, SECRET_KEY, False)
    assert "live events only" in client.get(page).text

    # A real Stripe event, signed as Stripe signs it, shows as the last one received.
    event = new_event("customer.created", stripe_object("customer", id="cus_page_1", metadata={}), livemode=True)
    assert post_event(client, program, event).status_code == 200
    last = client.get(page).text
    assert "Last event: <code>customer.created</code>" in last

    test = form_post(client, page, f"/manage/integrations/stripe/test?program={program.id}", {})
    assert test.status_code == 303
    last = client.get(page).text
    assert "Last event: <code>partnerloop.connection_test</code>" in last and "(a test from this page)" in last
    assert "its signature verified with the saved secret" in last
    events = client.get("/api/v1/integrations/stripe/events", headers=program.headers).json()["data"]
    assert [row["type"] for row in events] == ["partnerloop.connection_test", "customer.created"]
    assert events[0]["status"] == "ignored"  # a test never becomes a sale

    gone = form_post(client, page, f"/manage/integrations/stripe/delete?program={program.id}", {})
    assert gone.status_code == 303
    assert _stripe_columns(engine, program)[:2] == (None, None)
    assert post_event(client, program, event).status_code == 400  # refused without a secret


def test_bad_input_is_explained_and_changes_nothing(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    as_owner(client)
    page = f"/manage/integrations/stripe?program={program.id}"
    assert form_post(client, page, page, {"webhook_secret": SECRET, "test_mode": "on"}).status_code == 303
    before = _stripe_columns(engine, program)
    for values, message in (
        ({"webhook_secret": "not-a-secret", "test_mode": ""}, "starts with whsec_"),
        ({"secret_key": "pk_test_51Publishable0123456789"}, "publishable key"),
        ({"secret_key": "hello"}, "sk_test_"),
        ({"webhook_secret": "whsec_" + "x" * 300}, "stripe_webhook_secret"),
    ):
        refused = form_post(client, page, page, values)
        assert refused.status_code == 422 and message in refused.text, refused.text
        assert 'role="alert"' in refused.text
        assert _stripe_columns(engine, program) == before


def test_test_event_without_a_secret_is_explained(client: TestClient, program: ProgramKeys) -> None:
    as_owner(client)
    page = f"/manage/integrations/stripe?program={program.id}"
    refused = form_post(client, page, f"/manage/integrations/stripe/test?program={program.id}", {})
    assert refused.status_code == 409 and "Save the signing secret first" in refused.text
    assert client.get("/api/v1/integrations/stripe/events", headers=program.headers).json()["data"] == []


def test_viewer_reads_but_cannot_change_and_another_workspace_gets_404(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys, engine: Engine
) -> None:
    as_owner(client)
    page = f"/manage/integrations/stripe?program={program.id}"
    assert form_post(client, page, page, {"webhook_secret": SECRET, "test_mode": "on"}).status_code == 303
    before = _stripe_columns(engine, program)

    as_member(client, engine, program, "viewer")
    shown = client.get(page)
    assert shown.status_code == 200 and "Save Stripe settings" not in shown.text and "you can read it" in shown.text
    for action, values in ((page, {"webhook_secret": "whsec_attacker_0123456789"}),
                           (f"/manage/integrations/stripe/test?program={program.id}", {}),
                           (f"/manage/integrations/stripe/delete?program={program.id}", {})):  # fmt: skip
        assert form_post(client, page, action, values).status_code == 403
    as_member(client, engine, program, "manager")  # managers act on partners, not on the program's secrets
    assert form_post(client, page, page, {"webhook_secret": "whsec_attacker_0123456789"}).status_code == 403

    outsider = TestClient(client.app, base_url="http://testserver")
    assert login(outsider, "owner-other@example.com", PASSWORD).status_code == 303
    assert outsider.get(page).status_code == 404
    own = f"/manage/integrations/stripe?program={other_program.id}"
    attack = form_post(outsider, own, page, {"webhook_secret": "whsec_attacker_0123456789"})
    assert attack.status_code == 404
    assert _stripe_columns(engine, program) == before
    events = client.get("/api/v1/integrations/stripe/events", headers=program.headers).json()["data"]
    assert events == []
