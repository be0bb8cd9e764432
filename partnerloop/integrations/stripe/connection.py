"""The manager's Stripe page: the connection's settings (secrets write-only, through the program's settings)
and a connection test that goes through the webhook's own verification and storage."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy.orm import Session

from partnerloop.integrations.stripe import repository, rules, service
from partnerloop.kit.errors import Conflict, InvalidInput
from partnerloop.kit.ids import new_id
from partnerloop.kit.time import utc_now
from partnerloop.models import Program, StripeEvent
from partnerloop.program import service as program_service
from partnerloop.program.schemas import ProgramPatch


class StripeSettingsInvalid(InvalidInput):
    pass


class ConnectionTestNeedsSecret(Conflict):
    pass


@dataclass(frozen=True)
class StripeConnection:
    """What the Stripe page shows: whether each secret is set (never the secret), test mode, recent events."""

    webhook_secret_set: bool
    secret_key_set: bool
    test_mode: bool
    recent_events: list[StripeEvent]


def connection(session: Session, program: Program, *, events: int = 5) -> StripeConnection:
    """The program's Stripe settings as the API shows them (secrets as set / not set) and its latest events."""
    shown = program_service.program_out(program)
    rows: list[StripeEvent] = []
    if events > 0:
        rows, _cursor = repository.list_events(session, program.id, status=None, type_=None, cursor=None, limit=events)
    return StripeConnection(shown.stripe_webhook_secret_set, shown.stripe_secret_key_set, shown.stripe_test_mode, rows)


def save_connection(
    session: Session, program: Program, *, webhook_secret: str | None, secret_key: str | None, test_mode: bool
) -> Program:
    """Set what is given (None keeps the stored secret) through the program's settings; every value is
    checked first, so a refused form changes nothing. Raises StripeSettingsInvalid (422)."""
    problem = (webhook_secret is not None and rules.webhook_secret_problem(webhook_secret)) or (
        secret_key is not None and rules.secret_key_problem(secret_key)
    )
    if problem:
        raise StripeSettingsInvalid(problem)
    changes: dict[str, Any] = {"stripe_test_mode": test_mode}
    if webhook_secret is not None:
        changes["stripe_webhook_secret"] = webhook_secret
    if secret_key is not None:
        changes["stripe_secret_key"] = secret_key
    return program_service.update_program(session, program, ProgramPatch.model_validate(changes))


def disconnect(session: Session, program: Program) -> Program:
    """Forget both secrets: webhooks are refused and nothing is created in Stripe until they are set again."""
    patch = ProgramPatch.model_validate({"stripe_webhook_secret": None, "stripe_secret_key": None})
    return program_service.update_program(session, program, patch)


def send_connection_test(session: Session, program: Program) -> StripeEvent:
    """Sign a test event with the saved secret as Stripe does (the stripe library), run it through the
    webhook's own verification and store it as received, ignored. Proves the secret is saved and verifies;
    only an event sent by Stripe proves that Stripe reaches this server with the same secret."""
    try:
        secret = service.signing_secret(program)
    except service.StripeNotConfigured:
        raise ConnectionTestNeedsSecret("Save the signing secret first: the test event is signed with it.")
    now = utc_now()
    event = {
        "id": f"evt_partnerloop_test_{new_id()}",
        "object": "event",
        "type": rules.CONNECTION_TEST_TYPE,
        "livemode": False,
        "created": int(now.timestamp()),
        "data": {"object": {"object": "partnerloop.connection_test", "program": program.id}},
    }
    payload = json.dumps(event).encode()
    signature = stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, int(now.timestamp()))
    envelope, data = service.verify(program, payload, signature)
    row_id = service.store(session, program, envelope, data)
    assert row_id is not None  # a fresh event id every time
    return service.get_event(session, program, row_id)
